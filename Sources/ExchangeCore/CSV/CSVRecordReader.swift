/// One CSV record handed out by `CSVRecordReader`; valid only inside the callback that receives it.
public struct CSVRecord {
    /// Physical line the record starts on, 1-based.
    public let line: Int
    /// Record number, 1-based, counting the header row as 1 (frictionless's `rowNumber`).
    public let number: Int
    /// The raw bytes of the whole record, without its line ending.
    public let raw: UnsafeRawBufferPointer
    fileprivate let spans: UnsafeBufferPointer<FieldSpan>
    fileprivate let base: UnsafeRawPointer?
    fileprivate let scratch: ScratchBuffer

    /// Number of fields.
    public var count: Int { spans.count }

    /// Whether the physical line is empty (no bytes at all between line breaks).
    public var isEmptyLine: Bool { raw.isEmpty }

    /// Calls `body` with the value of field `index`, quotes removed and `""` turned into `"`.
    public func withField<T>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        let span = spans[index]
        let bytes = UnsafeRawBufferPointer(start: base.map { $0 + span.start }, count: span.end - span.start)
        guard span.escaped else { return try body(bytes) }
        scratch.bytes.removeAll(keepingCapacity: true)
        var previousWasQuote = false
        for byte in bytes {
            if byte == UInt8(ascii: "\""), previousWasQuote {
                previousWasQuote = false
                continue
            }
            previousWasQuote = byte == UInt8(ascii: "\"")
            scratch.bytes.append(byte)
        }
        return try scratch.bytes.withUnsafeBytes(body)
    }

    /// The value of field `index` as a string (invalid UTF-8 replaced by U+FFFD).
    public func string(_ index: Int) -> String {
        withField(index) { String(decoding: $0, as: UTF8.self) }
    }
}

/// Where one field's bytes lie in the reader's buffer, and whether they hold doubled quotes.
struct FieldSpan {
    var start: Int
    var end: Int
    var escaped: Bool
}

final class ScratchBuffer {
    var bytes: [UInt8] = []
}

/// The fields of the record being read, in storage that appending to needs no uniqueness check.
final class FieldSpans {
    private(set) var pointer: UnsafeMutablePointer<FieldSpan>
    private var capacity = 64
    private(set) var count = 0

    init() { pointer = UnsafeMutablePointer.allocate(capacity: capacity) }

    deinit { pointer.deallocate() }

    @inline(__always)
    func append(_ span: FieldSpan) {
        if count == capacity { grow() }
        (pointer + count).initialize(to: span)
        count += 1
    }

    func removeAll() { count = 0 }

    var buffer: UnsafeBufferPointer<FieldSpan> { UnsafeBufferPointer(start: pointer, count: count) }

    private func grow() {
        let larger = UnsafeMutablePointer<FieldSpan>.allocate(capacity: capacity * 2)
        larger.moveInitialize(from: pointer, count: count)
        pointer.deallocate()
        pointer = larger
        capacity *= 2
    }
}

/// A problem with the CSV syntax itself: broken quoting or an oversized record.
public struct CSVSyntaxProblem: Sendable, Equatable {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        /// A `"` inside a value that does not start with a quote.
        case quoteInUnquotedValue
        /// Something other than a comma or a line break right after a closing quote.
        case textAfterClosingQuote
        /// A quoted value that never ends.
        case unterminatedQuote
        /// A record longer than the reader's limit.
        case recordTooLarge(limit: Int)
    }
    /// The kind of problem.
    public var kind: Kind
    /// Physical line where the problem was found.
    public var line: Int
    /// Record number (header = 1).
    public var record: Int
    /// Field position, 1-based.
    public var field: Int
    /// Line breaks inside the record before the problem (a quoted value over several lines).
    public var lineBreaks: Int = 0
    /// The record's first value, when it was read whole before the problem and looks like a key
    /// (`ValidationIssue.recordKey(from:)`).
    public var firstValue: String?
}

/// A streaming RFC 4180 reader over raw bytes: quoted values, doubled quotes, line breaks inside quotes,
/// CRLF, LF or CR line endings, a leading UTF-8 byte-order mark. Strict about quoting: a stray quote is a
/// syntax problem with its line, not a silently changed value.
///
/// Feed chunks with `consume`, then call `finish`. Memory is bounded by the largest record
/// (`maxRecordBytes`) plus one chunk.
public struct CSVRecordReader {
    /// The largest record accepted, in bytes.
    public let maxRecordBytes: Int
    private var buffer: [UInt8] = []
    private var position = 0
    private var line = 1
    private var recordNumber = 0
    private var atStart = true
    private let spans = FieldSpans()
    private let scratch = ScratchBuffer()
    /// Set once a record exceeded `maxRecordBytes`; the reader then ignores the rest of the input.
    public private(set) var gaveUp = false

    /// A reader that holds nothing, for swapping a real one out of a struct.
    static var placeholder: CSVRecordReader { CSVRecordReader(maxRecordBytes: 0) }

