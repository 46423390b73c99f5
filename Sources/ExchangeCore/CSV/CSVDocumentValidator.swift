/// What the CSV path found in one file.
public struct CSVVerdict: Sendable {
    /// The type recognised from the header row.
    public var type: ExchangeType?
    /// Data rows seen (blank rows included).
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
        let (ascii, hasNUL) = CellValues.classify(record.raw)
        if !ascii, !CellValues.isValidUTF8(record.raw) {
            if sawHeader { rows += 1 } else { stopped = true }
            issues.add(
                ValidationIssue(
                    code: .encodingError,
                    message: "Line \(record.line) is not valid UTF-8. KTS Exchange files must be UTF-8; save the "
                        + "file as UTF-8 and send it again.", line: record.line, row: record.number))
            sawHeader = true
            return
        }
        if hasNUL {
            if sawHeader { rows += 1 } else { stopped = true }
            sawHeader = true
            issues.add(
                ValidationIssue(
                    code: .encodingError,
                    message: "Line \(record.line) contains a NUL byte; the file looks like binary data, not CSV text.",
                    line: record.line, row: record.number))
            return
        }
        guard sawHeader else {
            sawHeader = true
            recognise(header: record)
            return
        }
        rows += 1
        checker?.checkRow(record, isASCII: ascii, into: &issues)
        if let onRecord, let type, !capturedColumns.isEmpty {
            var values: [String: String] = [:]
            for (name, column) in capturedColumns where column < record.count {
                let value = record.string(column)
                if !value.isEmpty { values[name] = value }
            }
            onRecord(RecordFacts(type: type, line: record.line, values: values))
        }
    }

    private mutating func recognise(header record: CSVRecord) {
        // frictionless strips header labels (not data cells) before comparing them.
        let labels = record.isEmptyLine ? [] : (0..<record.count).map { CellValues.strippedLikePython(record.string($0)) }
        guard let match = CSVDocumentValidator.recognise(labels: labels, schemas: schemas) else {
            let shown = labels.prefix(6).joined(separator: ",") + (labels.count > 6 ? ",…" : "")
            let known = ExchangeType.partnerTypes.compactMap { type in
                schemas[type].map { "\(type.code) starts \($0.fieldNames.prefix(3).joined(separator: ","))" }
            }.joined(separator: "; ")
            issues.add(
                ValidationIssue(
                    code: .unknownType,
                    message: "The header row '\(shown)' is not the header of any KTS Exchange file type (\(known)).",
                    line: record.line))
            stopped = true
            return
        }
        type = match
        guard let schema = schemas[match] else { return }
        do {
            var checker = try TableRowChecker(schema: schema, spilling: keySpilling)
            checker.checkHeader(labels, line: record.line, into: &issues)
            capturedColumns = capturedFields.sorted().compactMap { name in labels.firstIndex(of: name).map { (name, $0) } }
            self.checker = checker
        } catch {
            issues.add(
                ValidationIssue(code: .unknownType, message: "The \(match.code) schema cannot be used: \(error)"))
            stopped = true
        }
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
        if !sawHeader {
            sawHeader = true
            stopped = true
        } else {
            rows += 1
        }
        let message: String
        let code: ValidationIssue.Code
        switch problem.kind {
        case .quoteInUnquotedValue:
            code = .csvSyntax
            message = "Value \(problem.field) has a \" inside a value that does not start with one. Put the "
                + "whole value in quotes and double the quote inside (\"\")."
        case .textAfterClosingQuote:
            code = .csvSyntax
            message = "Value \(problem.field) has text after its closing quote. Double any quote inside a "
                + "quoted value (\"\") and put a comma after the closing quote."
        case .unterminatedQuote:
            code = .csvSyntax
            message = "Value \(problem.field) opens a quote that is never closed; the rest of the file was read as "
                + "that one value."
        case .recordTooLarge(let limit):
            code = .recordTooLarge
            message = "A record longer than \(limit / 1024) KiB starts here; no exchange record is that long. "
                + "Check the line endings and quoting."
        }
        issues.add(ValidationIssue(code: code, message: message, line: problem.line, row: problem.record))
    }
}
