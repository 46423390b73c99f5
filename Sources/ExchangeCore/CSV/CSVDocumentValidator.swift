#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the CSV path found in one file.
public struct CSVVerdict: Sendable {
    /// The type recognised from the header row.
    public var type: ExchangeType?
    /// Data rows seen (blank rows included, but for those after the last row that is not blank: a
    /// spreadsheet's leftover empty rows at the end, which carry nothing and are ignored).
    public var recordCount: Int
    /// The errors found.
    public var issues: IssueCollector
}

/// Judges one CSV file, streaming: reads records with `CSVRecordReader`, recognises the type from the
/// header row, then checks every row against that type's Table Schema.
public struct CSVDocumentValidator {
    private let schemas: [ExchangeType: TableSchema]
    private var reader = CSVRecordReader()
    private var issues: IssueCollector
    private var checker: TableRowChecker?
    private var type: ExchangeType?
    private var sawHeader = false
    private var stopped = false
    private var rows = 0
    private let capturedFields: Set<String>
    private let onRecord: RecordFactsHandler?
    private let keySpilling: KeySpilling?
    /// For each captured field, its column in the file (from the header).
    private var capturedColumns: [(name: String, column: Int)] = []
    /// The header's labels, once recognised.
    private var headerLabels: [String] = []
    /// Once blocks are checked (`startBlocks`): the lines and records before the next block.
    private var blockBase: (lines: Int, records: Int)?
    /// The record being reported, when records are read one by one.
    private var lastRecord = CheckedRecords()
    /// Blank rows not reported yet: an error if a row that is not blank follows, ignored at the end of the
    /// file (Excel leaves rows of only commas below the data). Each with the line and record offsets of
    /// the block it was checked in.
    private var blankRowsPending: [(check: TableRowChecker.RowCheck, offset: (lines: Int, records: Int))] = []

    /// Prepares to judge one file against `schemas`.
    /// - Parameters:
    ///   - capturing: Fields whose values `onRecord` receives for every data row.
    ///   - onRecord: Called with each data row's facts.
    ///   - keySpilling: Where the keys of a file with millions of records go once they outgrow memory (see
    ///     `SeenKeys`); without one they all stay in memory.
    public init(
        schemas: [ExchangeType: TableSchema], issueLimit: Int = IssueCollector.defaultLimit,
        capturing: Set<String> = [], onRecord: RecordFactsHandler? = nil, keySpilling: KeySpilling? = nil
    ) {
        self.keySpilling = keySpilling
        self.schemas = schemas
        self.capturedFields = capturing
        self.onRecord = onRecord
        issues = IssueCollector(limit: issueLimit)
    }

    /// Whether more bytes can change the verdict.
    public var wantsMoreInput: Bool { !stopped && !reader.gaveUp }

