import ExchangeCore
import ExchangeSchemas
import ExchangeXML

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file that could not be read at all (as opposed to one that was read and found wanting).
public struct FileReadError: Error, Sendable, CustomStringConvertible {
    /// The file as named by the caller.
    public var file: String
    /// The operating system's reason.
    public var reason: String
    /// A one-line description.
    public var description: String { "\(file): cannot read the file: \(reason)" }
    /// Creates one.
    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }
}

/// Judges files on disk: reads them in chunks, recognises the binding and type from the content, and
/// streams the bytes through the XML path (libxml2) or the CSV path (Table Schema checks).
///
/// One instance compiles the bundled XSDs once; it can judge many files, one at a time per call.
public final class FileValidator: Sendable {
    /// Bytes read per `read(2)`.
    public static let chunkSize = 256 * 1024
    /// How often the progress callback hears about a long file.
    public static let progressStep: Int64 = 64 * 1024 * 1024

    private let xmlSchemas: XMLSchemaSet
    private let tableSchemas: [ExchangeType: TableSchema]
    private let fieldGuide: FieldGuide
    /// Issues kept per file.
    public let issueLimit: Int
    /// How the record keys of a file with millions of records move out of memory (to nameless temporary
    /// files; see `SeenKeys`).
    public let keySpilling: KeySpilling
    /// How large a file's CSV blocks are when its rows are checked on every core (`CSVBlockPipeline`); nil
    /// to check them record by record on the calling thread.
    public let csvBlockSize: Int?

    /// The default CSV block: half the longest record, so that a block holds hundreds of rows.
    public static let defaultCSVBlockSize = 256 * 1024

    /// The directory for temporary files: `TMPDIR`, or `/tmp`.
    public static var temporaryDirectory: String {
        getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    }

    /// Compiles the bundled schemas.
    /// - Parameters:
    ///   - issueLimit: Issues kept per file; the rest are counted.
    ///   - keySpillDirectory: Where a large file's keys may spill (the service gives its work area).
    ///   - keyMemoryBudget: The memory one file's keys may take before they spill.
    ///   - csvBlockSize: CSV rows past the first chunk are checked in blocks of this size on every core;
    ///     nil checks them record by record on the calling thread (the same report either way).
    /// - Throws: `SchemaCompilationError` if a bundled schema is broken (a build defect).
    public init(
        issueLimit: Int = IssueCollector.defaultLimit, keySpillDirectory: String = FileValidator.temporaryDirectory,
        keyMemoryBudget: Int = SeenKeys.defaultMemoryBudget, csvBlockSize: Int? = FileValidator.defaultCSVBlockSize
    ) throws {
        self.csvBlockSize = csvBlockSize
        keySpilling = KeySpilling(memoryBudget: keyMemoryBudget) { FileKeySpill.make(in: keySpillDirectory) }
        var texts: [ExchangeType: String] = [:]
        for type in ExchangeType.allCases { texts[type] = SchemaCatalog.xsdText(for: type) }
        xmlSchemas = try XMLSchemaSet(xsdTexts: texts)
        tableSchemas = SchemaCatalog.tableSchemas
        fieldGuide = SchemaCatalog.fieldGuide
        self.issueLimit = issueLimit
    }

