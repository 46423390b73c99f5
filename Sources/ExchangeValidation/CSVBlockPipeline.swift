import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ExchangeCore

/// Checks the data rows of a large CSV file on every core: the bytes after the header are cut into
/// blocks right after a line break, each block's records are checked on a thread of its own
/// (`CSVBlockChecker`), and the outcomes are reported in file order by the one `CSVDocumentValidator`
/// (which settles repeated keys, counts rows and hands records over).
///
/// Blocks are cut after a line break with an even number of quotes before it in the block (`cut(in:)`):
/// outside quoted values, when the quoting is well formed. A cut right after a line break is a record's
/// end unless the break is inside a quoted value. Then the
/// block before does not end with a whole record (`CSVBlockOutcome.unreadBytes`): the blocks stop there,
/// the blocks checked after it are thrown away, and the rest of the file is read record by record from
/// the first byte not read as a record. Either way the report is the record-by-record one.
struct CSVBlockPipeline {
    /// Bytes gathered before a block is cut (at most the longest record: see `CSVBlockChecker`).
    var blockSize: Int
    /// Blocks read ahead of the one being reported: bounds the memory to a few blocks and their outcomes.
    var blocksInFlight: Int

    /// One block on its way: its bytes, kept until it is reported (the record-by-record reader may need
    /// them), and its outcome once checked.
    private final class Block: @unchecked Sendable {
        // Sendable: `outcome` is written by one checking thread before `done` is signalled and read by the
        // reporting thread only after waiting on it.
        let bytes: [UInt8]
        let isLast: Bool
        var outcome: CSVBlockOutcome?
        let done = DispatchSemaphore(value: 0)

        init(bytes: [UInt8], isLast: Bool) {
            self.bytes = bytes
            self.isLast = isLast
        }
    }

    /// Where to cut a block in `window` (bytes that start where a record starts): after its last line
    /// break with an even number of quotes before it, so outside any quoted value when the quoting is
    /// well formed, or else after its last line break (a wrong guess costs speed, never the report: see
    /// above); nil when it has no line break.
    static func cut(in window: UnsafeRawBufferPointer) -> Int? {
        guard let base = window.baseAddress, !window.isEmpty else { return nil }
        // Every quote's place, found with memchr (quotes are few in most files).
        var quotes: [Int] = []
        var from = 0
        while from < window.count, let found = memchr(base + from, Int32(UInt8(ascii: "\"")), window.count - from) {
            let at = base.distance(to: UnsafeRawPointer(found))
            quotes.append(at)
            from = at + 1
        }
        var lastAny: Int?
        var end = window.count
        var quotesAfter = 0
        while end > 0 {
            // The last line break before `end` (records are short: a few hundred bytes back at most, usually).
            var at = end - 1
            while at >= 0, window[at] != UInt8(ascii: "\n") { at -= 1 }
            guard at >= 0 else { break }
            if lastAny == nil { lastAny = at }
            while quotesAfter < quotes.count, quotes[quotes.count - 1 - quotesAfter] > at { quotesAfter += 1 }
            if (quotes.count - quotesAfter) % 2 == 0 { return at }
            end = at
        }
        return lastAny
    }

    /// Reads the rest of the file (`readChunk` gives the next bytes, empty at the end) into `validator`,
    /// whose header is read (`canCheckBlocks`), counting what it reads in `progress`.
    func run(
        _ validator: inout CSVDocumentValidator, readChunk: () throws(FileReadError) -> UnsafeRawBufferPointer,
        progress: inout ReadProgress, stopReading: (() -> Bool)?
    ) throws(FileReadError) {
        var (carry, checker) = validator.startBlocks()
        let limit = min(blockSize, checker.maxRecordBytes)
        var pending: [Block] = []
        var recordByRecord = false
        var ended = false
        // No block's check outlives the run, even when reading fails: what a check holds (the checker and
        // its compiled fields) is released before the caller goes on.
        let checking = DispatchGroup()
        defer { checking.wait() }

        /// Reports the oldest block; after blocks stopped, only feeds its bytes.
        func reportOldest() {
            let block = pending.removeFirst()
            block.done.wait()
            if recordByRecord {
                block.bytes.withUnsafeBytes { validator.feed($0) }
                return
            }
            let outcome = block.outcome!
            validator.apply(outcome)
            if outcome.unreadBytes > 0 {
                recordByRecord = true
                validator.resumeRecordByRecord()
                block.bytes.withUnsafeBytes { validator.feed(UnsafeRawBufferPointer(rebasing: $0.suffix(outcome.unreadBytes))) }
            }
        }
        func dispatch(_ bytes: [UInt8], isLast: Bool) {
            let block = Block(bytes: bytes, isLast: isLast)
            pending.append(block)
            DispatchQueue.global().async(group: checking) { [checker] in
                block.outcome = block.bytes.withUnsafeBytes { checker.check($0, isLast: block.isLast) }
                block.done.signal()
            }
        }

        while !recordByRecord {
            if !ended {
                if stopReading?() ?? false {
                    ended = true
                } else {
                    let chunk = try readChunk()
                    if chunk.isEmpty {
                        ended = true
                    } else {
                        carry.append(contentsOf: chunk)
                        progress.add(chunk.count)
                    }
                }
            }
            // Cut blocks while there is enough (or the file has ended), each after the last line break
            // within the limit.
            while !recordByRecord, ended ? !carry.isEmpty : carry.count >= blockSize {
                if ended, carry.count <= limit {
                    dispatch(carry, isLast: true)
                    carry = []
                    break
                }
                guard let lineBreak = carry.withUnsafeBytes({ CSVBlockPipeline.cut(in: UnsafeRawBufferPointer(rebasing: $0.prefix(limit))) }) else {
                    // No line break within the longest record: leave the rest to the record-by-record reader.
                    while !pending.isEmpty { reportOldest() }
                    if !recordByRecord {
                        recordByRecord = true
                        validator.resumeRecordByRecord()
                    }
                    break
                }
                // The block takes the gathered bytes as they are; only the start of the next record is copied.
                var next = [UInt8]()
                next.reserveCapacity(blockSize + FileValidator.chunkSize)
                next.append(contentsOf: carry[(lineBreak + 1)...])
                carry.removeSubrange((lineBreak + 1)...)
                dispatch(carry, isLast: false)
                carry = next
                while pending.count >= blocksInFlight { reportOldest() }
            }
            if ended, carry.isEmpty { break }
        }
        while !pending.isEmpty { reportOldest() }
        guard recordByRecord else { return }
        // Record by record from here: what was read and not yet fed, then the rest of the file.
        carry.withUnsafeBytes { validator.feed($0) }
        guard !ended else { return }
        _ = try feedChunks(&validator, readChunk: readChunk, progress: &progress) { _ in !(stopReading?() ?? false) }
    }
}