    /// Reads the next chunk of the file.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        guard wantsMoreInput else { return }
        // Move the reader out (not copy: a copy would make its buffer shared and copied on write) so the
        // callbacks can mutate the rest of self.
        var reader = takeReader()
        reader.consume(bytes, onRecord: { handle($0) }, onProblem: { report($0) })
        self.reader = reader
    }

    /// Ends the file and returns the verdict.
    public mutating func finish() -> CSVVerdict {
        if wantsMoreInput {
            var reader = takeReader()
            reader.finish(onRecord: { handle($0) }, onProblem: { report($0) })
            self.reader = reader
        }
        // Blank rows with nothing after them are a spreadsheet's leftovers: not records, not errors.
        blankRowsPending.removeAll()
        checker?.finish(into: &issues)
        if !sawHeader, issues.isEmpty {
            issues.add(ValidationIssue(code: .emptyFile, message: "The file has no header row.", line: 1))
        }
        return CSVVerdict(type: type, recordCount: rows, issues: issues)
    }

    private mutating func takeReader() -> CSVRecordReader {
        var reader = CSVRecordReader.placeholder
        swap(&reader, &self.reader)
        return reader
    }

    private mutating func handle(_ record: CSVRecord) {
        guard !stopped else { return }
        guard sawHeader else {
            sawHeader = true
            let (ascii, hasNUL) = CellValues.classify(record.raw)
            if !ascii, !CellValues.isValidUTF8(record.raw) {
                stopped = true
                // Control bytes beside bytes that are not UTF-8: another program's file, not text saved wrongly.
                let binary = record.raw.contains { $0 < 0x09 || ($0 > 0x0D && $0 < 0x20) }
                issues.add(
                    binary
                        ? ValidationIssue(
                            code: .encodingError,
                            message: "The file is not a text file: its first line holds bytes no text has (it may be a picture, a "
                                + "workbook or another program's file). Send the CSV or XML file your student system exports.",
                            line: record.line, row: record.number)
                        : CSVDocumentValidator.notUTF8Issue(line: record.line, row: record.number))
            } else if hasNUL {
                stopped = true
                issues.add(CSVDocumentValidator.nulIssue(line: record.line, row: record.number))
            } else {
                recognise(header: record)
            }
            return
        }
        CSVDocumentValidator.examine(record, checker: &checker, capturing: onRecord == nil ? nil : capturedColumns, into: &lastRecord)
        apply(lastRecord, offset: (0, 0))
        lastRecord.removeAll()
    }

    /// A data record checked on its own that needs more than its key settled: what `apply` then reports.
    enum RecordOutcome: Sendable {
        /// Bytes that are not UTF-8, the first of them in value `column` (0-based) when it is known.
        case notUTF8(column: Int?)
        /// A NUL byte.
        case nul
        /// A row: its cells checked, and the values of the captured fields (nil when none are).
        case row(TableRowChecker.RowCheck, values: [String: String]?)
        /// Broken CSV syntax.
        case problem(CSVSyntaxProblem)
    }

    /// Checks one data record apart from the others and adds it to `records` (which `apply` then reports).
    /// - Parameter plainASCII: Whether the record is known to be ASCII without NUL bytes (its whole block
    ///   was looked at once).
    static func examine(
        _ record: CSVRecord, plainASCII: Bool = false, checker: inout TableRowChecker?,
        capturing capturedColumns: [(name: String, column: Int)]?, into records: inout CheckedRecords
    ) {
        let (ascii, hasNUL) = plainASCII ? (true, false) : CellValues.classify(record.raw)
        if !ascii, !CellValues.isValidUTF8(record.raw) {
            let column = (0..<record.count).first { !record.withField($0) { CellValues.isValidUTF8($0) } }
            records.add(.notUTF8(column: column), line: record.line, row: record.number)
            return
        }
        if hasNUL {
            records.add(.nul, line: record.line, row: record.number)
            return
        }
        let check = checker?.checkCells(record, isASCII: ascii) ?? TableRowChecker.RowCheck(line: record.line, row: record.number)
        // Every row is handed over (its facts even when no field is captured), as the XML path does.
        var values: [String: String]?
        if let capturedColumns {
            var captured: [String: String] = [:]
            for (name, column) in capturedColumns where column < record.count {
                let value = record.string(column)
                if !value.isEmpty { captured[name] = value }
            }
            values = captured
        }
        records.addRow(check, values: values) { keys in checker?.appendRowKey(to: &keys) ?? false }
    }

    /// Reports records checked apart from the others, their numbers moved on by `offset` (lines and
    /// records before the block they were checked in).
    private mutating func apply(_ records: CheckedRecords, offset: (lines: Int, records: Int)) {
        records.forEach { entry, detail, key in
            let (line, row) = (entry.line + offset.lines, entry.row + offset.records)
            if case .row(let check, _) = detail, check.blank, key == nil {
                blankRowsPending.append((check, offset))
                return
            }
            reportBlankRowsPending()
            guard let detail else {
                // A clean row: only its key can repeat.
                rows += 1
                if let key { checker?.settleKey(key, hash: entry.keyHash, line: line, row: row, into: &issues) }
                if let onRecord, let type { onRecord(RecordFacts(type: type, line: line, values: [:])) }
                return
            }
            switch detail {
            case .notUTF8(let column):
                rows += 1
                let field = column.flatMap { $0 < headerLabels.count ? headerLabels[$0] : nil }
                issues.add(CSVDocumentValidator.notUTF8Issue(line: line, row: row, column: column.map { $0 + 1 }, field: field))
            case .nul:
                rows += 1
                issues.add(CSVDocumentValidator.nulIssue(line: line, row: row))
            case .row(let check, let values):
                rows += 1
                checker?.settle(check, key: key, keyHash: entry.keyHash, lineOffset: offset.lines, rowOffset: offset.records, into: &issues)
                if let onRecord, let type { onRecord(RecordFacts(type: type, line: line, values: values ?? [:])) }
            case .problem(var problem):
                problem.line += offset.lines
                problem.record += offset.records
                report(problem)
            }
        }
    }

    /// Reports the blank rows held back: a row follows them, so they are inside the data.
    private mutating func reportBlankRowsPending() {
        guard !blankRowsPending.isEmpty else { return }
        for (check, offset) in blankRowsPending {
            rows += 1
            checker?.settle(check, key: nil, keyHash: 0, lineOffset: offset.lines, rowOffset: offset.records, into: &issues)
            if let onRecord, let type { onRecord(RecordFacts(type: type, line: check.line + offset.lines, values: [:])) }
        }
        blankRowsPending.removeAll()
    }

    private static func notUTF8Issue(line: Int, row: Int, column: Int? = nil, field: String? = nil) -> ValidationIssue {
        let place = field.map { " in \($0)" } ?? column.map { " in value \($0)" } ?? ""
        return ValidationIssue(
            code: .encodingError,
            message: "Line \(line) has characters\(place) that are not UTF-8: the file was likely saved as \"CSV\" rather than "
                + "\"CSV UTF-8\", which writes letters such as é or ñ in another encoding. Save it as \"CSV UTF-8 (Comma "
                + "delimited)\" and send it again.", line: line, column: column, field: field, row: row)
    }

    private static func nulIssue(line: Int, row: Int) -> ValidationIssue {
        ValidationIssue(
            code: .encodingError,
            message: "Line \(line) holds a zero byte, which no text has: the file is not a CSV text file (perhaps a workbook, "
                + "or a file saved in UTF-16 \"Unicode Text\"). Export it again as \"CSV UTF-8 (Comma delimited)\" and send it again.",
            line: line, row: row)
    }

    // MARK: Blocks

    /// Whether the rest of the file may be checked in blocks (`startBlocks`): the header has been read and
    /// recognised, and reading goes on.
    public var canCheckBlocks: Bool { sawHeader && checker != nil && wantsMoreInput && blockBase == nil }

    /// Moves the rest of the file to blocks checked apart (on other threads) and reported in file order
    /// with `apply(_:)`. Returns the bytes already fed but not yet read as records (the next block's
    /// start), and the checker for blocks.
    public mutating func startBlocks() -> (unread: [UInt8], checker: CSVBlockChecker) {
        precondition(canCheckBlocks, "blocks start after the header")
        blockBase = (reader.nextLine - 1, reader.recordsRead)
        let unread = Array(reader.unreadBytes)
        reader = CSVRecordReader.placeholder
        return (
            unread,
            CSVBlockChecker(
                schema: checker!.schema, patterns: checker!.fields.map { $0.pattern?.withTable() }, labels: headerLabels,
                capturedColumns: onRecord == nil ? nil : capturedColumns, maxRecordBytes: CSVRecordReader().maxRecordBytes))
    }

    /// Reports a block's records in file order. A block that did not end with a whole record
    /// (`CSVBlockOutcome.unreadBytes` not 0) ends the blocks: `resumeRecordByRecord()` then goes on.
    public mutating func apply(_ block: CSVBlockOutcome) {
        guard let base = blockBase else { preconditionFailure("apply(_:) after startBlocks()") }
        apply(block.records, offset: base)
        blockBase = (base.lines + block.lines, base.records + block.recordCount)
    }

    /// Goes back to reading record by record after the blocks applied so far; feed the rest from the first
    /// byte no block has read.
    public mutating func resumeRecordByRecord() {
        guard let base = blockBase else { return }
        reader = CSVRecordReader(line: base.lines + 1, recordsBefore: base.records, atFileStart: false)
        blockBase = nil
    }

    private mutating func recognise(header record: CSVRecord) {
        // frictionless strips header labels (not data cells) before comparing them.
        let labels = record.isEmptyLine ? [] : (0..<record.count).map { CellValues.strippedLikePython(record.string($0)) }
        // Empty columns a spreadsheet left after the last one do not make the header another type's.
        let named = Array(labels.reversed().drop(while: \.isEmpty).reversed())
        guard let match = CSVDocumentValidator.recognise(labels: named, schemas: schemas) else {
            issues.add(
                ValidationIssue(
                    code: .unknownType, message: CSVDocumentValidator.unrecognisedHeader(labels, schemas: schemas), line: record.line))
            stopped = true
            return
        }
        type = match
        guard let schema = schemas[match] else { return }
        do {
            var checker = try TableRowChecker(schema: schema, spilling: keySpilling)
            let found = issues.total
            checker.checkHeader(labels, line: record.line, into: &issues)
            headerLabels = labels
            capturedColumns = capturedFields.sorted().compactMap { name in labels.firstIndex(of: name).map { (name, $0) } }
            // Under a wrong header every row's values sit under the wrong names: the rows are counted and
            // their quoting read, but their values are not judged (the header is the one cause).
            self.checker = issues.total == found ? checker : nil
        } catch {
            issues.add(
                ValidationIssue(code: .unknownType, message: "The \(match.code) schema cannot be used: \(error)"))
            stopped = true
        }
    }

    /// Why a first line is not a known header, in words, never quoting it (it may be a student's row):
    /// values separated by `;` or tabs (a spreadsheet's regional CSV or "Text" format), or a first line
    /// that names no column of any type (a row of data where the header should be).
    static func unrecognisedHeader(_ labels: [String], schemas: [ExchangeType: TableSchema]) -> String {
        let known = ExchangeType.partnerTypes.compactMap { type in
            schemas[type].map { "\(type.code) starts \($0.fieldNames.prefix(3).joined(separator: ","))" }
        }.joined(separator: "; ")
        let line = labels.joined(separator: ",")
        for (separator, name) in [(";", "semicolons (;)"), ("\t", "tabs")] where line.contains(separator) {
            let split = line.split(separator: Character(separator), omittingEmptySubsequences: false).map { CellValues.strippedLikePython(String($0)) }
            if let type = recognise(labels: split, schemas: schemas) {
                return "The values are separated by \(name), not commas; the header is that of \(type.code) otherwise. Save the file "
                    + "as \"CSV UTF-8 (Comma delimited)\" and send it again."
            }
        }
        let fieldNames = Set(schemas.values.flatMap(\.fieldNames))
        let named = labels.filter(fieldNames.contains).count
        if named == 0 {
            return "The first line is not a header row: it names none of the columns of a KTS Exchange file type. A CSV file's first "
                + "line must be its header (\(known)); add the header row, or remove what comes before it."
        }
        return "The header row names \(named) of its \(labels.count) columns as a KTS Exchange file type does, too few to tell which "
            + "type it is (\(known)). Use the header row exactly as the exchange's file specification lists it for the type "
            + "you send (your vendor or KTS support has it), as the first line of the file."
    }

    /// The type whose field names `labels` are, exactly or (for a header with mistakes) mostly: at least
    /// half of a type's field names, in any order, and more than any other type.
    public static func recognise(labels: [String], schemas: [ExchangeType: TableSchema]) -> ExchangeType? {
        let ordered = ExchangeType.allCases.compactMap { type in schemas[type].map { (type, $0) } }
        if let exact = ordered.first(where: { $0.1.fieldNames == labels }) { return exact.0 }
        let labelSet = Set(labels)
        let scored = ordered.map { type, schema in
            (type, schema.fieldNames.filter(labelSet.contains).count, schema.fields.count)
        }
        guard let best = scored.max(by: { $0.1 * $1.2 < $1.1 * $0.2 }), best.1 * 2 >= best.2 else { return nil }
        return best.0
    }

    private mutating func report(_ problem: CSVSyntaxProblem) {
        // After a header no type has, the rows are not judged (their quoting neither).
        guard !stopped else { return }
        if !sawHeader {
            sawHeader = true
            stopped = true
        } else {
            rows += 1
        }
        let message: String
        let code: ValidationIssue.Code
        // The value by its column's name once the header is known (never by its content: it may be a
        // student's), and the record by its recordId when it was read before the problem.
        let name = sawHeader && problem.field >= 1 && problem.field <= headerLabels.count && !headerLabels[problem.field - 1].isEmpty
            ? headerLabels[problem.field - 1] : nil
        let value = name.map { "The value of \($0) (column \(problem.field))" } ?? "Value \(problem.field)"
        let lastLine = problem.line + problem.lineBreaks
        switch problem.kind {
        case .quoteInUnquotedValue:
            code = .csvSyntax
            message = "\(value) has a \" inside it but does not start with one. Put the whole value in quotes and double "
                + "the quote inside (\"\"), or remove the quote."
        case .textAfterClosingQuote where problem.lineBreaks > 0:
            code = .csvSyntax
            message = "\(value) opens a quote on line \(problem.line) that is closed only on line \(lastLine), so the lines "
                + "between were read as part of that one value, and text follows the closing quote. A quote is most likely "
                + "missing its closing quote on line \(problem.line): close it there (or remove it), and check the rows after it."
        case .textAfterClosingQuote:
            code = .csvSyntax
            message = "\(value) has text after its closing quote. Double any quote inside a quoted value (\"\") and put "
                + "a comma after the closing quote."
        case .unterminatedQuote:
            code = .csvSyntax
            message = "\(value) opens a quote on line \(problem.line) that is never closed, so everything from there to the end "
                + "of the file (line \(lastLine)) was read as that one value and no row after it was read. Close the quote "
                + "on line \(problem.line) (or remove it) and send the file again."
        case .recordTooLarge(let limit):
            code = .recordTooLarge
            let size = limit >= 1_000_000 ? "\(limit / 1_000_000) million" : "\(limit / 1_000) thousand"
            message = "A row starting here runs on for more than \(size) "
                + "characters without ending; no exchange row is that long. Most likely a value on this line opens a quote (\") "
                + "that is never closed, so the rest of the file reads as that one value: close the quote (or remove it) and "
                + "send the file again."
        }
        let key = sawHeader && headerLabels.first == "recordId" ? problem.firstValue : nil
        issues.add(
            ValidationIssue(
                code: code, message: message, line: problem.line, column: name == nil ? nil : problem.field, field: name,
                row: problem.record, recordKey: key))
    }
}

