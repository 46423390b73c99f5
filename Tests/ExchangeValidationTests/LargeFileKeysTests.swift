import ExchangeCore
import ExchangeTesting
import ExchangeValidation
import Foundation
import Testing

/// A record id for record `index`, in the schema's form.
private func recordId(_ index: Int) -> String {
    String(format: "%08x-0000-4000-8000-%012x", index, index * 7)
}

/// The id of record `index`: every 97th record takes the id of a record about a third of the way back,
/// and every 1,001st the id of record 5 (so one key repeats many times).
private func id(of index: Int) -> String {
    if index > 0, index % 1_001 == 0 { return recordId(5) }
    if index > 0, index % 97 == 0 { return recordId(index / 3) }
    return recordId(index)
}

/// Every 250th record also breaks a rule of its own (an unknown action), so the repeats' issues must take
/// their places among other issues.
private func broken(_ index: Int) -> Bool { index % 250 == 3 }

/// `records` records written by `write(record, index, id)` in turn through `copies` rounds, each with the
/// id `id(of:)` gives it; returns how many of those ids repeat an earlier one.
private func grow<Record>(_ records: [Record], copies: Int, write: (Record, Int, String) -> Void) -> Int {
    var used: Set<String> = []
    var index = 0
    for _ in 0..<copies {
        for record in records {
            write(record, index, id(of: index))
            index += 1
        }
    }
    return (0..<index).filter { !used.insert(id(of: $0)).inserted }.count
}

/// The valid attendance fixture's records, `copies` times over, with fresh ids except for the planted
/// repeats; returns the file and the number of repeats planted.
private func grownXML(copies: Int) throws -> (text: String, repeats: Int) {
    let fixture = try String(
        contentsOf: Repository.fixtures.appendingPathComponent("valid/KTSX_ATT_165901_20260211T020000_0001.xml"), encoding: .utf8)
    let head = fixture.components(separatedBy: "  <Attendance>")[0]
    let records = fixture.components(separatedBy: "  <Attendance>").dropFirst().map { "  <Attendance>" + $0 }
    let lastRecord = records.last!.components(separatedBy: "</Attendance>")[0] + "</Attendance>\n"
    let bodies = records.dropLast().map { $0 } + [lastRecord]
    var out = ""
    let repeats = grow(bodies, copies: copies) { body, index, id in
        var record = body.replacingOccurrences(
            of: #"<RecordId>[^<]*</RecordId>"#, with: "<RecordId>\(id)</RecordId>", options: .regularExpression)
        if broken(index) { record = record.replacingOccurrences(of: "<Action>add</Action>", with: "<Action>append</Action>") }
        out += record
    }
    let header = head.replacingOccurrences(
        of: #"<RecordCount>[0-9]+</RecordCount>"#, with: "<RecordCount>\(bodies.count * copies)</RecordCount>", options: .regularExpression)
    return (header + out + "</KtsxAttendanceFile>\n", repeats)
}

/// The same for the valid attendance CSV fixture.
private func grownCSV(copies: Int) throws -> (text: String, repeats: Int) {
    let fixture = try String(
        contentsOf: Repository.fixtures.appendingPathComponent("valid/KTSX_ATT_061014_20251002T020000_0001.csv"), encoding: .utf8)
    var lines = fixture.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    let header = lines.removeFirst()
    // Rows whose quoted values may hold commas or line ends are left out, so a row is a line.
    lines = lines.filter { !$0.contains("\"") }
    var out = header + "\n"
    let repeats = grow(lines, copies: copies) { line, index, id in
        var cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        cells[0] = id
        if broken(index) { cells[1] = "append" }
        out += cells.joined(separator: ",") + "\n"
    }
    return (out, repeats)
}

private func validate(_ text: String, name: String, issueLimit: Int, keyMemoryBudget: Int) throws -> ValidationReport {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ktsx-keys-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent(name)
    try Data(text.utf8).write(to: file)
    let validator = try FileValidator(issueLimit: issueLimit, keySpillDirectory: directory.path, keyMemoryBudget: keyMemoryBudget)
    let report = try validator.validate(path: file.path, displayName: name)
    // The spill has no name: nothing is left beside the file.
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == [name])
    return report
}

@Suite("Record keys of large files spill to disk and settle at the end")
struct LargeFileKeysTests {
    @Test("XML: a file whose record ids outgrow memory gets the report it gets in memory", arguments: [100_000, 40])
    func xml(issueLimit: Int) throws {
        let (text, planted) = try grownXML(copies: 10)
        let spilled = try validate(text, name: "big.xml", issueLimit: issueLimit, keyMemoryBudget: 0)
        let inMemory = try validate(text, name: "big.xml", issueLimit: issueLimit, keyMemoryBudget: .max)
        #expect(spilled == inMemory)
        #expect(spilled.recordCount == 252 * 10)
        if issueLimit > spilled.errorCount {
            #expect(spilled.issues.filter { $0.code == .uniqueError }.count == planted)
        }
    }

    @Test("CSV: a file whose keys outgrow memory gets the report it gets in memory", arguments: [100_000, 40])
    func csv(issueLimit: Int) throws {
        let (text, planted) = try grownCSV(copies: 60)
        let spilled = try validate(text, name: "big.csv", issueLimit: issueLimit, keyMemoryBudget: 0)
        let inMemory = try validate(text, name: "big.csv", issueLimit: issueLimit, keyMemoryBudget: .max)
        #expect(spilled == inMemory)
        if issueLimit > spilled.errorCount {
            #expect(spilled.issues.filter { $0.code == .primaryKey }.count == planted)
        }
    }
}