    /// Creates a reader that accepts records up to `maxRecordBytes` long.
    /// - Parameters:
    ///   - line: The line its first byte is on.
    ///   - recordsBefore: The records before its first byte (its first record is number `recordsBefore + 1`).
    ///   - atFileStart: Whether its first bytes are the file's (where a byte-order mark may be).
    public init(maxRecordBytes: Int = 1 << 20, line: Int = 1, recordsBefore: Int = 0, atFileStart: Bool = true) {
        self.maxRecordBytes = maxRecordBytes
        self.line = line
        self.recordNumber = recordsBefore
        self.atStart = atFileStart
    }

    /// The line the next record starts on.
    var nextLine: Int { line }
    /// The records read (and syntax problems met) so far, those before its start included.
    var recordsRead: Int { recordNumber }
    /// The bytes after the last whole record: the start of one not yet ended.
    var unreadBytes: ArraySlice<UInt8> { buffer[position...] }

    /// Reads every complete record in `bytes` (plus what earlier calls left over).
    public mutating func consume(
        _ bytes: UnsafeRawBufferPointer, onRecord: (CSVRecord) -> Void, onProblem: (CSVSyntaxProblem) -> Void
    ) {
        guard !gaveUp else { return }
        if position > 0 {
            buffer.removeSubrange(0..<position)
            position = 0
        }
        buffer.append(contentsOf: bytes)
        if atStart {
            guard buffer.count >= 3 || bytes.isEmpty else { return }
            atStart = false
            if buffer.starts(with: EncodingCheck.utf8BOM) { position = 3 }
        }
        parseRecords(final: false, onRecord: onRecord, onProblem: onProblem)
    }

    /// Reads the last record, which may lack a line ending.
    public mutating func finish(onRecord: (CSVRecord) -> Void, onProblem: (CSVSyntaxProblem) -> Void) {
        guard !gaveUp else { return }
        if atStart {
            atStart = false
            if buffer.starts(with: EncodingCheck.utf8BOM) { position = 3 }
        }
        parseRecords(final: true, onRecord: onRecord, onProblem: onProblem)
    }

    private enum Outcome {
        case record(end: Int, next: Int, lineBreaks: Int)
        case needMore
        case problem(CSVSyntaxProblem.Kind, field: Int, resume: Int, lineBreaks: Int)
    }

    private mutating func parseRecords(
        final: Bool, onRecord: (CSVRecord) -> Void, onProblem: (CSVSyntaxProblem) -> Void
    ) {
        // Read through a second reference to the buffer, which parsing does not change (so nothing is copied).
        let held = buffer
        let stop = held.withUnsafeBytes { parse($0, from: position, final: final, onRecord: onRecord, onProblem: onProblem) }
        position = stop
        if buffer.count - position > maxRecordBytes {
            gaveUp = true
            onProblem(
                CSVSyntaxProblem(
                    kind: .recordTooLarge(limit: maxRecordBytes), line: line, record: recordNumber + 1, field: spans.count))
            buffer = []
            position = 0
        }
    }

    /// Reads the records of `block` where they lie, without copying it: bytes that start where a record
    /// starts (and, with `isLast`, end the file). Returns how many bytes at its end do not end a record.
    mutating func read(
        block: UnsafeRawBufferPointer, isLast: Bool, onRecord: (CSVRecord) -> Void, onProblem: (CSVSyntaxProblem) -> Void
    ) -> Int {
        precondition(buffer.isEmpty && position == 0, "a block is read by a reader of its own")
        return block.count - parse(block, from: 0, final: isLast, onRecord: onRecord, onProblem: onProblem)
    }

    /// Reads records from `bytes[start...]`; returns where it stopped: the end, or the start of a record
    /// that does not end within `bytes`.
    private mutating func parse(
        _ bytes: UnsafeRawBufferPointer, from start: Int, final: Bool, onRecord: (CSVRecord) -> Void,
        onProblem: (CSVSyntaxProblem) -> Void
    ) -> Int {
        var position = start
        while position < bytes.count {
            switch scanRecord(in: bytes, from: position, final: final) {
            case .needMore:
                return position
            case .record(let end, let next, let lineBreaks):
                recordNumber += 1
                onRecord(
                    CSVRecord(
                        line: line, number: recordNumber, raw: UnsafeRawBufferPointer(rebasing: bytes[position..<end]),
                        spans: spans.buffer, base: bytes.baseAddress, scratch: scratch))
                line += lineBreaks + 1
                position = next
            case .problem(let kind, let field, let resume, let lineBreaks):
                recordNumber += 1
                let first = field > 1 && !spans.buffer.isEmpty && !spans.buffer[0].escaped
                    ? ValidationIssue.recordKey(from: bytes[spans.buffer[0].start..<spans.buffer[0].end]) : nil
                onProblem(
                    CSVSyntaxProblem(kind: kind, line: line, record: recordNumber, field: field, lineBreaks: lineBreaks, firstValue: first))
                line += lineBreaks + 1
                position = resume
            }
        }
        return position
    }

