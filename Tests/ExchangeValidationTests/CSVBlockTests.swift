import ExchangeCore
import ExchangeSchemas
import ExchangeTesting
@testable import ExchangeValidation
import Foundation
import Testing

private let recordByRecord = Result { try FileValidator(issueLimit: 100_000, csvBlockSize: nil) }

private func csvFixtures() -> [URL] {
    ["valid", "invalid"].flatMap { Repository.fixtureFiles(in: $0, extensions: ["csv"]) }
        + Repository.exampleFiles(extensions: ["csv"])
}

/// A file's text made long enough for many blocks: its data rows repeated, each copy's record ids (the
/// first column) kept or changed by `changeIds`.
private func grown(_ text: String, copies: Int, changeIds: Bool) -> String {
    let lineBreak = text.contains("\r\n") ? "\r\n" : "\n"
    var lines = text.components(separatedBy: lineBreak)
    guard lines.count > 1 else { return text }
    let header = lines.removeFirst()
    let rows = lines.filter { !$0.isEmpty }
    var out = [header]
    for copy in 0..<copies {
        for row in rows {
            if changeIds, copy > 0, row.first != "\"" {
                out.append(String(format: "%08x", copy) + row.dropFirst(8))
            } else {
                out.append(row)
            }
        }
    }
    return out.joined(separator: lineBreak) + lineBreak
}

/// Edits that move record boundaries: a quoted value with line breaks, CR-only line ends, a stray quote,
/// an unterminated quote at the end, blank rows, a missing final line break, invalid UTF-8.
private func edits(_ text: String) -> [(String, [UInt8])] {
    var results: [(String, [UInt8])] = [("as is", Array(text.utf8))]
    let rows = text.components(separatedBy: "\n")
    guard rows.count > 6 else { return results }
    func joined(_ lines: [String]) -> [UInt8] { Array(lines.joined(separator: "\n").utf8) }
    var quoted = rows
    quoted[rows.count / 2] = quoted[rows.count / 2].replacingOccurrences(of: ",", with: ",\"two\nlines\",", options: [], range: nil)
    results.append(("quoted line break", joined(quoted)))
    var longQuote = rows
    longQuote[3] += ",\"" + String(repeating: "x\n", count: 400) + "\""
    results.append(("a quoted value over many lines", joined(longQuote)))
    results.append(("CR line ends", Array(text.replacingOccurrences(of: "\n", with: "\r").utf8)))
    var stray = rows
    stray[rows.count / 3] = "ab\"c," + stray[rows.count / 3]
    results.append(("stray quote", joined(stray)))
    results.append(("unterminated quote at the end", Array((text + "\"never closed,").utf8)))
    var blanks = rows
    blanks.insert("", at: rows.count / 2)
    blanks.insert(",,,,", at: rows.count / 4)
    results.append(("blank rows", joined(blanks)))
    results.append(("no final line break", Array(text.trimmingCharacters(in: .newlines).utf8)))
    var bad = Array(text.utf8)
    bad[bad.count * 2 / 3] = 0xFF
    results.append(("invalid UTF-8", bad))
    return results
}

