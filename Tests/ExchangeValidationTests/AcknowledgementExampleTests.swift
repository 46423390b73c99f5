import ExchangeCore
import ExchangeTesting
import ExchangeValidation
import Foundation
import Testing

/// The ACK and ERR examples in `Fixtures/valid/` (made by tools/gen_fixtures.py for partners to read) say
/// what the exchange says about the file they answer: each error row as validation reports it, and the
/// acknowledgement's message as `AcknowledgementMessage` words it.
@Suite("The acknowledgement examples say what the exchange says")
struct AcknowledgementExampleTests {
    /// Each row of a CSV file as its header's names to values.
    static func csvRows(_ url: URL) throws -> [[String: String]] {
        let bytes = try Data(contentsOf: url)
        var reader = CSVRecordReader()
        var rows: [[String]] = []
        let collect: (CSVRecord) -> Void = { record in rows.append((0..<record.count).map(record.string)) }
        bytes.withUnsafeBytes { reader.consume($0, onRecord: collect, onProblem: { Issue.record("\($0)") }) }
        reader.finish(onRecord: collect, onProblem: { Issue.record("\($0)") })
        guard let header = rows.first else { return [] }
        return rows.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
    }

    /// Each `element` of an XML file as its children's names (lowerCamel) to values.
    static func xmlRows(_ url: URL, element: String) throws -> [[String: String]] {
        let text = try String(contentsOf: url, encoding: .utf8)
        let block = try Regex("<\(element)>([\\s\\S]*?)</\(element)>")
        let child = try Regex(#"<([A-Za-z]+)>([^<]*)</\1>"#)
        return text.matches(of: block).map { match in
            let inner = String(match.output[1].substring ?? "")
            var row: [String: String] = [:]
            for field in inner.matches(of: child) {
                let name = String(field.output[1].substring ?? "")
                let value = String(field.output[2].substring ?? "").replacingOccurrences(of: "&apos;", with: "'")
                    .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<")
                    .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
                row[name.prefix(1).lowercased() + name.dropFirst()] = value
            }
            return row
        }
    }

    @Test("ERR rows are the validator's issues; the ACK message is the exchange's words", arguments: ["xml", "csv"])
    func examples(binding: String) throws {
        let input = Repository.fixtures.appendingPathComponent("invalid/att-excuse-code-xx.\(binding)")
        let report = try FileValidator().validate(path: input.path, displayName: input.lastPathComponent)
        let errorsFile = Repository.fixtures.appendingPathComponent("valid/att-excuse-code-xx.errors.\(binding)")
        let ackFile = Repository.fixtures.appendingPathComponent("valid/att-excuse-code-xx.ack.\(binding)")
        let errors = binding == "xml" ? try Self.xmlRows(errorsFile, element: "Error") : try Self.csvRows(errorsFile)
        let ack = try #require((binding == "xml" ? try Self.xmlRows(ackFile, element: "Acknowledgement") : try Self.csvRows(ackFile)).first)

        #expect(errors.count == report.issues.count && !errors.isEmpty)
        for (row, issue) in zip(errors, report.issues) {
            #expect(row["line"] == issue.line.map(String.init))
            #expect((row["path"] ?? "") == (issue.path ?? ""))
            #expect((row["recordKey"] ?? "") == (issue.recordKey ?? ""))
            #expect(row["field"] == issue.field)
            #expect(row["code"] == issue.code.rawValue)
            #expect(row["message"] == issue.message)
        }
        let message = AcknowledgementMessage(
            outcome: .rejected, errorCount: report.errorCount, recordsReceived: report.recordCount, recordsRejected: report.recordCount,
            rulesChecked: false)
        #expect(ack["outcome"] == "REJECTED")
        #expect(ack["recordsReceived"] == String(report.recordCount))
        #expect(ack["errorCount"] == String(report.errorCount))
        #expect(ack["message"] == message.text)
    }
}