    /// Judges the file at `path`, naming it `displayName` in the report (`capturing`, `onRecord` and
    /// `stopReading` as in `validate(fileDescriptor:…)`).
    /// - Throws: `FileReadError` when the file cannot be opened or read, or is not a regular file.
    public func validate(
        path: String, displayName: String? = nil, capturing: Set<String> = [], onRecord: RecordFactsHandler? = nil,
        stopReading: (() -> Bool)? = nil
    ) throws(FileReadError) -> ValidationReport {
        let name = displayName ?? path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileReadError(file: name, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var info = stat()
        if fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG {
            throw FileReadError(file: name, reason: "not a regular file")
        }
        return try validate(
            fileDescriptor: descriptor, displayName: name, capturing: capturing, onRecord: onRecord, stopReading: stopReading)
    }

    /// How to read a file again from where validation started, if it can be (a regular file can, a
    /// pipe cannot).
    private static func rewinding(_ fileDescriptor: Int32, displayName: String) -> (() throws(FileReadError) -> Void)? {
        var info = stat()
        let start = lseek(fileDescriptor, 0, SEEK_CUR)
        guard start >= 0, fstat(fileDescriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return { () throws(FileReadError) in
            if lseek(fileDescriptor, start, SEEK_SET) < 0 {
                throw FileReadError(file: displayName, reason: String(cString: strerror(errno)))
            }
        }
    }

    /// Judges the bytes readable from `fileDescriptor` (from its current offset to the end).
    /// - Parameters:
    ///   - capturing: Record fields (logical names) whose values `onRecord` receives, record by record.
    ///   - onRecord: Called with each record's facts, in file order.
    ///   - progress: Called with the bytes read so far, every `progressStep` bytes (for long files).
    ///   - stopReading: Asked after each chunk; when it says yes, the rest of the file is left unread (the
    ///     caller has seen enough, say too many records) and the report covers what was read.
    /// - Throws: `FileReadError` when a read fails.
    public func validate(
        fileDescriptor: Int32, displayName: String, capturing: Set<String> = [], onRecord: RecordFactsHandler? = nil,
        progress: ((Int64) -> Void)? = nil, stopReading: (() -> Bool)? = nil
    ) throws(FileReadError) -> ValidationReport {
        try validate(
            reading: { buffer throws(FileReadError) in
                while true {
                    let count = read(fileDescriptor, buffer.baseAddress, buffer.count)
                    if count >= 0 { return count }
                    if errno == EINTR { continue }
                    throw FileReadError(file: displayName, reason: String(cString: strerror(errno)))
                }
            }, rewind: FileValidator.rewinding(fileDescriptor, displayName: displayName), displayName: displayName,
            capturing: capturing, onRecord: onRecord, progress: progress, stopReading: stopReading)
    }

    /// Judges the bytes that `reading` hands out: it fills the buffer it is given from where it left off
    /// and returns how many bytes it put there, 0 at the end. Otherwise as `validate(fileDescriptor:…)`.
    /// - Parameter rewind: Makes `reading` start again from the first byte. With it, an XML file is first
    ///   checked by the fast path (`XMLSchemaCheck`), and read again with libxml2's validator only if the
    ///   fast path cannot vouch for it; without it, libxml2's validator checks the one reading.
    public func validate(
        reading: (UnsafeMutableRawBufferPointer) throws(FileReadError) -> Int, rewind: (() throws(FileReadError) -> Void)? = nil,
        displayName: String, capturing: Set<String> = [],
        onRecord: RecordFactsHandler? = nil, progress: ((Int64) -> Void)? = nil, stopReading: (() -> Bool)? = nil
    ) throws(FileReadError) -> ValidationReport {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: FileValidator.chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        /// Reads into `buffer` from `offset` on; an empty result means the end of the file.
        func readChunk(at offset: Int = 0) throws(FileReadError) -> UnsafeRawBufferPointer {
            let count = try reading(UnsafeMutableRawBufferPointer(rebasing: buffer[offset...]))
            return UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + count)])
        }

