/// Remembers byte-string keys and the line each was last seen on, for `unique` and primary-key checks
/// (whose messages name the line of the earlier copy, as the error file's line column does), in bounded
/// memory.
///
/// Keys are kept in memory while they fit in `memoryBudget` (a `KeyTable`), and a repeat is answered at
/// once, exactly (a hash match is confirmed against the stored bytes). A file with more keys than that
/// (millions of records) moves them to a `KeySpill`, split by their hashes into `SpillPartitions`, and
/// settles the rest when the file ends (`lateRepeats(keeping:)`): each partition holds every key with its
/// hashes' leading bits, in the order seen, so it is read back through a table of its own, and a partition
/// whose keys still do not fit is split again by the next bits. Exact, in memory that does not grow with
/// the file, with no sorting. A file that fits never makes a spill.
public struct SeenKeys {
    /// The memory the keys of one check may take before they move to a spill.
    public static let defaultMemoryBudget = 8 << 20

    /// A key that repeats an earlier one, found when the file ended.
    public struct LateRepeat: Sendable, Equatable {
        /// The row (or record) that repeats the key.
        public var row: Int
        /// The line given with the row.
        public var line: Int
        /// Where the repeat's issue belongs among the file's issues (the collector's count when the row
        /// was checked).
        public var order: Int
        /// The line of the most recent earlier record with the same key.
        public var previousLine: Int

        /// Creates one.
        public init(row: Int, line: Int, order: Int, previousLine: Int) {
            self.row = row
            self.line = line
            self.order = order
            self.previousLine = previousLine
        }
    }

    /// The repeats found when the file ended: the first of them in issue order (order, then row), and how
    /// many there were in all, kept or not.
    public struct LateRepeats: Sendable, Equatable {
        /// The first repeats, at most the number asked for.
        public var first: [LateRepeat]
        /// Every repeat found.
        public var total: Int
    }

    private var table = KeyTable()
    private let memoryBudget: Int
    private let makeSpill: (@Sendable () -> (any KeySpill)?)?
    /// Where partitions are written once spilling began; replaced by memory if writing fails.
    private var spill: (any KeySpill)?
    /// The keys seen since spilling began (and those in memory then), by partition.
    private var partitions: SpillPartitions?
    /// Whether no spill could be made: the keys stay in memory.
    private var spillRefused = false
    /// Partitions split again because their keys did not fit the budget (for tests).
    private(set) var partitionsSplit = 0

    /// An empty set that moves its keys out of memory as `spilling` says; without it, every key stays in
    /// memory.
    public init(spilling: KeySpilling? = nil) {
        memoryBudget = spilling?.memoryBudget ?? .max
        makeSpill = spilling?.makeSpill
    }

    /// Whether keys have moved to a spill: repeats of keys seen since are found by `lateRepeats(keeping:)`.
    public var isSpilling: Bool { partitions != nil }

    /// Records `key` as seen in record `row` on `line`; returns the line it was seen on before (the most
    /// recent), if that is known now. Once spilling, nothing is known until the end: `row` and `order` are
    /// kept for `lateRepeats(keeping:)`.
    public mutating func insert(_ key: UnsafeRawBufferPointer, row: Int, line: Int = 0, order: Int = 0) -> Int? {
        insert(key, hash: SeenKeys.hash(key), row: row, line: line, order: order)
    }

    /// `insert(_:row:line:order:)` with the key's `hash(_:)` worked out already (on another thread).
    public mutating func insert(_ key: UnsafeRawBufferPointer, hash: UInt64, row: Int, line: Int = 0, order: Int = 0) -> Int? {
        if partitions != nil {
            append(SpillEntry(hash: hash, row: row, line: line, order: order, key: key))
            return nil
        }
        let previous = table.insert(key, hash: hash, row: line)
        if previous == nil, makeSpill != nil, table.memoryUse > memoryBudget { startSpilling() }
        return previous
    }

