/// A CSV configuration file a support person edits (participants, catalog, scales, ...): a header row
/// with the expected column names, then one row per entry. Reads strictly and reports problems as
/// `ConfigurationError`s with the file and line.
public struct ConfigurationTable: Sendable {
    /// One data row: its line and its cells, by column name.
    public struct Row: Sendable {
        /// The line the row starts on (1-based, counting the header).
        public var line: Int
        /// The cells, by column name; a column missing from the file (an optional trailing one) is "".
        public var cells: [String: String]

        /// The cell of `column`, or "".
        public subscript(_ column: String) -> String { cells[column] ?? "" }
    }

    /// The data rows, in file order.
    public var rows: [Row]

    /// Reads `bytes` as a table with `columns` (the last `optionalTrailing` of which may be left out of
    /// the file altogether). Problems are appended to `errors`; rows with the wrong number of cells are
    /// reported and skipped.
    public init(
        bytes: [UInt8], file: String, columns: [String], optionalTrailing: Int = 0, errors: inout [ConfigurationError]
    ) {
        var problems: [ConfigurationError] = []
        var raw: [(line: Int, cells: [String])] = []
        var reader = CSVRecordReader()
        let collect: (CSVRecord) -> Void = { record in
            if !record.isEmptyLine { raw.append((record.line, (0..<record.count).map { record.string($0) })) }
        }
        let problem: (CSVSyntaxProblem) -> Void = { problem in
            problems.append(ConfigurationError(file: file, line: problem.line, reason: "broken CSV quoting in value \(problem.field)"))
        }
        var body = bytes[...]
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
        Array(body).withUnsafeBytes { reader.consume($0, onRecord: collect, onProblem: problem) }
        reader.finish(onRecord: collect, onProblem: problem)
        rows = []
        errors += problems
        guard let header = raw.first else {
            errors.append(ConfigurationError(file: file, line: 1, reason: "the file is empty; expected the header \(columns.joined(separator: ","))"))
            return
        }
        let present = header.cells.count
        guard present <= columns.count, present >= columns.count - optionalTrailing,
            header.cells == Array(columns.prefix(present))
        else {
            errors.append(
                ConfigurationError(
                    file: file, line: header.line,
                    reason: "the header is '\(header.cells.joined(separator: ","))'; expected '\(columns.joined(separator: ","))'"))
            return
        }
        for (line, cells) in raw.dropFirst() {
            guard cells.count == present else {
                errors.append(ConfigurationError(file: file, line: line, reason: "expected \(present) values, found \(cells.count)"))
                continue
            }
            var byName: [String: String] = [:]
            for (column, cell) in zip(columns, cells) { byName[column] = cell.trimmingWhitespace() }
            rows.append(Row(line: line, cells: byName))
        }
    }
}
