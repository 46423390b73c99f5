#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks CSV rows against one Table Schema the way frictionless does: labels by position, then per
/// row each cell's type and constraints, missing and extra cells, blank rows, `unique` fields and the
/// primary key. Messages never repeat a value of a student-data field.
struct TableRowChecker {
    /// One field, compiled for fast checks on raw bytes.
    final class CompiledField {
        let field: TableSchema.Field
        // The field's facts the per-cell checks read, hoisted out of `field` so that reading them costs no
        // reference counting.
        let type: TableSchema.FieldType
        let required: Bool
        let minLength: Int
        let maxLength: Int
        let hasBounds: Bool
        let pattern: PatternMatcher?
        let enumValues: [[UInt8]]?
        let minimum: CellValues.Number?
        let maximum: CellValues.Number?
        /// The true values then the false values (boolean fields).
        let booleanValues: [[UInt8]]

        /// Compiles `field`; its pattern is `compiledPattern` when given.
        init(_ field: TableSchema.Field, compiledPattern: PatternMatcher? = nil) throws {
            self.field = field
            type = field.type
            required = field.constraints.required
            minLength = field.constraints.minLength ?? 0
            maxLength = field.constraints.maxLength ?? Int.max
            hasBounds = field.constraints.minimum != nil || field.constraints.maximum != nil
            pattern = try compiledPattern ?? field.constraints.pattern.map(PatternMatcher.init)
            enumValues = field.constraints.enum.map { $0.map { Array($0.text.utf8) } }
            minimum = field.constraints.minimum.flatMap { CellValues.number(text: $0.text) }
            maximum = field.constraints.maximum.flatMap { CellValues.number(text: $0.text) }
            booleanValues = ((field.trueValues ?? ["true", "True", "TRUE", "1"])
                + (field.falseValues ?? ["false", "False", "FALSE", "0"])).map { Array($0.utf8) }
        }
    }

    /// What one column of the file is checked against: a schema field, or (for a header column the
    /// schema does not have) nothing but presence, as frictionless treats extra labels.
    enum Column {
        case field(Int)
        case unknown(label: String)
    }

    let schema: TableSchema
    let fields: [CompiledField]
    private let missingValues: [[UInt8]]
    private var primaryKeyPositions: [Int]
    /// The file's columns, set from the header; until then, the schema's fields.
    private var columns: [Column] {
        didSet { columnFields = columns.map { if case .field(let index) = $0 { index } else { -1 } } }
    }
    /// Per column: its field's index in `fields`, or -1 (`columns` as plain numbers, read per cell).
    private var columnFields: [Int] = []
    /// `fields` for the per-cell loop, which must not retain them (threads checking blocks would contend
    /// for their reference counts).
    private let fieldReferences: [Unmanaged<CompiledField>]
    private var primaryKeysSeen: SeenKeys
    private var uniqueSeen: [Int: SeenKeys] = [:]
    /// Per field: whether it is `unique` (checked per cell without a dictionary lookup).
    private var isUnique: [Bool]
    /// Per field: its slot in the primary key, or -1.
    private var keySlot: [Int]
    /// Per primary-key part: where its bytes lie in `keyBuffer` for the row being checked.
    private var keyParts: [Range<Int>?]
    private var keyBuffer: [UInt8] = []
    /// Empty header columns after the type's last column (a spreadsheet's leftover columns): ignored, and
    /// so are a row's cells under them while they stay empty.
    private(set) var emptyColumnsAfterHeader = 0
    /// Whether the only missing value is the empty string (the usual case, checked without a loop).
    private let onlyEmptyIsMissing: Bool

