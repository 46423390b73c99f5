import ExchangeCore
import ExchangeRules
import ExchangeRuntime
import ExchangeTesting
import Foundation
import Testing

/// The lines of a kept original that support's pages show: only those, within a budget.
@Suite("Original lines for the review pages")
struct OriginalLinesTests {
    /// A rejected receipt whose quarantined original is `text`, and the desk over it.
    func desk(_ root: URL, original text: String) throws -> (SupportDesk, Receipt) {
        let tree = DropTree(dropRoot: root.appendingPathComponent("drop").path, stateDirectory: root.appendingPathComponent("state").path)
        let time = Timestamp(secondsSinceEpoch: 1_768_000_000)
        var receipt = Receipt(id: "R061010-1", senderOrgId: "061010", originalName: "big.csv", sizeBytes: 1, sha256: "ab", claimedAt: time)
        receipt.state = .finished
        receipt.outcome = .rejected
        let path = tree.filedPath(receiptId: receipt.id, orgId: "061010", name: "big.csv", quarantined: true, claimedAt: time)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let desk = SupportDesk(tree: tree, ledger: InMemoryLedger(), reference: { ReferenceData(participants: []) }, now: { time })
        return (desk, receipt)
    }

    @Test("only the wanted lines are kept, reading stops after the last, a last line without its break counts, past the end is known")
    func wantedOnly() throws {
        try withTemporaryDirectory { root in
            let text = (1...10_000).map { "line \($0)" }.joined(separator: "\r\n")  // no final line break
            let (desk, receipt) = try desk(root, original: text)
            let some = try #require(desk.originalLines(of: receipt, wanted: [1, 5_000, 5_001]))
            #expect(some.lines == [1: "line 1", 5_000: "line 5000", 5_001: "line 5001"])
            #expect(some.linesRead == 5_001)
            let end = try #require(desk.originalLines(of: receipt, wanted: [10_000, 10_002]))
            #expect(end.lines == [10_000: "line 10000"])
            #expect(end.linesRead == 10_000)
        }
    }

    @Test("long lines are cut, and lines past the byte budget are left out")
    func budget() throws {
        try withTemporaryDirectory { root in
            let long = String(repeating: "x", count: 5_000)
            let (desk, receipt) = try desk(root, original: "\(long)\n\(long)\n\(long)\n")
            let cut = try #require(desk.originalLines(of: receipt, wanted: [1, 2, 3], maxLineBytes: 100, maxBytes: 250))
            #expect(cut.lines.keys.sorted() == [1, 2])
            #expect(cut.lines[1]?.count == 100)
            #expect(cut.linesRead == 3)
        }
    }
}
