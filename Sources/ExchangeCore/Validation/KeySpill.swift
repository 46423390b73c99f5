/// Where `SeenKeys` writes sorted runs of keys once they outgrow its memory budget: bytes appended at the
/// end and read back by offset. `MemoryKeySpill` keeps them in memory (the twin for tests, and the
/// fallback when a disk refuses); `FileKeySpill` (ExchangeValidation) keeps them in a temporary file
/// that has no name.
public protocol KeySpill: AnyObject {
    /// Bytes written so far.
    var size: Int { get }
    /// Appends `bytes` at the end.
    func append(_ bytes: UnsafeRawBufferPointer) throws(KeySpillError)
    /// Copies up to `buffer.count` bytes from `offset` into `buffer`; returns how many (0 past the end).
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(KeySpillError) -> Int
}

/// When and where the keys of one check move out of memory.
public struct KeySpilling: Sendable {
    /// The memory the keys of one check may take before they move to a spill.
    public var memoryBudget: Int
    /// Makes the spill when one is first needed (files that fit never make one); nil when none can be had
    /// (the keys then stay in memory).
    public var makeSpill: @Sendable () -> (any KeySpill)?

    /// Keys move past `memoryBudget` bytes (at least 64 KiB) to spills that `makeSpill` makes.
    public init(memoryBudget: Int = SeenKeys.defaultMemoryBudget, makeSpill: @escaping @Sendable () -> (any KeySpill)?) {
        self.memoryBudget = max(64 << 10, memoryBudget)
        self.makeSpill = makeSpill
    }
}

/// A spill that could not be written or read back.
public struct KeySpillError: Error, Sendable, Equatable {
    /// The operating system's reason, or what was inconsistent.
    public var reason: String
    /// Creates one.
    public init(reason: String) { self.reason = reason }
}

/// A spill in memory.
public final class MemoryKeySpill: KeySpill {
    private var bytes: [UInt8] = []

    /// An empty spill.
    public init() {}

    /// Bytes written so far.
    public var size: Int { bytes.count }

    /// Appends `bytes` at the end.
    public func append(_ bytes: UnsafeRawBufferPointer) throws(KeySpillError) {
        self.bytes.append(contentsOf: bytes)
    }

    /// Copies bytes from `offset` into `buffer`.
    public func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(KeySpillError) -> Int {
        guard offset < bytes.count else { return 0 }
        let count = min(buffer.count, bytes.count - offset)
        bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + count)])) }
        return count
    }
}

/// One sorted run: where it lies in its spill.
struct SpilledRun {
    let spill: any KeySpill
    let start: Int
    let end: Int
}

/// One key as a run stores it: hash, row, line and order (8 bytes each), the key's length (4 bytes),
/// then the key. Runs are sorted by hash, key, then row, so equal keys meet in row order.
struct RunEntry: Comparable {
    static let headerSize = 36

    let hash: UInt64
    let row: Int
    let line: Int
    let order: Int
    let key: UnsafeRawBufferPointer

    /// The entry starting at `offset` of `bytes` (which must hold it whole).
    init(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        hash = bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        row = Int(bytes.loadUnaligned(fromByteOffset: offset + 8, as: Int64.self))
        line = Int(bytes.loadUnaligned(fromByteOffset: offset + 16, as: Int64.self))
        order = Int(bytes.loadUnaligned(fromByteOffset: offset + 24, as: Int64.self))
        let length = Int(bytes.loadUnaligned(fromByteOffset: offset + 32, as: UInt32.self))
        key = UnsafeRawBufferPointer(rebasing: bytes[(offset + RunEntry.headerSize)..<(offset + RunEntry.headerSize + length)])
    }

    /// The entry's size in bytes.
    var size: Int { RunEntry.headerSize + key.count }

    /// The size of the entry starting at `offset`, when its header is there.
    static func size(in bytes: UnsafeRawBufferPointer, at offset: Int) -> Int {
        headerSize + Int(bytes.loadUnaligned(fromByteOffset: offset + 32, as: UInt32.self))
    }

    /// Appends an entry to `bytes`.
    static func append(hash: UInt64, row: Int, line: Int, order: Int, key: UnsafeRawBufferPointer, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: hash.littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: Int64(row).littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: Int64(line).littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: Int64(order).littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(key.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: key)
    }

