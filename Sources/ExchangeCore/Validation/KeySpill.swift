/// Where `SeenKeys` writes its keys, split into partitions, once they outgrow its memory budget: bytes
/// appended at the end and read back by offset. `MemoryKeySpill` keeps them in memory (the twin for tests, and the
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

/// Bytes written at once: where they lie in their spill.
struct SpilledRun {
    let spill: any KeySpill
    let start: Int
    let end: Int
}

/// One key as a spill stores it: hash, row, line and order (8 bytes each), the key's length (4 bytes),
/// then the key.
struct SpillEntry {
    static let headerSize = 36

    let hash: UInt64
    let row: Int
    let line: Int
    let order: Int
    let key: UnsafeRawBufferPointer

    init(hash: UInt64, row: Int, line: Int, order: Int, key: UnsafeRawBufferPointer) {
        (self.hash, self.row, self.line, self.order, self.key) = (hash, row, line, order, key)
    }

    /// The entry starting at `offset` of `bytes` (which must hold it whole).
    init(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        hash = bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        row = Int(bytes.loadUnaligned(fromByteOffset: offset + 8, as: Int64.self))
        line = Int(bytes.loadUnaligned(fromByteOffset: offset + 16, as: Int64.self))
        order = Int(bytes.loadUnaligned(fromByteOffset: offset + 24, as: Int64.self))
        let length = Int(bytes.loadUnaligned(fromByteOffset: offset + 32, as: UInt32.self))
        key = UnsafeRawBufferPointer(rebasing: bytes[(offset + SpillEntry.headerSize)..<(offset + SpillEntry.headerSize + length)])
    }

    /// The entry's size in bytes.
    var size: Int { SpillEntry.headerSize + key.count }

    /// The size of the entry starting at `offset`, when its header is there.
    static func size(in bytes: UnsafeRawBufferPointer, at offset: Int) -> Int {
        headerSize + Int(bytes.loadUnaligned(fromByteOffset: offset + 32, as: UInt32.self))
    }

    /// Appends the entry to `bytes`.
    func append(to bytes: inout [UInt8]) {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: size))
        bytes.withUnsafeMutableBytes { target in
            target.storeBytes(of: hash, toByteOffset: start, as: UInt64.self)
            target.storeBytes(of: Int64(row), toByteOffset: start + 8, as: Int64.self)
            target.storeBytes(of: Int64(line), toByteOffset: start + 16, as: Int64.self)
            target.storeBytes(of: Int64(order), toByteOffset: start + 24, as: Int64.self)
            target.storeBytes(of: UInt32(key.count), toByteOffset: start + 32, as: UInt32.self)
            if let source = key.baseAddress, !key.isEmpty {
                (target.baseAddress! + start + SpillEntry.headerSize).copyMemory(from: source, byteCount: key.count)
            }
        }
    }
}

/// Spilled keys split by the leading bits of their hashes: every key with the same bits, and so every
/// repeat of a key, lies in one partition, in the order seen. A partition is gathered in memory and
/// written in pieces as it fills; a partition too large to settle in memory is split again by the next
/// bits (`depth`).
struct SpillPartitions {
    /// Bits of the hash per split, and the partitions that makes.
    static let bits = 6
    static let fanOut = 1 << bits
    /// The deepest split: past it (60 bits of equal hashes) a partition is settled however large.
    static let deepest = 64 / bits - 1

    /// How many splits led here: the hash bits after `depth * bits` choose the partition.
    let depth: Int
    /// The bytes gathered per partition before they are written.
    private let bufferSize: Int
    private var buffers: [[UInt8]]
    /// Per partition, the pieces written, in order.
    private(set) var pieces: [[SpilledRun]]

    /// Empty partitions whose buffers together take at most half of `memoryBudget`.
    init(depth: Int, memoryBudget: Int) {
        self.depth = depth
        bufferSize = max(4096, memoryBudget / 2 / SpillPartitions.fanOut)
        buffers = Array(repeating: [], count: SpillPartitions.fanOut)
        pieces = Array(repeating: [], count: SpillPartitions.fanOut)
    }

    /// Gathers `entry` in its partition; returns the partition when its buffer is full (to be written).
    mutating func add(_ entry: SpillEntry) -> Int? {
        let partition = Int(truncatingIfNeeded: (entry.hash << UInt64(depth * SpillPartitions.bits)) >> UInt64(64 - SpillPartitions.bits))
        if buffers[partition].isEmpty { buffers[partition].reserveCapacity(bufferSize + SpillEntry.headerSize + entry.key.count) }
        entry.append(to: &buffers[partition])
        return buffers[partition].count >= bufferSize ? partition : nil
    }

    /// Writes what `partition` gathered as its next piece (nothing when it gathered nothing); on failure
    /// the bytes stay gathered.
    mutating func write(_ partition: Int, to spill: any KeySpill) throws(KeySpillError) {
        guard !buffers[partition].isEmpty else { return }
        let start = spill.size
        let failure = buffers[partition].withUnsafeBytes { bytes -> KeySpillError? in
            do throws(KeySpillError) {
                try spill.append(bytes)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
        pieces[partition].append(SpilledRun(spill: spill, start: start, end: spill.size))
        buffers[partition].removeAll(keepingCapacity: true)
    }

    /// Reads the entries of `pieces` in order while `body` returns true.
    static func read(_ pieces: [SpilledRun], _ body: (SpillEntry) -> Bool) throws(KeySpillError) {
        for piece in pieces {
            let cursor = try PieceCursor(piece)
            while cursor.hasEntry {
                guard body(cursor.entry) else { return }
                try cursor.advance()
            }
        }
    }
}

/// Reads one piece's entries in order, a chunk at a time.
final class PieceCursor {
    /// Bytes read from a spill at once.
    static let readSize = 64 << 10

    private let piece: SpilledRun
    private var buffer: UnsafeMutableRawBufferPointer
    /// The unread bytes in `buffer`.
    private var start = 0
    private var end = 0
    /// The spill offset of the next read.
    private var nextRead: Int
    /// Whether `entry` is there.
    private(set) var hasEntry = false

    init(_ piece: SpilledRun) throws(KeySpillError) {
        self.piece = piece
        nextRead = piece.start
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: PieceCursor.readSize, alignment: 8)
        try load()
    }

    deinit { buffer.deallocate() }

    /// The current entry; valid until `advance()`.
    var entry: SpillEntry { SpillEntry(UnsafeRawBufferPointer(buffer), at: start) }

    /// Moves to the next entry.
    func advance() throws(KeySpillError) {
        start += SpillEntry.size(in: UnsafeRawBufferPointer(buffer), at: start)
        try load()
    }

    /// Makes the next entry whole in the buffer, reading as needed.
    private func load() throws(KeySpillError) {
        while true {
            let available = end - start
            var needed = SpillEntry.headerSize
            if available >= SpillEntry.headerSize {
                needed = SpillEntry.size(in: UnsafeRawBufferPointer(buffer), at: start)
                if available >= needed {
                    hasEntry = true
                    return
                }
            }
            guard nextRead < piece.end else {
                guard available == 0 else { throw KeySpillError(reason: "spilled keys end inside an entry") }
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
            let wanted = min(buffer.count - end, piece.end - nextRead)
            let count = try piece.spill.read(at: nextRead, into: UnsafeMutableRawBufferPointer(rebasing: buffer[end..<(end + wanted)]))
            guard count > 0 else { throw KeySpillError(reason: "spilled keys were cut short") }
            end += count
            nextRead += count
        }
    }
}