        var first = try readChunk()
        // Short first reads (pipes) are topped up so that sniffing sees a useful prefix.
        while !first.isEmpty, first.count < 64 {
            let more = try readChunk(at: first.count)
            if more.isEmpty { break }
            first = UnsafeRawBufferPointer(rebasing: buffer[0..<(first.count + more.count)])
        }
        return try judge(
            first: first, rest: { () throws(FileReadError) in try readChunk() }, rewind: rewind, displayName: displayName,
            binding: nil, capturing: capturing, onRecord: onRecord, progress: progress, stopReading: stopReading)
    }

    /// Judges `bytes` as if they were a file's, handed over in chunks of `chunkSize` (the first at least 64
    /// bytes, as a file's first read is topped up). With `binding`, the bytes are judged as XML or CSV
    /// whatever they look like: fuzzing and tests drive one path this way. With `xmlSchemaCheck`
    /// `.libxml2`, libxml2's validator judges XML alone (the parity tests' reference).
    public func validate(
        bytes: UnsafeRawBufferPointer, displayName: String, binding: Binding? = nil, chunkSize: Int = FileValidator.chunkSize,
        xmlSchemaCheck: XMLSchemaCheck = .fastPath
    ) -> ValidationReport {
        let size = max(1, chunkSize)
        var offset = min(bytes.count, max(64, size))
        let rest: () -> UnsafeRawBufferPointer = {
            let end = min(bytes.count, offset + size)
            defer { offset = end }
            return UnsafeRawBufferPointer(rebasing: bytes[offset..<end])
        }
        let firstSize = offset
        let rewind: () throws(FileReadError) -> Void = { offset = 0 }
        do {
            return try judge(
                first: UnsafeRawBufferPointer(rebasing: bytes[0..<firstSize]), rest: { () throws(FileReadError) in rest() },
                rewind: xmlSchemaCheck == .fastPath ? rewind : nil, displayName: displayName, binding: binding, capturing: [],
                onRecord: nil, progress: nil, stopReading: nil)
        } catch {
            preconditionFailure("reading from memory cannot fail: \(error)")
        }
    }

    /// Judges a file whose first chunk is `first` and whose next chunks `rest` hands out (empty at the end;
    /// after `rewind`, from the first byte again).
    private func judge(
        first: UnsafeRawBufferPointer, rest readChunk: () throws(FileReadError) -> UnsafeRawBufferPointer,
        rewind: (() throws(FileReadError) -> Void)?, displayName: String,
        binding forced: Binding?, capturing: Set<String>, onRecord: RecordFactsHandler?, progress: ((Int64) -> Void)?,
        stopReading: (() -> Bool)?
    ) throws(FileReadError) -> ValidationReport {
        guard !first.isEmpty else {
            var issues = IssueCollector(limit: issueLimit)
            issues.add(ValidationIssue(code: .emptyFile, message: "The file is empty.", line: 1))
            return ValidationReport(file: displayName, type: nil, binding: nil, recordCount: 0, collector: issues)
        }
        /// Feeds the first chunk and then the rest of the file to `document`, while it wants more; returns
        /// how many bytes it fed.
        @discardableResult
        func stream(_ document: inout some ChunkConsumer) throws(FileReadError) -> Int64 {
            document.feed(first)
            var read = ReadProgress(bytesRead: Int64(first.count), report: progress)
            _ = try feedChunks(&document, readChunk: readChunk, progress: &read) { _ in !(stopReading?() ?? false) }
            return read.bytesRead
        }
        /// Feeds `document` the file again from its first byte, the same `count` bytes as the first time.
        func replay(_ document: inout some ChunkConsumer, count: Int64, rewind: () throws(FileReadError) -> Void)
            throws(FileReadError)
        {
            try rewind()
            var read = ReadProgress(report: progress)
            while read.bytesRead < count, document.wantsMoreInput {
                let chunk = try readChunk()
                if chunk.isEmpty { break }
                let used = UnsafeRawBufferPointer(rebasing: chunk.prefix(Int(min(Int64(chunk.count), count - read.bytesRead))))
                document.feed(used)
                read.add(used.count)
            }
        }
        /// Feeds a CSV file record by record up to its header, then the rest in blocks on every core.
        func streamInBlocks(_ document: inout CSVDocumentValidator, blockSize: Int) throws(FileReadError) {
            document.feed(first)
            var read = ReadProgress(bytesRead: Int64(first.count), report: progress)
            let ended = try feedChunks(&document, readChunk: readChunk, progress: &read) {
                !$0.canCheckBlocks && !(stopReading?() ?? false)
            }
            guard !ended, document.canCheckBlocks, !(stopReading?() ?? false) else { return }
            // Records handed over (the service judging) wait in memory beside their blocks, and with their
            // values captured take several times the blocks' bytes: fewer blocks wait then.
            let inFlight = onRecord == nil ? 8 : capturing.isEmpty ? 4 : 3
            try CSVBlockPipeline(blockSize: blockSize, blocksInFlight: inFlight).run(
                &document, readChunk: readChunk, progress: &read, stopReading: stopReading)
        }
        let sniffed: ContentSniffer.Sniffed = switch forced {
        case .xml?: .xml
        case .csv?: .csv
        case nil: ContentSniffer.binding(of: first)
        }
        switch sniffed {
        case .xml:
            var validator = XMLDocumentValidator(
                schemas: xmlSchemas, fileName: displayName, fieldGuide: fieldGuide,
                issueLimit: issueLimit, capturing: capturing, onRecord: onRecord,
                keySpilling: keySpilling, schemaCheck: rewind == nil ? .libxml2 : .fastPath)
            let fed = try stream(&validator)
            var verdict = validator.finish()
            if verdict.needsLibxml2Validation, let rewind {
                // The fast path could not vouch for the file: the same bytes again, with libxml2's validator,
                // whose verdict and messages stand. The records were handed over the first time.
                var reference = XMLDocumentValidator(
                    schemas: xmlSchemas, fileName: displayName, fieldGuide: fieldGuide, issueLimit: issueLimit,
                    keySpilling: keySpilling, schemaCheck: .libxml2)
                try replay(&reference, count: fed, rewind: rewind)
                verdict = reference.finish()
            }
            var report = ValidationReport(
                file: displayName, type: verdict.type, binding: .xml, recordCount: verdict.recordCount,
                collector: verdict.issues)
            report.declaredSender = verdict.header["SenderOrgId"]
            return report
        case .csv:
            var validator = CSVDocumentValidator(
                schemas: tableSchemas, issueLimit: issueLimit, capturing: capturing, onRecord: onRecord,
                keySpilling: keySpilling)
            if let csvBlockSize {
                try streamInBlocks(&validator, blockSize: csvBlockSize)
            } else {
                try stream(&validator)
            }
            let verdict = validator.finish()
            return ValidationReport(
                file: displayName, type: verdict.type, binding: .csv, recordCount: verdict.recordCount,
                collector: verdict.issues)
        case .foreign(let encoding):
            var issues = IssueCollector(limit: issueLimit)
            issues.add(EncodingCheck.issue(found: encoding))
            return ValidationReport(file: displayName, type: nil, binding: nil, recordCount: 0, collector: issues)
        case .notText(let message):
            var issues = IssueCollector(limit: issueLimit)
            issues.add(ValidationIssue(code: .encodingError, message: message, line: 1))
            return ValidationReport(file: displayName, type: nil, binding: nil, recordCount: 0, collector: issues)
        }
    }
}