/// Checks blocks of a CSV file's data rows apart from each other: each block starts where a record starts
/// (right after a line break that ends one), and its records are checked as `CSVDocumentValidator`
/// checks them, except for what needs the rows before (repeated keys), which `apply(_:)` settles in file
/// order. A copy per thread.
public struct CSVBlockChecker: Sendable {
    private let schema: TableSchema
    /// The fields' patterns, compiled once for the file (with their tables: `PatternMatcher.withTable()`).
    private let patterns: [PatternMatcher?]
    private let labels: [String]
    private let capturedColumns: [(name: String, column: Int)]?
    /// The longest block it takes: the longest record the record-by-record reader accepts.
    public let maxRecordBytes: Int

    init(
        schema: TableSchema, patterns: [PatternMatcher?], labels: [String], capturedColumns: [(name: String, column: Int)]?,
        maxRecordBytes: Int
    ) {
        self.schema = schema
        self.patterns = patterns
        self.labels = labels
        self.capturedColumns = capturedColumns
        self.maxRecordBytes = maxRecordBytes
    }

    /// Checks the records of `block`; with `isLast`, the file ends with it.
    public func check(_ block: UnsafeRawBufferPointer, isLast: Bool) -> CSVBlockOutcome {
        // Checks compiled for this block alone: threads sharing compiled fields and patterns would share
        // their reference counts too, and every cell's check would wait on the other core's cache.
        var unused = IssueCollector(limit: 0)
        var checker = try? TableRowChecker(schema: schema, patterns: patterns)
        checker?.checkHeader(labels, line: 1, into: &unused)
        guard checker != nil else {
            return CSVBlockOutcome(records: CheckedRecords(), lines: 0, recordCount: 0, unreadBytes: block.count)
        }
        var reader = CSVRecordReader(maxRecordBytes: Int.max, atFileStart: false)
        var records = CheckedRecords()
        let capturing = capturedColumns
        // The block is looked at once for NUL bytes and bytes past ASCII, so that most records need no
        // look of their own: `nextNonASCII` is the first byte past ASCII at or after the record at hand.
        let hasNUL = block.isEmpty ? false : memchr(block.baseAddress!, 0, block.count) != nil
        var nextNonASCII = -1
        let onRecord: (CSVRecord) -> Void = { record in
            let start = record.raw.isEmpty ? 0 : block.baseAddress!.distance(to: record.raw.baseAddress!)
            if nextNonASCII < start { nextNonASCII = CellValues.firstNonASCII(block, from: start) }
            let plainASCII = !hasNUL && nextNonASCII >= start + record.raw.count
            CSVDocumentValidator.examine(record, plainASCII: plainASCII, checker: &checker, capturing: capturing, into: &records)
        }
        let onProblem: (CSVSyntaxProblem) -> Void = { records.add(.problem($0), line: $0.line, row: $0.record) }
        let unread = reader.read(block: block, isLast: isLast, onRecord: onRecord, onProblem: onProblem)
        // Blocks are never longer than `maxRecordBytes`, so a record the record-by-record reader would
        // refuse as too long never ends inside one: it is left to that reader.
        precondition(block.count <= maxRecordBytes, "a block longer than the longest record")
        return CSVBlockOutcome(records: records, lines: reader.nextLine - 1, recordCount: reader.recordsRead, unreadBytes: unread)
    }
}

