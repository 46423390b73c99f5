import ExchangeCore
import ExchangeRuntime

/// The rows of an original file to show beside its errors: each line an error names (with a little
/// context: the header row of a CSV file, two lines either side in XML), the errors of each line, and
/// the errors that concern the file as a whole. Pure.
struct ErrorRows {
    /// One row of the table.
    struct Row: Equatable {
        /// The line number (1-based).
        var number: Int
        /// The line's text, when the original was read that far.
        var text: String?
        /// The errors on this line.
        var issues: [ValidationIssue]
        /// Whether lines were skipped before this one.
        var gapBefore: Bool
        /// For a CSV row: its cells, named by the header, those an error names marked.
        var cells: [Cell]? = nil
    }

    /// One cell of a CSV row.
    struct Cell: Equatable {
        /// The column's name in the header.
        var name: String
        /// The value as written.
        var value: String
        /// Whether an error on this row names this column.
        var faulty: Bool
    }

    /// The rows, in line order.
    var rows: [Row]
    /// Errors without a line.
    var fileIssues: [ValidationIssue]

    /// Lines that would be shown for `issues` (to know how far to read the original).
    static func lines(for issues: [ValidationIssue], binding: Binding?, maxRows: Int = 3000) -> [Int] {
        let context = binding == .xml ? 2 : 0
        var wanted = Set<Int>()
        for line in Set(issues.compactMap(\.line)).filter({ $0 > 0 }).sorted().prefix(maxRows) {
            for number in max(1, line - context)...(line + context) { wanted.insert(number) }
        }
        if binding != .xml, !wanted.isEmpty { wanted.insert(1) }
        return wanted.sorted()
    }

    /// Builds the rows from the issues and the original's first lines (`original[0]` is line 1), if kept.
    init(issues: [ValidationIssue], original: [String]?, binding: Binding?) {
        self.init(issues: issues, original: original.map(OriginalLines.init), binding: binding)
    }

    /// Builds the rows from the issues and the lines of the original that were kept, if it is.
    init(issues: [ValidationIssue], original: OriginalLines?, binding: Binding?) {
        var byLine: [Int: [ValidationIssue]] = [:]
        var fileIssues: [ValidationIssue] = []
        for issue in issues {
            if let line = issue.line, line > 0 { byLine[line, default: []].append(issue) } else { fileIssues.append(issue) }
        }
        var rows: [Row] = []
        var previous = 0
        for number in ErrorRows.lines(for: issues, binding: binding) {
            let text = original?.lines[number]
            // Context past the end of the file is not a row.
            if text == nil, byLine[number] == nil, let original, number > original.linesRead { continue }
            rows.append(Row(number: number, text: text, issues: byLine[number] ?? [], gapBefore: previous != 0 && number != previous + 1))
            previous = number
        }
        if binding == .csv, let header = original?.lines[1].flatMap(ErrorRows.cells(of:)) {
            for index in rows.indices where !rows[index].issues.isEmpty {
                guard let text = rows[index].text, let values = ErrorRows.cells(of: text), values.count == header.count else { continue }
                let faulty = Set(rows[index].issues.compactMap(\.field))
                rows[index].cells = zip(header, values).map { Cell(name: $0, value: $1, faulty: faulty.contains($0)) }
            }
        }
        self.rows = rows
        self.fileIssues = fileIssues
    }

    /// The cells of one CSV line; nil when the line is not a whole record on its own (a quoted value
    /// that spans lines, broken quoting).
    static func cells(of line: String) -> [String]? {
        var reader = CSVRecordReader()
        var records: [[String]] = []
        var broken = false
        let collect: (CSVRecord) -> Void = { record in records.append((0..<record.count).map { record.string($0) }) }
        let problem: (CSVSyntaxProblem) -> Void = { _ in broken = true }
        Array(line.utf8).withUnsafeBytes { reader.consume($0, onRecord: collect, onProblem: problem) }
        reader.finish(onRecord: collect, onProblem: problem)
        return !broken && records.count == 1 ? records[0] : nil
    }
}