    /// Compiles `schema`'s checks. Keys for `unique` and the primary key move out of memory as `spilling`
    /// says (never, without it). `patterns` are the fields' patterns compiled already (per field).
    init(schema: TableSchema, spilling: KeySpilling? = nil, patterns: [PatternMatcher?]? = nil) throws {
        self.schema = schema
        primaryKeysSeen = SeenKeys(spilling: spilling)
        fields = try schema.fields.enumerated().map { index, field in
            try CompiledField(field, compiledPattern: patterns.flatMap { index < $0.count ? $0[index] : nil })
        }
        fieldReferences = fields.map { Unmanaged.passUnretained($0) }
        missingValues = schema.missingValues.map { Array($0.utf8) }
        onlyEmptyIsMissing = schema.missingValues == [""]
        primaryKeyPositions = schema.primaryKey.compactMap { name in schema.fields.firstIndex { $0.name == name } }
        columns = schema.fields.indices.map(Column.field)
        columnFields = Array(schema.fields.indices)
        isUnique = schema.fields.map(\.constraints.unique)
        keySlot = Array(repeating: -1, count: schema.fields.count)
        for (slot, position) in primaryKeyPositions.enumerated() { keySlot[position] = slot }
        keyParts = Array(repeating: nil, count: primaryKeyPositions.count)
        for (index, field) in schema.fields.enumerated() where field.constraints.unique {
            uniqueSeen[index] = SeenKeys(spilling: spilling)
        }
    }

    // MARK: Header

    /// Checks the header labels against the schema's field names, by position, and fixes the columns
    /// rows are checked against: fields beyond the header are not checked at all, and header columns
    /// beyond the schema only for presence (as frictionless does). One column left out or put in is
    /// reported once, as the cause of the shift (`shiftedColumn`).
    /// Empty labels after the type's last column are a spreadsheet's leftover columns: they are not
    /// columns of the file (`emptyColumnsAfterHeader`).
    mutating func checkHeader(_ rawLabels: [String], line: Int, into issues: inout IssueCollector) {
        var labels = rawLabels.map(CellValues.strippedLikePython)
        let names = schema.fieldNames
        while labels.count > names.count, labels.last?.isEmpty == true {
            labels.removeLast()
            emptyColumnsAfterHeader += 1
        }
        columns = labels.indices.map { $0 < names.count ? .field($0) : .unknown(label: labels[$0]) }
        if !primaryKeyPositions.allSatisfy({ $0 < labels.count }) {
            primaryKeyPositions = []
            keySlot = Array(repeating: -1, count: schema.fields.count)
            keyParts = []
        }
        for index in uniqueSeen.keys where index >= labels.count {
            uniqueSeen[index] = nil
            isUnique[index] = false
        }
        if let shift = Self.shiftedColumn(labels: labels, names: names) {
            issues.add(shift.issue(line: line))
            return
        }
        for position in names.count..<max(names.count, labels.count) {
            issues.add(
                ValidationIssue(
                    code: .extraLabel,
                    message: "The header has an extra column\(Self.shown(labels[position])) (column \(position + 1)); "
                        + "the file should have exactly these columns: \(names.joined(separator: ",")).",
                    line: line, column: position + 1, row: 1))
        }
        for position in labels.count..<max(labels.count, names.count) {
            issues.add(
                ValidationIssue(
                    code: .missingLabel,
                    message: "The header is missing column \(position + 1), '\(names[position])'.",
                    line: line, column: position + 1, field: names[position], row: 1))
        }
        var explainedShift = false
        for (position, (name, label)) in zip(names, labels).enumerated() {
            if label.isEmpty {
                issues.add(
                    ValidationIssue(
                        code: .blankLabel, message: "Header column \(position + 1) is empty; it should be '\(name)'.",
                        line: line, column: position + 1, field: name, row: 1))
                continue
            }
            if labels[..<position].contains(label) {
                issues.add(
                    ValidationIssue(
                        code: .duplicateLabel,
                        message: "Header column \(position + 1) repeats\(Self.shown(label)); it should be '\(name)'.",
                        line: line, column: position + 1, field: name, row: 1))
                continue
            }
            if label != name {
                // Name the likely cause once: a column left out, or one put in, shifts all that follow.
                var cause = ""
                if position + 1 < min(names.count, labels.count), label == names[position + 1], labels[position + 1] == name {
                    cause = " It is swapped with the next column, '\(names[position + 1])'."
                } else if position > 0, label == names[position - 1], labels[position - 1] == name {
                    cause = " It is swapped with the column before, '\(names[position - 1])'."
                } else if !explainedShift, position + 1 < names.count, label == names[position + 1] {
                    cause = " Column '\(name)' seems to be missing, which shifts the columns after it."
                    explainedShift = true
                } else if !explainedShift, position + 1 < labels.count, labels[position + 1] == name {
                    cause = " An extra column\(Self.shown(label)) seems to be inserted here, which shifts the columns after it."
                    explainedShift = true
                }
                issues.add(
                    ValidationIssue(
                        code: .incorrectLabel,
                        message: "Header column \(position + 1) is\(Self.shown(label, else: " another name", names: names)) but should be '\(name)' "
                            + "(names are case-sensitive and in a fixed order).\(cause)",
                        line: line, column: position + 1, field: name, row: 1))
            }
        }
    }

