import ExchangeCore
import ExchangeTesting
import ExchangeValidation
import Foundation
import Testing

/// Every message kind the file gate writes, with an example as produced: each invalid and hostile
/// fixture, and edits for the kinds no fixture has. Each message must let a clerk find the place (a line
/// or an element path), say the cause in words (no pattern, no raw parser or schema text) and repeat no
/// student value of the file (issue 18). The rule codes' messages are `RuleTests`'; the codes only the
/// running service gives (links, sizes, a file changed while read, a sender mismatch) are
/// `ExchangeCycleTests`' and `HostileInputTests`'.
@Suite("Message catalogue: every file-gate code, findable, in words, no student data")
struct MessageCatalogueTests {
    /// Codes given only by the service around validation, not by `FileValidator`.
    static let serviceOnly: Set<String> = [
        "symbolic-link", "hard-link", "not-a-regular-file", "file-too-large", "too-many-records", "file-changed", "sender-mismatch",
    ]
    /// Element and column names of student data, whose values no message may repeat.
    static let studentFields = ["ssid", "localStudentNumber", "lastName", "firstName", "middleName", "birthDate", "letterGrade", "numericGrade"]

    /// The examples: a name, the bytes and the binding they are judged as.
    static func examples() throws -> [(name: String, bytes: [UInt8])] {
        var examples: [(String, [UInt8])] = []
        for folder in ["invalid", "hostile"] {
            let directory = Repository.fixtures.appendingPathComponent(folder)
            for name in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            where (name.hasSuffix(".csv") || name.hasSuffix(".xml")) {
                examples.append(("\(folder)/\(name)", Array(try Data(contentsOf: directory.appendingPathComponent(name)))))
            }
        }
        let csv = try String(contentsOf: Repository.fixtures.appendingPathComponent("valid/KTSX_ENR_061010_20250929T073000_0002.csv"), encoding: .utf8)
            .replacingOccurrences(of: "\r\n", with: "\n")
        let header = String(csv.prefix { $0 != "\n" })
        let body = csv.dropFirst(header.count)
        examples.append(("edited/duplicate-label.csv", Array((header.replacingOccurrences(of: "firstName", with: "lastName") + body).utf8)))
        examples.append(("edited/blank-label.csv", Array((header.replacingOccurrences(of: ",firstName,", with: ",,") + body).utf8)))
        examples.append(("edited/record-too-large.csv", Array((header + "\n\"a" + String(repeating: "b", count: 1_100_000) + ",x\n").utf8)))
        let xml = try String(contentsOf: Repository.fixtures.appendingPathComponent("valid/KTSX_ENR_165020_20250811T153000_0001.xml"), encoding: .utf8)
        examples.append(("edited/attribute.xml", Array(xml.replacingOccurrences(of: "<Action>add</Action>", with: "<Action kind=\"x\">add</Action>").utf8)))
        return examples
    }

    /// The student values of a file (at least three characters), by the field names above.
    static func studentValues(in bytes: [UInt8]) -> Set<String> {
        let text = String(decoding: bytes, as: UTF8.self)
        var values = Set<String>()
        for field in studentFields {
            let element = field.prefix(1).uppercased() + field.dropFirst()
            for match in text.matches(of: try! Regex("<\(element)>([^<]{3,})</\(element)>")) {
                if let value = match.output[1].substring { values.insert(String(value)) }
            }
        }
        let lines = text.split(whereSeparator: \.isNewline).map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        if let header = lines.first {
            let columns = header.enumerated().filter { studentFields.contains($0.element.trimmingCharacters(in: .init(charactersIn: "\u{FEFF} "))) }.map(\.offset)
            for row in lines.dropFirst() {
                for column in columns where column < row.count && row[column].count >= 3 { values.insert(row[column]) }
            }
        }
        return values
    }

    @Test("each code the gate gives has an example; each message is findable, in words, and repeats no student value")
    func catalogue() throws {
        let validator = try FileValidator(issueLimit: 200)
        var seen: [String: String] = [:]
        for example in try Self.examples() {
            let report = example.bytes.withUnsafeBytes { validator.validate(bytes: $0, displayName: example.name) }
            let secrets = Self.studentValues(in: example.bytes)
            for issue in report.issues {
                let code = issue.code.rawValue
                if seen[code] == nil { seen[code] = "\(example.name): \(issue.message)" }
                let message = issue.message
                #expect(issue.line != nil || issue.path != nil, "\(example.name) \(code): no place given")
                for raw in ["(pattern ", "[0-9]", "[A-Z", "xmlParse", "cvc-", "{urn:", "Element '", "facet"] {
                    #expect(!message.contains(raw), "\(example.name) \(code): raw text \(raw) in \(message)")
                }
                for secret in secrets where message.contains(secret) {
                    Issue.record("\(example.name) \(code) repeats a student value: \(message)")
                }
            }
        }
        let gateCodes = Set(
            ["empty-file", "encoding-error", "unknown-type", "not-well-formed", "doctype-forbidden", "nesting-too-deep",
             "record-count-mismatch", "record-too-large", "csv-syntax", "unexpected-element", "missing-element", "schema-error",
             "type-error", "constraint-error", "unique-error", "primary-key", "missing-label", "extra-label", "incorrect-label",
             "duplicate-label", "blank-label", "blank-row", "missing-cell", "extra-cell"])
        #expect(Set(seen.keys) == gateCodes, "no example of \(gateCodes.subtracting(seen.keys).sorted()); unlisted \(Set(seen.keys).subtracting(gateCodes).sorted())")
        #expect(gateCodes.isDisjoint(with: Self.serviceOnly))
    }
}