    /// The repeats among keys seen since spilling began (against every key of the file): the first
    /// `limit` of them in the order their issues belong, and how many in all; none when nothing was
    /// spilled. Call once, when the file ends.
    /// - Throws: `KeySpillError` when a partition cannot be read back.
    public mutating func lateRepeats(keeping limit: Int = .max) throws(KeySpillError) -> LateRepeats {
        guard var partitions else { return LateRepeats(first: [], total: 0) }
        self.partitions = nil
        flushAll(&partitions)
        var kept = RepeatsKept(limit: limit)
        var work: [(pieces: [SpilledRun], depth: Int)] = partitions.pieces.reversed().map { (pieces: $0, depth: partitions.depth) }
        while let next = work.popLast() {
            if let split = try settle(next.pieces, depth: next.depth, into: &kept) {
                work += split.pieces.reversed().map { (pieces: $0, depth: split.depth) }
            }
        }
        return kept.result()
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

    // MARK: Spilling

    /// Moves the keys held in memory into partitions and frees the table. Their rows are the latest of
    /// each key, and every earlier repeat of them was answered already.
    private mutating func startSpilling() {
        guard !spillRefused else { return }
        guard let made = makeSpill?() else {
            // No spill to be had: keep counting in memory, as a set without a budget does.
            spillRefused = true
            return
        }
        spill = made
        let held = table
        table = KeyTable()
        partitions = SpillPartitions(depth: 0, memoryBudget: memoryBudget)
        // The table holds each key's line; these keys are only ever the earlier copies of later ones.
        held.forEach { hash, key, line in append(SpillEntry(hash: hash, row: 0, line: line, order: 0, key: key)) }
    }

    private mutating func append(_ entry: SpillEntry) {
        guard var gathering = partitions else { return }
        partitions = nil  // moved out while written to, so its buffers are not copied
        if let full = gathering.add(entry) { write(full, of: &gathering) }
        partitions = gathering
    }

    /// Writes the entries gathered for `partition`. A spill that fails to write is replaced by memory (the
    /// bytes are written again there), so a full disk costs memory, not the check.
    private mutating func write(_ partition: Int, of partitions: inout SpillPartitions) {
        guard let target = spill else { return }
        do throws(KeySpillError) {
            try partitions.write(partition, to: target)
        } catch {
            let memory = MemoryKeySpill()
            spill = memory
            do throws(KeySpillError) { try partitions.write(partition, to: memory) } catch {
                preconditionFailure("memory cannot fail to append")
            }
        }
    }

    /// Writes what every partition gathered.
    private mutating func flushAll(_ partitions: inout SpillPartitions) {
        for partition in 0..<SpillPartitions.fanOut { write(partition, of: &partitions) }
    }

    /// Reads one partition's entries (in the order seen) through a table of their own, keeping the
    /// repeats; when the table outgrows the budget, splits the partition by the next bits of the hashes
    /// instead and returns the parts, whose repeats are then found part by part.
    private mutating func settle(
        _ pieces: [SpilledRun], depth: Int, into kept: inout RepeatsKept
    ) throws(KeySpillError) -> SpillPartitions? {
        var table = KeyTable()
        var found = RepeatsKept(limit: kept.limit)
        var tooLarge = false
        try SpillPartitions.read(pieces) { entry in
            if let previous = table.insert(entry.key, hash: entry.hash, row: entry.line) {
                found.add(LateRepeat(row: entry.row, line: entry.line, order: entry.order, previousLine: previous))
            }
            tooLarge = depth < SpillPartitions.deepest && table.memoryUse > memoryBudget
            return !tooLarge
        }
        guard tooLarge else {
            kept.add(found)
            return nil
        }
        table = KeyTable()
        partitionsSplit += 1
        var split = SpillPartitions(depth: depth + 1, memoryBudget: memoryBudget)
        try SpillPartitions.read(pieces) { entry in
            if let full = split.add(entry) { write(full, of: &split) }
            return true
        }
        flushAll(&split)
        return split
    }

    /// A 64-bit hash of `bytes`, never 0.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
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

/// Keys end to end in one arena, with an open-addressing table of their hashes, offsets and the row each
/// was last seen on.
struct KeyTable {
    private struct Slot {
        var hash: UInt64 = 0  // 0 marks an empty slot
        var offset = 0
        var length: Int32 = 0
        var row: Int32 = 0
    }

    private var arena: [UInt8] = []
    private var slots = [Slot](repeating: Slot(), count: 1024)
    private var count = 0

    /// The bytes it holds.
    var memoryUse: Int { arena.capacity + slots.count * MemoryLayout<Slot>.stride }

    /// Records `key` (whose hash is `hash`) as seen on `row`; returns the row it was seen on before.
    mutating func insert(_ key: UnsafeRawBufferPointer, hash: UInt64, row: Int) -> Int? {
        if (count + 1) * 4 > slots.count * 3 { grow() }
        let mask = slots.count - 1
        var index = Int(truncatingIfNeeded: hash) & mask
        let found = arena.withUnsafeBytes { stored in
            slots.withUnsafeMutableBufferPointer { slots -> Int? in
                while slots[index].hash != 0 {
                    if slots[index].hash == hash, KeyTable.matches(slots[index], key, in: stored) {
                        let previous = Int(slots[index].row)
                        slots[index].row = Int32(truncatingIfNeeded: row)
                        return previous
                    }
                    index = (index + 1) & mask
                }
                return nil
            }
        }
        if let found { return found }
        slots[index] = Slot(hash: hash, offset: arena.count, length: Int32(key.count), row: Int32(truncatingIfNeeded: row))
        arena.append(contentsOf: key)
        count += 1
        return nil
    }

    /// Calls `body` with every key held, its hash and its row.
    func forEach(_ body: (UInt64, UnsafeRawBufferPointer, Int) -> Void) {
        arena.withUnsafeBytes { stored in
            for slot in slots where slot.hash != 0 {
                body(slot.hash, UnsafeRawBufferPointer(rebasing: stored[slot.offset..<(slot.offset + Int(slot.length))]), Int(slot.row))
            }
        }
    }

    private static func matches(_ slot: Slot, _ key: UnsafeRawBufferPointer, in stored: UnsafeRawBufferPointer) -> Bool {
        guard Int(slot.length) == key.count else { return false }
        return key.isEmpty || memoryEqual(UnsafeRawBufferPointer(rebasing: stored[slot.offset..<(slot.offset + key.count)]), key)
    }

    private mutating func grow() {
        let old = slots
        slots = [Slot](repeating: Slot(), count: old.count * 2)
        let mask = slots.count - 1
        for slot in old where slot.hash != 0 {
            var index = Int(truncatingIfNeeded: slot.hash) & mask
            while slots[index].hash != 0 { index = (index + 1) & mask }
            slots[index] = slot
        }
    }
}

/// The first repeats in issue order, at most `limit` of them, and how many were found.
struct RepeatsKept {
    let limit: Int
    private var repeats: [SeenKeys.LateRepeat] = []
    private var total = 0

    init(limit: Int) { self.limit = max(0, limit) }

    mutating func add(_ found: SeenKeys.LateRepeat) {
        total += 1
        guard limit > 0 else { return }
        repeats.append(found)
        // Trimmed now and then, so at most twice the limit is held.
        if repeats.count - limit >= limit { trim() }
    }

    mutating func add(_ other: RepeatsKept) {
        for found in other.repeats { add(found) }
        total += other.total - other.repeats.count
    }

    func result() -> SeenKeys.LateRepeats {
        var kept = self
        kept.trim()
        return SeenKeys.LateRepeats(first: kept.repeats, total: total)
    }

    private mutating func trim() {
        // Issues belong in the order their rows were checked; rows break ties.
        repeats.sort { ($0.order, $0.row) < ($1.order, $1.row) }
        if repeats.count > limit { repeats.removeLast(repeats.count - limit) }
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
