/// Remembers byte-string keys and the row (or record) each was last seen on, for `unique` and primary-key
/// checks, in bounded memory.
///
/// Keys are kept in memory while they fit in `memoryBudget`: end to end in one arena, with an
/// open-addressing table of hashes, offsets and rows, and a repeat is answered at once (exactly: a hash
/// match is confirmed against the stored bytes). A file with more keys than that (millions of records)
/// moves them to a `KeySpill` in sorted runs and settles the rest by merging the runs when the file ends
/// (`lateRepeats()`): an external sort, exact, in memory that does not grow with the file. A file that
/// fits never makes a spill.
public struct SeenKeys {
    /// The memory the keys of one check may take before they move to a spill.
    public static let defaultMemoryBudget = 8 << 20

    /// A key that repeats an earlier one, found when the runs were merged.
    public struct LateRepeat: Sendable, Equatable {
        /// The row (or record) that repeats the key.
        public var row: Int
        /// The line given with the row.
        public var line: Int
        /// Where the repeat's issue belongs among the file's issues (the collector's count when the row
        /// was checked).
        public var order: Int
        /// The most recent earlier row with the same key.
        public var previousRow: Int

        /// Creates one.
        public init(row: Int, line: Int, order: Int, previousRow: Int) {
            self.row = row
            self.line = line
            self.order = order
            self.previousRow = previousRow
        }
    }

    private struct Slot {
        var hash: UInt64 = 0  // 0 marks an empty slot
        var offset = 0
        var length: Int32 = 0
        var row: Int32 = 0
    }

    private var arena: [UInt8] = []
    private var slots = [Slot](repeating: Slot(), count: 1024)
    private var count = 0

    private let memoryBudget: Int
    private let makeSpill: (@Sendable () -> (any KeySpill)?)?
    /// Where runs are written once spilling began; replaced by memory if writing fails.
    private var spill: (any KeySpill)?
    /// The sorted runs written so far, each in the spill it was written to.
    private var runs: [SpilledRun] = []
    /// Keys seen since the last run: entries end to end (`RunEntry` layout), and where each starts.
    private var pending: [UInt8] = []
    private var pendingStarts: [Int] = []
    /// Whether no spill could be made: the keys stay in memory.
    private var spillRefused = false

    /// An empty set that moves its keys out of memory as `spilling` says; without it, every key stays in
    /// memory.
    public init(spilling: KeySpilling? = nil) {
        memoryBudget = spilling?.memoryBudget ?? .max
        makeSpill = spilling?.makeSpill
    }

    /// Whether keys have moved to a spill: repeats of keys seen since are found by `lateRepeats()`.
    public var isSpilling: Bool { spill != nil }

    /// Records `key` as seen on `row`; returns the row it was seen on before, if that is known now
    /// (frictionless reports the most recent earlier row). Once spilling, nothing is known until the end:
    /// `line` and `order` are kept for `lateRepeats()`.
    public mutating func insert(_ key: UnsafeRawBufferPointer, row: Int, line: Int = 0, order: Int = 0) -> Int? {
        if spill != nil {
            appendPending(hash: SeenKeys.hash(key), key: key, row: row, line: line, order: order)
            return nil
        }
        if (count + 1) * 4 > slots.count * 3 { grow() }
        let hash = SeenKeys.hash(key)
        var index = Int(truncatingIfNeeded: hash) & (slots.count - 1)
        while slots[index].hash != 0 {
            if slots[index].hash == hash, matches(slots[index], key) {
                let previous = Int(slots[index].row)
                slots[index].row = Int32(truncatingIfNeeded: row)
                return previous
            }
            index = (index + 1) & (slots.count - 1)
        }
        slots[index] = Slot(hash: hash, offset: arena.count, length: Int32(key.count), row: Int32(truncatingIfNeeded: row))
        arena.append(contentsOf: key)
        count += 1
        if makeSpill != nil, arena.capacity + slots.count * MemoryLayout<Slot>.stride > memoryBudget { startSpilling() }
        return nil
    }