/// What checking one block found, to be reported with `CSVDocumentValidator.apply(_:)`.
public struct CSVBlockOutcome: Sendable {
    /// Its records, in order.
    let records: CheckedRecords
    /// The line breaks and records (syntax problems included) read.
    let lines: Int
    let recordCount: Int
    /// The bytes at its end that do not end a record (a quoted value going on into the next block): the
    /// blocks end there, and the file is read record by record from that byte on.
    public let unreadBytes: Int
}

/// Records checked apart from the others, in file order, waiting to be reported: for each, its line and
/// record number, its primary key (bytes end to end, hashed where they were checked) and, unless it is a
/// clean row (`TableRowChecker.RowCheck.isClean`) that only its key can fault, what else settling it
/// needs. Most rows of a good file are clean, so a block of them is a few flat arrays.
struct CheckedRecords: Sendable {
    struct Entry {
        var line: Int
        var row: Int
        /// The key's `SeenKeys.hash`, and where its bytes lie in `keys` (`keyCount` -1: no key).
        var keyHash: UInt64 = 0
        var keyStart: UInt32 = 0
        var keyCount: Int32 = -1
        /// Its index in `details`, or -1 for a clean row.
        var detail: Int32 = -1
    }

    private var entries: [Entry] = []
    private var details: [CSVDocumentValidator.RecordOutcome] = []
    private var keys: [UInt8] = []