/// Bytes read so far, and the progress callback told of them every `FileValidator.progressStep`.
struct ReadProgress {
    private(set) var bytesRead: Int64
    private var nextReport: Int64
    private let report: ((Int64) -> Void)?

    init(bytesRead: Int64 = 0, report: ((Int64) -> Void)?) {
        self.bytesRead = bytesRead
        self.report = report
        nextReport = (bytesRead / FileValidator.progressStep + 1) * FileValidator.progressStep
    }

    /// Counts `count` more bytes.
    mutating func add(_ count: Int) {
        bytesRead += Int64(count)
        if bytesRead >= nextReport {
            report?(bytesRead)
            nextReport += FileValidator.progressStep
        }
    }
}

/// Feeds `document` the next chunks while it wants more and `goOn` agrees; returns whether the file ended.
func feedChunks<Document: ChunkConsumer>(
    _ document: inout Document, readChunk: () throws(FileReadError) -> UnsafeRawBufferPointer, progress: inout ReadProgress,
    while goOn: (Document) -> Bool
) throws(FileReadError) -> Bool {
    while document.wantsMoreInput, goOn(document) {
        let chunk = try readChunk()
        if chunk.isEmpty { return true }
        document.feed(chunk)
        progress.add(chunk.count)
    }
    return false
}

/// A document validator that takes a file's bytes chunk by chunk.
protocol ChunkConsumer {
    /// Takes the next chunk.
    mutating func feed(_ bytes: UnsafeRawBufferPointer)
    /// Whether more bytes can change the verdict.
    var wantsMoreInput: Bool { get }
}

extension XMLDocumentValidator: ChunkConsumer {}
extension CSVDocumentValidator: ChunkConsumer {}
