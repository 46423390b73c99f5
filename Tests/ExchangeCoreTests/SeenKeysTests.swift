import Testing

@testable import ExchangeCore

/// A spill that counts the spills made and can refuse every write.
private final class CountingSpills: @unchecked Sendable {
    var made = 0
    let refuseWrites: Bool
    init(refuseWrites: Bool = false) { self.refuseWrites = refuseWrites }

    func make() -> any KeySpill {
        made += 1
        return refuseWrites ? RefusingSpill() : MemoryKeySpill()
    }
}

/// A disk that is full.
private final class RefusingSpill: KeySpill {
    var size: Int { 0 }
    func append(_ bytes: UnsafeRawBufferPointer) throws(KeySpillError) { throw KeySpillError(reason: "No space left on device") }
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(KeySpillError) -> Int { 0 }
}

/// A repeatable stream of keys: `distinct` values, some short, some longer than a word, some empty.
private func keyStream(count: Int, distinct: Int, seed: UInt64) -> [[UInt8]] {
    var state = seed
    func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state >> 33
    }
    return (0..<count).map { _ in
        let value = Int(next() % UInt64(distinct))
        switch value % 5 {
        case 0: return []
        case 1: return Array("k\(value)".utf8)
        default: return Array("\(value)-aaaaaaaa-bbbb-4ccc-8ddd-\(String(repeating: "e", count: value % 40))".utf8)
        }
    }
}

/// Every repeat (row, the earlier row it repeats), as the set reports them: at once, or at the end.
private func repeats(of keys: [[UInt8]], spilling: KeySpilling?) throws -> [SeenKeys.LateRepeat] {
    var seen = SeenKeys(spilling: spilling)
    var found: [SeenKeys.LateRepeat] = []
    for (index, key) in keys.enumerated() {
        let row = index + 2
        // The order an issue would take: one issue per earlier repeat found at once.
        if let previous = key.withUnsafeBytes({ seen.insert($0, row: row, line: row, order: found.count) }) {
            found.append(SeenKeys.LateRepeat(row: row, line: row, order: found.count, previousLine: previous))
        }
    }
    let late = try seen.lateRepeats()
    #expect(late.total == late.first.count)
    return (found + late.first).sorted { $0.row < $1.row }
}

@Suite("Seen keys past their memory budget")
struct SeenKeysTests {
    @Test("keys spilled in partitions find exactly the repeats the in-memory set finds", arguments: [1, 2, 3])
    func spilledAgreesWithMemory(seed: UInt64) throws {
        let keys = keyStream(count: 40_000, distinct: 15_000, seed: seed)
        let spills = CountingSpills()
        let spilled = try repeats(of: keys, spilling: KeySpilling(memoryBudget: 0) { spills.make() })
        let inMemory = try repeats(of: keys, spilling: nil)
        #expect(spills.made == 1)
        #expect(spilled.map(\.row) == inMemory.map(\.row))
        #expect(spilled.map(\.previousLine) == inMemory.map(\.previousLine))
        #expect(inMemory.count > 20_000)
    }