    /// Adds a record that is not a row (bytes that are not text, broken syntax).
    mutating func add(_ outcome: CSVDocumentValidator.RecordOutcome, line: Int, row: Int) {
        entries.append(Entry(line: line, row: row, detail: Int32(details.count)))
        details.append(outcome)
    }

    /// Adds a checked row, with the key `appendKey` appends (returning false when the row has none).
    mutating func addRow(_ check: TableRowChecker.RowCheck, values: [String: String]?, appendKey: (inout [UInt8]) -> Bool) {
        var entry = Entry(line: check.line, row: check.row)
        let start = keys.count
        if appendKey(&keys) {
            entry.keyStart = UInt32(start)
            entry.keyCount = Int32(keys.count - start)
            entry.keyHash = keys.withUnsafeBytes { SeenKeys.hash(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        }
        if !check.isClean || !(values?.isEmpty ?? true) {
            entry.detail = Int32(details.count)
            details.append(.row(check, values: values))
        }
        entries.append(entry)
    }

    /// Calls `body` with each record in order: its entry, what else settling it needs (nil for a clean row)
    /// and its key.
    func forEach(_ body: (Entry, CSVDocumentValidator.RecordOutcome?, UnsafeRawBufferPointer?) -> Void) {
        keys.withUnsafeBytes { keys in
            for entry in entries {
                let key = entry.keyCount < 0 ? nil : UnsafeRawBufferPointer(rebasing: keys[Int(entry.keyStart)..<(Int(entry.keyStart) + Int(entry.keyCount))])
                body(entry, entry.detail < 0 ? nil : details[Int(entry.detail)], key)
            }
        }
    }

    /// Empties it, keeping its capacity.
    mutating func removeAll() {
        entries.removeAll(keepingCapacity: true)
        details.removeAll(keepingCapacity: true)
        keys.removeAll(keepingCapacity: true)
    }
}