    /// The repeats among keys seen since spilling began (against every key of the file), in the order
    /// their issues belong; empty when nothing was spilled. Call once, when the file ends.
    /// - Throws: `KeySpillError` when a run cannot be read back.
    public mutating func lateRepeats() throws(KeySpillError) -> [LateRepeat] {
        guard spill != nil else { return [] }
        flushPending()
        var cursors: [RunCursor] = []
        for run in runs { cursors.append(try RunCursor(run)) }
        var heap = RunHeap(cursors)
        var repeats: [LateRepeat] = []
        // The last entry taken: its key, hash and row.
        var lastKey: [UInt8] = []
        var lastHash: UInt64 = 0
        var lastRow: Int?
        while let top = heap.top {
            let entry = top.entry
            if let row = lastRow, entry.hash == lastHash, lastKey.withUnsafeBytes({ memoryEqual($0, entry.key) }) {
                repeats.append(LateRepeat(row: entry.row, line: entry.line, order: entry.order, previousRow: row))
            } else {
                lastHash = entry.hash
                lastKey.removeAll(keepingCapacity: true)
                lastKey.append(contentsOf: entry.key)
            }
            lastRow = entry.row
            try top.advance()
            heap.settleTop()
        }
        runs = []
        // Issues belong in the order their rows were checked; rows break ties.
        repeats.sort { ($0.order, $0.row) < ($1.order, $1.row) }
        return repeats
    }

    /// The issue for a file whose key check could not be finished (a spill could not be read back): the
    /// file is refused rather than passed unchecked.
    public static func unsettledIssue(_ error: KeySpillError, field: String?) -> ValidationIssue {
        ValidationIssue(
            code: .uniqueError,
            message: "Whether every record has its own \(field ?? "key") could not be checked to the end (temporary "
                + "storage failed: \(error.reason)). Nothing in the file was applied; send it again, and tell KTS "
                + "support if this repeats.", field: field)
    }

    // MARK: In memory

    private func matches(_ slot: Slot, _ key: UnsafeRawBufferPointer) -> Bool {
        guard Int(slot.length) == key.count else { return false }
        return arena.withUnsafeBytes { key.isEmpty || memoryEqual(SeenKeys.key(of: slot, in: $0), key) }
    }