    @Test("a late repeat keeps the line and order it was given, and names the most recent earlier copy's line")
    func lateRepeatCarriesItsPlace() throws {
        let spills = CountingSpills()
        var seen = SeenKeys(spilling: KeySpilling(memoryBudget: 0) { spills.make() })
        // Enough distinct keys to pass the 64 KiB budget, then one key three times.
        for row in 0..<5_000 { _ = Array("distinct-\(row)".utf8).withUnsafeBytes { seen.insert($0, row: row, line: row) } }
        #expect(seen.isSpilling)
        let key = Array("distinct-17".utf8)
        #expect(key.withUnsafeBytes { seen.insert($0, row: 6_000, line: 6_100, order: 7) } == nil)
        #expect(key.withUnsafeBytes { seen.insert($0, row: 6_001, line: 6_101, order: 8) } == nil)
        #expect(
            try seen.lateRepeats().first == [
                SeenKeys.LateRepeat(row: 6_000, line: 6_100, order: 7, previousLine: 17),
                SeenKeys.LateRepeat(row: 6_001, line: 6_101, order: 8, previousLine: 6_100),
            ])
    }

    @Test("partitions too large for the budget are split again, and the repeats are the same")
    func partitionsSplitAgain() throws {
        // 64 KiB of budget holds about a thousand of these keys; each of the 64 partitions gets several
        // thousand, so every one is split by the next bits of the hashes.
        let keys = keyStream(count: 260_000, distinct: 200_000, seed: 5)
        let spills = CountingSpills()
        var seen = SeenKeys(spilling: KeySpilling(memoryBudget: 0) { spills.make() })
        var spilled: [SeenKeys.LateRepeat] = []
        for (index, key) in keys.enumerated() {
            if let previous = key.withUnsafeBytes({ seen.insert($0, row: index + 2, line: index + 2) }) {
                spilled.append(SeenKeys.LateRepeat(row: index + 2, line: index + 2, order: 0, previousLine: previous))
            }
        }
        spilled = (spilled + (try seen.lateRepeats()).first).sorted { $0.row < $1.row }
        // The split path ran: every one of the 64 partitions was too large for the budget.
        #expect(seen.partitionsSplit >= SpillPartitions.fanOut)
        let inMemory = try repeats(of: keys, spilling: nil)
        #expect(spilled.map(\.row) == inMemory.map(\.row))
        #expect(spilled.map(\.previousLine) == inMemory.map(\.previousLine))
    }

    @Test("late repeats past the number kept are counted, the first kept in issue order")
    func lateRepeatsKeptAreTheFirst() throws {
        let keys = keyStream(count: 30_000, distinct: 3_000, seed: 8)
        let spills = CountingSpills()
        var seen = SeenKeys(spilling: KeySpilling(memoryBudget: 0) { spills.make() })
        var atOnce = 0
        for (index, key) in keys.enumerated() {
            // Orders that do not follow the rows, so keeping the first is not keeping the earliest rows.
            if key.withUnsafeBytes({ seen.insert($0, row: index + 2, line: index + 2, order: (index * 7_919) % 30_000) }) != nil {
                atOnce += 1
            }
        }
        let all = try repeats(of: keys, spilling: nil)
        let late = try seen.lateRepeats(keeping: 25)
        #expect(late.first.count == 25)
        #expect(late.total + atOnce == all.count)
        let orders = late.first.map(\.order)
        #expect(orders == orders.sorted())
        // No repeat left out comes before the last one kept.
        var again = SeenKeys(spilling: KeySpilling(memoryBudget: 0) { spills.make() })
        for (index, key) in keys.enumerated() {
            _ = key.withUnsafeBytes { again.insert($0, row: index + 2, line: index + 2, order: (index * 7_919) % 30_000) }
        }
        let every = try again.lateRepeats()
        #expect(Array(every.first.sorted { ($0.order, $0.row) < ($1.order, $1.row) }.prefix(25)) == late.first)
    }

    @Test("a spill that cannot be written costs memory, not the check")
    func fullDiskFallsBackToMemory() throws {
        let keys = keyStream(count: 20_000, distinct: 6_000, seed: 9)
        let spills = CountingSpills(refuseWrites: true)
        let spilled = try repeats(of: keys, spilling: KeySpilling(memoryBudget: 0) { spills.make() })
        #expect(spills.made == 1)
        let inMemory = try repeats(of: keys, spilling: nil)
        #expect(spilled.map(\.row) == inMemory.map(\.row))
        #expect(spilled.map(\.previousLine) == inMemory.map(\.previousLine))
    }

    @Test("when no spill can be made, the keys stay in memory and the maker is asked once")
    func noSpillToBeHad() throws {
        let keys = keyStream(count: 20_000, distinct: 6_000, seed: 11)
        let asked = CountingSpills()
        let found = try repeats(of: keys, spilling: KeySpilling(memoryBudget: 0) { () -> (any KeySpill)? in
            asked.made += 1
            return nil
        })
        #expect(asked.made == 1)
        #expect(found.map(\.previousLine) == (try repeats(of: keys, spilling: nil)).map(\.previousLine))
    }

    @Test("a file that fits in memory never makes a spill")
    func smallFileMakesNoSpill() throws {
        let spills = CountingSpills()
        let keys = keyStream(count: 500, distinct: 100, seed: 4)
        let found = try repeats(of: keys, spilling: KeySpilling { spills.make() })
        #expect(spills.made == 0)
        #expect(found.count == keys.count - Set(keys).count)
    }

    @Test("late issues take the places their order gives, and the collector's limit still holds")
    func lateIssuesMergeInOrder() {
        func issue(_ name: String) -> ValidationIssue { ValidationIssue(code: .typeError, message: name) }
        var collector = IssueCollector(limit: 5)
        for name in ["a", "b", "c"] { collector.add(issue(name)) }
        collector.insertLate([(0, issue("before a")), (2, issue("after b")), (2, issue("after b, second")), (3, issue("last"))])
        #expect(collector.issues.map(\.message) == ["before a", "a", "b", "after b", "after b, second"])
        #expect(collector.total == 7)
        #expect(collector.truncated)
    }
}