    /// Where the unquoted value starting at `start` ends: its first comma, quote, CR or LF, or the end of
    /// `bytes`. Those four are all below 0x2D, as few data bytes are, so eight bytes at a time are tested
    /// for any byte below 0x2D, and only such bytes are looked at.
    @inline(__always)
    static func unquotedEnd(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        let count = bytes.count
        var j = start
        let below: UInt64 = 0x2D2D_2D2D_2D2D_2D2D, highs: UInt64 = 0x8080_8080_8080_8080
        while j + 8 <= count {
            let word = bytes.loadUnaligned(fromByteOffset: j, as: UInt64.self)
            // A high bit for every byte below 0x2D (and maybe for bytes after one, from the borrow).
            var candidates = (word &- below) & ~word & highs
            while candidates != 0 {
                let at = j + candidates.trailingZeroBitCount >> 3
                if isDelimiter(bytes[at]) { return at }
                candidates &= candidates &- 1
            }
            j += 8
        }
        while j < count, !isDelimiter(bytes[j]) { j += 1 }
        return j
    }

    @inline(__always)
    private static func isDelimiter(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\"")
    }

    /// Scans one record starting at `start`, filling `spans`.
    private mutating func scanRecord(in bytes: UnsafeRawBufferPointer, from start: Int, final: Bool) -> Outcome {
        spans.removeAll()
        let comma = UInt8(ascii: ","), quote = UInt8(ascii: "\""), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        let count = bytes.count
        var i = start
        var lineBreaks = 0

        /// After a line break at `i`, where the next record starts (CRLF counts once).
        func afterBreak(_ i: Int) -> Int? {
            if bytes[i] == cr {
                if i + 1 < count { return bytes[i + 1] == lf ? i + 2 : i + 1 }
                return final ? i + 1 : nil
            }
            return i + 1
        }
        /// Where to resume after a problem: the next line break outside quotes is not knowable, so the
        /// next physical line.
        func resumeAfterLine(from j: Int) -> (Int, Int)? {
            var k = j
            while k < count, bytes[k] != lf, bytes[k] != cr { k += 1 }
            if k == count { return final ? (count, 0) : nil }
            guard let next = afterBreak(k) else { return nil }
            return (next, 0)
        }

        while true {
            // Start of a field.
            if i < count, bytes[i] == quote {
                var j = i + 1
                var hasEscapes = false
                var breaksInside = 0
                while true {
                    while j < count, bytes[j] != quote {
                        if bytes[j] == lf {
                            breaksInside += 1
                        } else if bytes[j] == cr, j + 1 < count || final {
                            if j + 1 >= count || bytes[j + 1] != lf { breaksInside += 1 }
                        }
                        j += 1
                    }
                    if j >= count {
                        if final {
                            return .problem(
                                .unterminatedQuote, field: spans.count + 1, resume: count,
                                lineBreaks: lineBreaks + breaksInside)
                        }
                        return .needMore
                    }
                    // bytes[j] is a quote: doubled or closing?
                    if j + 1 < count, bytes[j + 1] == quote {
                        hasEscapes = true
                        j += 2
                        continue
                    }
                    if j + 1 >= count, !final { return .needMore }
                    break
                }
                spans.append(FieldSpan(start: i + 1, end: j, escaped: hasEscapes))
                lineBreaks += breaksInside
                i = j + 1
                if i >= count {
                    return .record(end: i, next: i, lineBreaks: lineBreaks)
                }
                let next = bytes[i]
                if next == comma {
                    i += 1
                    if i >= count, !final { return .needMore }
                    continue
                }
                if next == lf || next == cr {
                    guard let resume = afterBreak(i) else { return .needMore }
                    return .record(end: i, next: resume, lineBreaks: lineBreaks)
                }
                guard let (resume, _) = resumeAfterLine(from: i) else { return .needMore }
                return .problem(.textAfterClosingQuote, field: spans.count, resume: resume, lineBreaks: lineBreaks)
            }
            // Unquoted field: up to a comma, quote, CR or LF.
            let j = CSVRecordReader.unquotedEnd(bytes, from: i)
            if j >= count {
                if !final { return .needMore }
                spans.append(FieldSpan(start: i, end: j, escaped: false))
                return .record(end: j, next: j, lineBreaks: lineBreaks)
            }
            let byte = bytes[j]
            if byte == quote {
                guard let (resume, _) = resumeAfterLine(from: j) else { return .needMore }
                return .problem(
                    .quoteInUnquotedValue, field: spans.count + 1, resume: resume, lineBreaks: lineBreaks)
            }
            spans.append(FieldSpan(start: i, end: j, escaped: false))
            if byte == comma {
                i = j + 1
                if i >= count, !final { return .needMore }
                continue
            }
            guard let resume = afterBreak(j) else { return .needMore }
            return .record(end: j, next: resume, lineBreaks: lineBreaks)
        }
    }
}