    /// Whether the two hold the same key.
    func sameKey(as other: RunEntry) -> Bool {
        hash == other.hash && memoryEqual(key, other.key)
    }

    static func < (a: RunEntry, b: RunEntry) -> Bool {
        precedes((a.hash, a.key, a.row), (b.hash, b.key, b.row))
    }

    /// The order of runs: by hash, then key bytes, then row.
    static func precedes(_ a: (hash: UInt64, key: UnsafeRawBufferPointer, row: Int), _ b: (hash: UInt64, key: UnsafeRawBufferPointer, row: Int)) -> Bool {
        if a.hash != b.hash { return a.hash < b.hash }
        let common = min(a.key.count, b.key.count)
        for index in 0..<common where a.key[index] != b.key[index] { return a.key[index] < b.key[index] }
        if a.key.count != b.key.count { return a.key.count < b.key.count }
        return a.row < b.row
    }

    static func == (a: RunEntry, b: RunEntry) -> Bool {
        a.sameKey(as: b) && a.row == b.row
    }
}

/// Reads one run's entries in order, a chunk at a time.
final class RunCursor {
    /// Bytes read from a spill at once (per run: a 1 GB file's keys make a few dozen runs).
    static let readSize = 64 << 10
    /// Bytes written to a spill at once.
    static let writeSize = 256 << 10

    private let run: SpilledRun
    private var buffer: UnsafeMutableRawBufferPointer
    /// The unread bytes in `buffer`.
    private var start = 0
    private var end = 0
    /// The spill offset of the next read.
    private var nextRead: Int
    /// Whether `entry` is there.
    private(set) var hasEntry = false

    init(_ run: SpilledRun) throws(KeySpillError) {
        self.run = run
        nextRead = run.start
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: RunCursor.readSize, alignment: 8)
        try load()
    }

    deinit { buffer.deallocate() }

    /// The current entry; valid until `advance()`.
    var entry: RunEntry { RunEntry(UnsafeRawBufferPointer(buffer), at: start) }

    /// Moves to the next entry.
    func advance() throws(KeySpillError) {
        start += entry.size
        try load()
    }

    /// Makes the next entry whole in the buffer, reading as needed.
    private func load() throws(KeySpillError) {
        while true {
            let available = end - start
            var needed = RunEntry.headerSize
            if available >= RunEntry.headerSize {
                needed = RunEntry.size(in: UnsafeRawBufferPointer(buffer), at: start)
                if available >= needed {
                    hasEntry = true
                    return
                }
            }
            guard nextRead < run.end else {
                guard available == 0 else { throw KeySpillError(reason: "a run of keys ends inside an entry") }
                hasEntry = false
                return
            }
            if start > 0 {
                buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: available)
                (start, end) = (0, available)
            }
            if needed > buffer.count {
                let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: needed * 2, alignment: 8)
                larger.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[0..<end]))
                buffer.deallocate()
                buffer = larger
            }
            let wanted = min(buffer.count - end, run.end - nextRead)
            let count = try run.spill.read(at: nextRead, into: UnsafeMutableRawBufferPointer(rebasing: buffer[end..<(end + wanted)]))
            guard count > 0 else { throw KeySpillError(reason: "a run of keys was cut short") }
            end += count
            nextRead += count
        }
    }
}

/// The cursors of every run, smallest current entry first (a binary heap).
struct RunHeap {
    private var cursors: [RunCursor]

    init(_ cursors: [RunCursor]) {
        self.cursors = []
        for cursor in cursors where cursor.hasEntry {
            self.cursors.append(cursor)
            siftUp(self.cursors.count - 1)
        }
    }

    /// The cursor with the smallest entry.
    var top: RunCursor? { cursors.first }

    /// Restores the order after the top cursor advanced (dropping it when its run ended).
    mutating func settleTop() {
        guard let first = cursors.first else { return }
        if !first.hasEntry {
            cursors[0] = cursors[cursors.count - 1]
            cursors.removeLast()
        }
        siftDown(0)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard cursors[child].entry < cursors[parent].entry else { return }
            cursors.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < cursors.count else { return }
            var smallest = left
            if left + 1 < cursors.count, cursors[left + 1].entry < cursors[left].entry { smallest = left + 1 }
            guard cursors[smallest].entry < cursors[parent].entry else { return }
            cursors.swapAt(smallest, parent)
            parent = smallest
        }
    }
}