@Suite("CSV blocks: rows checked on every core give the record-by-record report")
struct CSVBlockTests {
    @Test("every CSV fixture, grown and edited, in blocks of several sizes", arguments: csvFixtures())
    func sameReport(file: URL) throws {
        let data = try Array(Data(contentsOf: file))
        // A file that is not UTF-8 is compared as it is.
        let variants: [[(String, [UInt8])]] = String(validating: data, as: UTF8.self).map { text in
            [true, false].map { edits(grown(text, copies: 10, changeIds: $0)) }
        } ?? [[("as is", data)]]
        for (variant, changeIds) in zip(variants, [true, false]) {
            for (edit, bytes) in variant {
                let expected = try bytes.withUnsafeBytes {
                    try recordByRecord.get().validate(bytes: $0, displayName: "grown.csv", chunkSize: 1000)
                }
                for blockSize in [300, 4096] {
                    let blocks = try FileValidator(issueLimit: 100_000, csvBlockSize: blockSize)
                    for chunkSize in [1000, 7777] {
                        let report = bytes.withUnsafeBytes { blocks.validate(bytes: $0, displayName: "grown.csv", chunkSize: chunkSize) }
                        #expect(
                            report == expected,
                            "\(file.lastPathComponent) \(edit), ids \(changeIds ? "changed" : "repeated"), block \(blockSize), chunk \(chunkSize): \(report.issues.count) issues, expected \(expected.issues.count)")
                    }
                }
            }
        }
    }

    @Test("a block of whole records is read whole, and one cut inside a quoted value says where the cut record starts")
    func blockBoundaries() throws {
        let schemas = SchemaCatalog.tableSchemas
        var validator = CSVDocumentValidator(schemas: schemas)
        let fixture = try #require(Repository.fixtureFiles(in: "valid", extensions: ["csv"]).first { $0.lastPathComponent.contains("_ATT_") })
        let text = try String(contentsOf: fixture, encoding: .utf8)
        let header = text.prefix { $0 != "\n" } + "\n"
        Array(header.utf8).withUnsafeBytes { validator.feed($0) }
        #expect(validator.canCheckBlocks)
        let (unread, checker) = validator.startBlocks()
        #expect(unread.isEmpty)
        let rows = text.components(separatedBy: "\n").dropFirst().filter { !$0.isEmpty }
        let whole = Array((rows.joined(separator: "\n") + "\n").utf8)
        let outcome = whole.withUnsafeBytes { checker.check($0, isLast: false) }
        #expect(outcome.unreadBytes == 0)
        let cut = Array((rows[0] + "\n" + rows[1] + ",\"open\n").utf8)
        let cutOutcome = cut.withUnsafeBytes { checker.check($0, isLast: false) }
        #expect(cutOutcome.unreadBytes == rows[1].utf8.count + 7)
    }
}

@Suite("Where blocks are cut")
struct CSVBlockCutTests {
    @Test(
        "after the last line break outside quotes; after the last one at all when every one is inside; nowhere without one",
        arguments: [
            ("a\nb\n", 3), ("a\n\"x\ny\"\n", 7), ("a\n\"x\ny", 1), ("a,\"\"\"q\"\"\"\nb\"\n", 9), ("\"x\ny", 2),
            ("abc", nil), ("", nil),
        ] as [(String, Int?)])
    func cut(window: String, expected: Int?) {
        let bytes = Array(window.utf8)
        #expect(bytes.withUnsafeBytes { CSVBlockPipeline.cut(in: $0) } == expected)
    }
}

@Suite("CSV records handed over")
struct CSVRecordsHandedOverTests {
    @Test("every data row reaches onRecord, with or without captured fields, in blocks or record by record", arguments: [nil, 300])
    func everyRowHandedOver(blockSize: Int?) throws {
        let fixture = try #require(Repository.fixtureFiles(in: "valid", extensions: ["csv"]).first { $0.lastPathComponent.contains("_ATT_") })
        let bytes = Array(grown(try String(contentsOf: fixture, encoding: .utf8), copies: 20, changeIds: true).utf8)
        let validator = try FileValidator(csvBlockSize: blockSize)
        for capturing in [Set<String>(), ["recordId"]] {
            var offset = 0
            var handed: [Int] = []
            let report = try validator.validate(
                reading: { buffer in
                    let count = min(buffer.count, bytes.count - offset, 500)
                    buffer.copyBytes(from: bytes[offset..<(offset + count)])
                    offset += count
                    return count
                },
                rewind: { offset = 0 }, displayName: "grown.csv", capturing: capturing,
                onRecord: { handed.append($0.line) })
            #expect(handed.count == report.recordCount && report.recordCount > 100, "capturing \(capturing)")
            #expect(handed == handed.sorted(), "in file order")
        }
    }
}