    /// A slot's key in the arena's bytes.
    private static func key(of slot: Slot, in arena: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: arena[slot.offset..<(slot.offset + Int(slot.length))])
    }

    private mutating func grow() {
        let old = slots
        slots = [Slot](repeating: Slot(), count: old.count * 2)
        for slot in old where slot.hash != 0 {
            var index = Int(truncatingIfNeeded: slot.hash) & (slots.count - 1)
            while slots[index].hash != 0 { index = (index + 1) & (slots.count - 1) }
            slots[index] = slot
        }
    }

    // MARK: Spilling

    /// Moves the keys held in memory into a run and frees the table. Their rows are the latest of each
    /// key, and every earlier repeat of them was answered already.
    private mutating func startSpilling() {
        guard !spillRefused else { return }
        guard let made = makeSpill?() else {
            // No spill to be had: keep counting in memory, as a set without a budget does.
            spillRefused = true
            return
        }
        spill = made
        // The table is written as the first run straight from the slots, sorted, so its keys are never
        // in memory twice.
        var occupied = slots.indices.filter { slots[$0].hash != 0 }
        let (table, keys) = (slots, arena)
        keys.withUnsafeBytes { stored in
            occupied.sort { a, b in
                let (one, other) = (table[a], table[b])
                return RunEntry.precedes(
                    (one.hash, SeenKeys.key(of: one, in: stored), Int(one.row)), (other.hash, SeenKeys.key(of: other, in: stored), Int(other.row)))
            }
        }
        slots = []
        arena = []
        count = 0
        writeRun(count: occupied.count) { index, chunk in
            let slot = table[occupied[index]]
            keys.withUnsafeBytes { stored in
                RunEntry.append(hash: slot.hash, row: Int(slot.row), line: 0, order: 0, key: SeenKeys.key(of: slot, in: stored), to: &chunk)
            }
        }
    }

    private mutating func appendPending(hash: UInt64, key: UnsafeRawBufferPointer, row: Int, line: Int, order: Int) {
        if pending.count + RunEntry.headerSize + key.count > memoryBudget, !pendingStarts.isEmpty { flushPending() }
        if pending.isEmpty { pending.reserveCapacity(memoryBudget) }
        pendingStarts.append(pending.count)
        RunEntry.append(hash: hash, row: row, line: line, order: order, key: key, to: &pending)
    }

    /// Sorts the pending entries by key then row and writes them as one run.
    private mutating func flushPending() {
        guard !pendingStarts.isEmpty else { return }
        pending.withUnsafeBytes { bytes in
            // Hashes first (one load each); the whole entries only when two hashes are equal.
            pendingStarts.sort { a, b in
                let (first, second) = (bytes.loadUnaligned(fromByteOffset: a, as: UInt64.self), bytes.loadUnaligned(fromByteOffset: b, as: UInt64.self))
                return first != second ? first < second : RunEntry(bytes, at: a) < RunEntry(bytes, at: b)
            }
        }
        // Moved out (not copied) while written, and back with their capacity kept.
        var (bytes, starts): ([UInt8], [Int]) = ([], [])
        swap(&bytes, &pending)
        swap(&starts, &pendingStarts)
        writeRun(count: starts.count) { index, chunk in
            bytes.withUnsafeBytes { entries in
                let start = starts[index]
                chunk.append(contentsOf: entries[start..<(start + RunEntry.size(in: entries, at: start))])
            }
        }
        bytes.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
        swap(&bytes, &pending)
        swap(&starts, &pendingStarts)
    }

    /// Writes `count` entries, which `entry` appends one at a time, as one run at the end of the spill. A
    /// spill that fails to write is replaced by memory (the run is written again there), so a full disk
    /// costs memory, not the check.
    private mutating func writeRun(count: Int, entry: (Int, inout [UInt8]) -> Void) {
        guard let target = spill else { return }
        do {
            runs.append(try SeenKeys.writeRun(to: target, count: count, entry: entry))
        } catch {
            let memory = MemoryKeySpill()
            spill = memory
            guard let run = try? SeenKeys.writeRun(to: memory, count: count, entry: entry) else {
                preconditionFailure("memory cannot fail to append")
            }
            runs.append(run)
        }
    }

    private static func writeRun(
        to target: any KeySpill, count: Int, entry: (Int, inout [UInt8]) -> Void
    ) throws(KeySpillError) -> SpilledRun {
        let start = target.size
        var chunk: [UInt8] = []
        chunk.reserveCapacity(RunCursor.writeSize + 4096)
        var next = 0
        while next < count {
            chunk.removeAll(keepingCapacity: true)
            while next < count, chunk.count < RunCursor.writeSize {
                entry(next, &chunk)
                next += 1
            }
            let failure = chunk.withUnsafeBytes { written -> KeySpillError? in
                do throws(KeySpillError) {
                    try target.append(written)
                    return nil
                } catch {
                    return error
                }
            }
            if let failure { throw failure }
        }
        return SpilledRun(spill: target, start: start, end: target.size)
    }

    /// A 64-bit hash of `bytes`, never 0.
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
        var index = 0
        while index + 8 <= bytes.count {
            let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            hash = (hash ^ word) &* 0xFF51_AFD7_ED55_8CCD
            hash ^= hash >> 32
            index += 8
        }
        while index < bytes.count {
            hash = (hash ^ UInt64(bytes[index])) &* 0x0100_0000_01B3
            index += 1
        }
        hash ^= hash >> 29
        hash = hash &* 0xC4CE_B9FE_1A85_EC53
        hash ^= hash >> 32
        return hash == 0 ? 1 : hash
    }
}

/// Whether two byte ranges hold the same bytes.
func memoryEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    var index = 0
    while index + 8 <= a.count {
        if a.loadUnaligned(fromByteOffset: index, as: UInt64.self) != b.loadUnaligned(fromByteOffset: index, as: UInt64.self) {
            return false
        }
        index += 8
    }
    while index < a.count {
        if a[index] != b[index] { return false }
        index += 1
    }
    return true
}