    /// One column left out of the header or put into it, which shifts every label after it: the one
    /// cause of what would otherwise be a wrong label at each later column.
    enum HeaderShift: Equatable {
        /// Field `names[position]` is missing.
        case missing(position: Int, name: String, after: String?)
        /// The header has `label` at `position`, which the type does not have.
        case extra(position: Int, label: String)

        func issue(line: Int) -> ValidationIssue {
            switch self {
            case .missing(let position, let name, let after):
                ValidationIssue(
                    code: .missingLabel,
                    message: "The header is missing column \(position + 1), '\(name)'\(after.map { " (after '\($0)')" } ?? ""), so every "
                        + "column after it is one place early. Add the column, with its value (or an empty one) in every row.",
                    line: line, column: position + 1, field: name, row: 1)
            case .extra(let position, let label):
                ValidationIssue(
                    code: .extraLabel,
                    message: "The header has a column\(TableRowChecker.shown(label)) (column \(position + 1)) that this file type does not have, so every "
                        + "column after it is one place late. Remove the column, and its values in every row.",
                    line: line, column: position + 1, row: 1)
            }
        }
    }

    /// A header label as a message may repeat it (` 'label'`): only when it looks like a field name (a
    /// letter, then letters, digits or `_`, no spaces, at most 40) or is one of `names` in other case,
    /// since a header row overwritten with a student's row would otherwise be quoted back; `other` when not.
    static func shown(_ label: String, else other: String = "", names: [String] = []) -> String {
        let likeAName = label.wholeMatch(of: #/[a-z][A-Za-z0-9_]{0,39}/#) != nil || names.contains { $0.lowercased() == label.lowercased() }
        return likeAName ? " '\(label)'" : other
    }

    /// The one column missing from or added to `labels` before their end, if that is all that differs.
    static func shiftedColumn(labels: [String], names: [String]) -> HeaderShift? {
        guard let first = labels.indices.first(where: { $0 < names.count && labels[$0] != names[$0] }) else { return nil }
        if labels.count + 1 == names.count, labels[first...].elementsEqual(names[(first + 1)...]) {
            return .missing(position: first, name: names[first], after: first > 0 ? names[first - 1] : nil)
        }
        if labels.count == names.count + 1, labels[(first + 1)...].elementsEqual(names[first...]) {
            return .extra(position: first, label: labels[first])
        }
        return nil
    }

    // MARK: Rows

    /// What checking one row's cells found, before its keys are compared with earlier rows': the part
    /// of a row's check that needs no other row, so rows can be checked on several threads and settled
    /// in file order (`settle`).
    struct RowCheck: Sendable {
        /// The cells' issues, in the order found.
        var issues: [ValidationIssue] = []
        /// The values of `unique` fields, each with how many of `issues` came before its check.
        var uniqueValues: [(field: Int, before: Int, value: [UInt8])] = []
        /// Whether every cell is missing (the row's one issue is then that it is blank).
        var blank = false
        /// Whether the row has none of the primary key's fields (its key, when it has one, is given by
        /// `appendRowKey(to:)`).
        var keyAbsent = false
        /// The row's line and record number (as the record had them when checked).
        var line: Int
        var row: Int

        /// Whether settling the row can report nothing but a repeat of its key.
        var isClean: Bool { issues.isEmpty && uniqueValues.isEmpty && !blank && !keyAbsent }
    }

    /// Checks one row's cells; `settle` then compares its keys with earlier rows' and reports.
    /// - Parameter isASCII: Whether the record's bytes are all ASCII (so no cell needs a UTF-8 look).
    mutating func checkCells(_ record: CSVRecord, isASCII: Bool) -> RowCheck {
        var check = RowCheck(line: record.line, row: record.number)
        var rowIssues: [ValidationIssue] = []
        var blankCells = 0
        for slot in keyParts.indices { keyParts[slot] = nil }
        keyBuffer.removeAll(keepingCapacity: true)
        var cellCount = record.isEmptyLine ? 0 : record.count
        let columnFields = self.columnFields
        // Cells under a spreadsheet's leftover empty columns, while empty, are not values of the row.
        if cellCount > columnFields.count, cellCount <= columnFields.count + emptyColumnsAfterHeader,
            (columnFields.count..<cellCount).allSatisfy({ position in record.withField(position) { $0.isEmpty } })
        {
            cellCount = columnFields.count
        }

        let fieldReferences = self.fieldReferences
        // A row with more or fewer values than the header has one diagnosis, its cause: its values sit
        // under the wrong columns, so they are not checked one by one (only its keys are read).
        let misaligned = cellCount > 0 && cellCount != columnFields.count
        for position in columnFields.indices {
            let index = columnFields[position]
            guard index >= 0 else {
                if position >= cellCount || record.withField(position, { isMissing($0) }) { blankCells += 1 }
                continue
            }
            fieldReferences[index]._withUnsafeGuaranteedRef { compiled in
            guard position < cellCount else {
                // A missing cell reads as no value: `required` still applies, as in frictionless.
                blankCells += 1
                if compiled.required, !misaligned {
                    rowIssues.append(requiredIssue(compiled.field, record: record))
                }
                return
            }
            let present = record.withField(position) { bytes -> Bool in
                if isMissing(bytes) {
                    if compiled.required, !misaligned {
                        rowIssues.append(requiredIssue(compiled.field, record: record))
                    }
                    return false
                }
                if !misaligned { checkCell(bytes, compiled, isASCII: isASCII, record: record, into: &rowIssues) }
                let slot = keySlot[index]
                if slot >= 0 {
                    let start = keyBuffer.count
                    keyBuffer.append(contentsOf: bytes)
                    keyParts[slot] = start..<keyBuffer.count
                }
                if isUnique[index] {
                    check.uniqueValues.append((index, rowIssues.count, Array(bytes)))
                }
                return true
            }
            if !present { blankCells += 1 }
            }
        }
        if misaligned { rowIssues.append(misalignedRowIssue(record, cellCount: cellCount, isASCII: isASCII)) }
        // The row's issues carry its record's key (its recordId, when it looks like one), as the error
        // file's recordKey.
        if !rowIssues.isEmpty, keyParts.count == 1, let part = keyParts[0], let key = ValidationIssue.recordKey(from: keyBuffer[part]) {
            for index in rowIssues.indices where rowIssues[index].field != schema.primaryKey[0] { rowIssues[index].recordKey = key }
        }
        check.blank = blankCells == columns.count
        check.issues = rowIssues
        check.keyAbsent = !primaryKeyPositions.isEmpty && keyParts.allSatisfy { $0 == nil }
        return check
    }

    /// The one issue of a row with more or fewer values than the header: for more, the column a comma
    /// inside a value most likely split (the first text column whose values, joined again, make a row
    /// every check passes), for fewer, the first column left without a value. No value is repeated.
    private func misalignedRowIssue(_ record: CSVRecord, cellCount: Int, isASCII: Bool) -> ValidationIssue {
        let columnCount = columns.count
        let counts = "Row has \(cellCount) values where the header has \(columnCount) columns"
        // A quote left open runs one value over the lines after it, rows and all, until a later quote ends
        // it: the rows in between are not rows any more, and the count is off by chance.
        let lineFeed = UInt8(ascii: "\n"), carriageReturn = UInt8(ascii: "\r")
        if let open = (0..<cellCount).first(where: { position in
            record.withField(position) { $0.contains(lineFeed) || $0.contains(carriageReturn) }
        }) {
            let breaks = record.withField(open) { value in
                let feeds = value.reduce(0) { $0 + ($1 == lineFeed ? 1 : 0) }
                return feeds > 0 ? feeds : value.reduce(0) { $0 + ($1 == carriageReturn ? 1 : 0) }
            }
            let name = open < columnCount ? name(of: columns[open]) : "value \(open + 1)"
            return ValidationIssue(
                code: cellCount > columnCount ? .extraCell : .missingCell,
                // The message names no line: rows checked in blocks learn their file lines later (`settle`).
                message: "\(counts): the value of \(name) (column \(open + 1)) opens a quote on this line that is closed only "
                    + "\(breaks) line\(breaks == 1 ? "" : "s") further down, so the lines between were read as part of that one value, "
                    + "not as rows. A closing quote is most likely missing on this line: close the quote here (or remove it).",
                line: record.line, column: open + 1, field: open < columnCount ? name : nil, row: record.number)
        }
        guard cellCount > columnCount else {
            let name = name(of: columns[cellCount])
            return ValidationIssue(
                code: .missingCell,
                message: "\(counts): the values from \(name) (column \(cellCount + 1)) on are missing. Every row needs a place for "
                    + "each column, empty ones too (two commas in a row); a line break inside a value also ends a row early, so put "
                    + "such a value in double quotes.",
                line: record.line, column: cellCount + 1, field: name, row: record.number)
        }
        let extra = cellCount - columnCount
        let cells = (0..<cellCount).map { position in record.withField(position) { Array($0) } }
        // Every text column whose values, joined again, make a row that passes; a comma inside a value is
        // mostly followed by a space ("Lee, Jr."), so such a split is named first.
        let splits = columnFields.indices.filter { position in
            guard columnFields[position] >= 0, fields[columnFields[position]].type == .string else { return false }
            var scratch: [ValidationIssue] = []
            for (column, index) in columnFields.enumerated() where index >= 0 {
                let value = column < position ? cells[column]
                    : column == position ? Array(cells[position...(position + extra)].joined(separator: [UInt8(ascii: ",")]))
                    : cells[column + extra]
                value.withUnsafeBytes { bytes in
                    if isMissing(bytes) {
                        if fields[index].required { scratch.append(requiredIssue(fields[index].field, record: record)) }
                    } else {
                        checkCell(bytes, fields[index], isASCII: isASCII, record: record, into: &scratch)
                    }
                }
                if !scratch.isEmpty { return false }
            }
            return true
        }
        let split = splits.first { cells[$0 + 1].first == UInt8(ascii: " ") } ?? splits.first
        guard let split else {
            return ValidationIssue(
                code: .extraCell,
                message: "\(counts): value \(columnCount + 1) has no column. A value with a comma in it must be in double quotes; "
                    + "check the row for a comma inside a value, or a value too many.",
                line: record.line, column: columnCount + 1, row: record.number)
        }
        let name = name(of: columns[split])
        return ValidationIssue(
            code: .extraCell,
            message: "\(counts): \(name) (column \(split + 1)) seems to hold a comma, which splits it in \(extra + 1). Put a value "
                + "that contains a comma in double quotes (\"Lee, Jr.\", not Lee, Jr.); a spreadsheet saving as CSV does that itself.",
            line: record.line, column: split + 1, field: name, row: record.number)
    }

    /// Appends the primary key of the row `checkCells` checked last to `bytes` (one part's bytes, or each
    /// part tagged present/absent and length-prefixed); false, appending nothing, when the schema has no
    /// primary key or the row none of its fields.
    /// (Mutating only so that a call on a checker captured by a closure does not copy it whole.)
    mutating func appendRowKey(to bytes: inout [UInt8]) -> Bool {
        guard !primaryKeyPositions.isEmpty, !keyParts.allSatisfy({ $0 == nil }) else { return false }
        if keyParts.count == 1, let only = keyParts[0] {
            bytes.append(contentsOf: keyBuffer[only])
            return true
        }
        for part in keyParts {
            bytes.append(part == nil ? 0 : 1)
            withUnsafeBytes(of: UInt32(part?.count ?? 0)) { bytes.append(contentsOf: $0) }
            if let part { bytes.append(contentsOf: keyBuffer[part]) }
        }
        return true
    }

    /// Reports a checked row in file order: its cells' issues with the repeats of `unique` values among
    /// them, where each was checked, or only that it is blank; then a repeated or absent primary key
    /// (`key`, whose `SeenKeys.hash` is `keyHash`). `lineOffset` and `rowOffset` are added to the row's
    /// numbers (rows checked apart from the file's start count from there).
    mutating func settle(
        _ check: RowCheck, key: UnsafeRawBufferPointer?, keyHash: UInt64, lineOffset: Int = 0, rowOffset: Int = 0,
        into issues: inout IssueCollector
    ) {
        let (line, row) = (check.line + lineOffset, check.row + rowOffset)
        var rowIssues: [ValidationIssue] = []
        var copied = 0
        func copyCellIssues(upTo end: Int) {
            while copied < end {
                var issue = check.issues[copied]
                if lineOffset != 0 || rowOffset != 0 {
                    issue.line = issue.line.map { $0 + lineOffset }
                    issue.row = issue.row.map { $0 + rowOffset }
                }
                rowIssues.append(issue)
                copied += 1
            }
        }
        for unique in check.uniqueValues {
            copyCellIssues(upTo: unique.before)
            let order = issues.total + rowIssues.count
            let previous = unique.value.withUnsafeBytes {
                uniqueSeen[unique.field]?.insert($0, row: row, line: line, order: order)
            }
            if let previous { rowIssues.append(uniqueIssue(field: unique.field, row: row, line: line, previous: previous)) }
        }
        copyCellIssues(upTo: check.issues.count)
        if check.blank {
            rowIssues = [
                ValidationIssue(
                    code: .blankRow,
                    message: "The row has no values (only commas, or nothing): a spreadsheet leaves rows like this where cells "
                        + "below or beside the data were once used. Delete the empty rows and save again.", line: line, row: row)
            ]
        }
        for issue in rowIssues { issues.add(issue) }
        // A blank row has no key either; that is said once, as its blankness (frictionless says both). So is
        // a key field left empty: once, as its required value.
        if check.keyAbsent, !check.blank,
            !rowIssues.contains(where: { $0.code == .constraintError && schema.primaryKey.contains($0.field ?? "") })
        {
            issues.add(
                ValidationIssue(
                    code: .primaryKey, message: "The row has no \(schema.primaryKey.joined(separator: " + ")); every record needs one.",
                    line: line, row: row))
        } else if let key {
            settleKey(key, hash: keyHash, line: line, row: row, into: &issues)
        }
    }

    /// Reports a repeat of a clean row's primary key (`RowCheck.isClean`): all that settling it can find.
    mutating func settleKey(_ key: UnsafeRawBufferPointer, hash: UInt64, line: Int, row: Int, into issues: inout IssueCollector) {
        if let previous = primaryKeysSeen.insert(key, hash: hash, row: row, line: line, order: issues.total) {
            issues.add(primaryKeyIssue(row: row, line: line, previous: previous))
        }
    }

    private func isMissing(_ bytes: UnsafeRawBufferPointer) -> Bool {
        onlyEmptyIsMissing ? bytes.isEmpty : missingValues.contains { equal(bytes, $0) }
    }

    private func name(of column: Column) -> String {
        switch column {
        case .field(let index): fields[index].field.name
        case .unknown(let label): label
        }
    }

    private func requiredIssue(_ field: TableSchema.Field, record: CSVRecord) -> ValidationIssue {
        let key = schema.primaryKey == [field.name] && field.name == "recordId"
            ? ": every record needs its own recordId, the unique id (a UUID, such as 3f2b8c1e-5d4a-4e6b-9c7d-0a1b2c3d4e5f) "
                + "your student system gives it. Export the file again so that the row has one." : "."
        return ValidationIssue(
            code: .constraintError, message: "\(field.name) is required but empty\(key)", line: record.line,
            field: field.name, row: record.number)
    }

    private func checkCell(
        _ bytes: UnsafeRawBufferPointer, _ compiled: CompiledField, isASCII: Bool, record: CSVRecord,
        into rowIssues: inout [ValidationIssue]
    ) {
        // Messages (and the field's name and value in them) are built only when a check fails, and a
        // student-data value never appears.
        var shown: String { compiled.field.isStudentData ? "" : " '\(String(decoding: bytes, as: UTF8.self))'" }
        var name: String { compiled.field.name }
        func issue(_ code: ValidationIssue.Code, _ message: String) {
            rowIssues.append(
                ValidationIssue(code: code, message: message, line: record.line, field: name, row: record.number))
        }
        var number: CellValues.Number?
        switch compiled.type {
        case .string:
            break
        case .integer:
            number = CellValues.integer(bytes)
            if number == nil {
                let year = name.lowercased().hasSuffix("schoolyear") ? " Write a school year as the year it ends: 2026 for 2025-26." : ""
                return issue(.typeError, "\(name) value\(shown) is not a whole number.\(year)")
            }
        case .number:
            number = CellValues.number(bytes)
            if number == nil { return issue(.typeError, "\(name) value\(shown) is not a number.") }
        case .boolean:
            if !compiled.booleanValues.contains(where: { equal(bytes, $0) }) {
                let words = compiled.booleanValues.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ", ")
                return issue(.typeError, "\(name) value\(shown) is not one of \(words).")
            }
        case .date:
            if CellValues.date(bytes) == nil {
                if String(decoding: bytes, as: UTF8.self).wholeMatch(of: #/[0-9]{4}-[0-9]{2}-[0-9]{2}/#) != nil {
                    return issue(.typeError, "\(name) value\(shown) is not a day of the calendar; check the month and day.")
                }
                return issue(.typeError, "\(name) value\(shown) is not a valid date written YYYY-MM-DD.")
            }
        case .time:
            if !CellValues.time(bytes) {
                return issue(.typeError, "\(name) value\(shown) is not a valid time written HH:MM:SS.")
            }
        case .datetime:
            if !CellValues.dateTime(bytes) {
                return issue(
                    .typeError,
                    "\(name) value\(shown) is not a valid date and time written YYYY-MM-DDTHH:MM:SS "
                        + "(optionally with Z or ±HH:MM).")
            }
        }
        // Constraints, in frictionless's order; every failing one is reported.
        if compiled.type == .string, compiled.minLength > 0 || compiled.maxLength < Int.max {
            let length = isASCII ? bytes.count : CellValues.scalarCount(bytes)
            if length < compiled.minLength {
                issue(.constraintError, "\(name) is shorter than the \(compiled.minLength) characters required.")
            }
            if length > compiled.maxLength {
                issue(.constraintError, "\(name) is \(length) characters long; at most \(compiled.maxLength) are allowed.")
            }
        }
        if compiled.hasBounds, let number {
            if let minimum = compiled.minimum, number.kind == .nan || CellValues.Number.compare(number, minimum) < 0 {
                issue(
                    .constraintError,
                    "\(name) value\(shown) is below the minimum of \(compiled.field.constraints.minimum?.text ?? "").")
            }
            if let maximum = compiled.maximum, number.kind == .nan || CellValues.Number.compare(number, maximum) > 0 {
                issue(
                    .constraintError,
                    "\(name) value\(shown) is above the maximum of \(compiled.field.constraints.maximum?.text ?? "").")
            }
        }
        guard compiled.type == .string else { return }
        // Optional chaining reads the pattern and the codes in place; `if let` would copy them (and retain
        // what they hold) for every cell.
        if compiled.pattern?.matchesLikeFrictionless(bytes, isASCII: isASCII) == false {
            issue(.constraintError, PatternMessage.text(field: name, shownValue: shown, pattern: compiled.pattern!.pattern,
                                                       hint: compiled.field.formatHint, value: String(decoding: bytes, as: UTF8.self)))
        }
        if compiled.enumValues?.contains(where: { equal(bytes, $0) }) == false {
            let list = compiled.enumValues!.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ", ")
            issue(.constraintError, "\(name) value\(shown) is not one of the allowed codes: \(list).")
        }
    }

    private func uniqueIssue(field index: Int, row: Int, line: Int, previous: Int) -> ValidationIssue {
        let name = fields[index].field.name
        return ValidationIssue(
            code: .uniqueError, message: "\(name) repeats the value on line \(previous); it must be unique.",
            line: line, field: name, row: row)
    }

    private func primaryKeyIssue(row: Int, line: Int, previous: Int) -> ValidationIssue {
        ValidationIssue(
            code: .primaryKey,
            message: "\(schema.primaryKey.joined(separator: " + ")) repeats the one on line \(previous). If it is the same record "
                + "copied, delete one of the two rows; if not, give this record its own \(schema.primaryKey.joined(separator: " + ")).",
            line: line, field: schema.primaryKey.count == 1 ? schema.primaryKey[0] : nil, row: row)
    }

    /// Settles the keys that moved to spills (a file with millions of records): their repeats join
    /// `issues` where they belong.
    mutating func finish(into issues: inout IssueCollector) {
        var late: [(order: Int, row: Int, issue: ValidationIssue)] = []
        var notKept = 0
        do throws(KeySpillError) {
            for index in uniqueSeen.keys.sorted() {
                let found = try uniqueSeen[index]!.lateRepeats(keeping: issues.limit)
                notKept += found.total - found.first.count
                for found in found.first {
                    late.append((found.order, found.row, uniqueIssue(field: index, row: found.row, line: found.line, previous: found.previousLine)))
                }
            }
            let found = try primaryKeysSeen.lateRepeats(keeping: issues.limit)
            notKept += found.total - found.first.count
            for found in found.first {
                late.append((found.order, found.row, primaryKeyIssue(row: found.row, line: found.line, previous: found.previousLine)))
            }
        } catch {
            issues.add(SeenKeys.unsettledIssue(error, field: schema.primaryKey.first))
            return
        }
        // In the order the rows were checked; within a row, unique fields by column, then the key.
        late = late.enumerated().sorted { ($0.element.order, $0.element.row, $0.offset) < ($1.element.order, $1.element.row, $1.offset) }
            .map(\.element)
        issues.insertLate(late.map { ($0.order, $0.issue) }, alsoFound: notKept)
    }
}

func equal(_ bytes: UnsafeRawBufferPointer, _ other: [UInt8]) -> Bool {
    guard bytes.count == other.count else { return false }
    guard let start = bytes.baseAddress, !bytes.isEmpty else { return true }
    return other.withUnsafeBytes { memcmp($0.baseAddress!, start, bytes.count) == 0 }
}
