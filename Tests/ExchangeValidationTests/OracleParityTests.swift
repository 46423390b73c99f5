import ExchangeCore
import ExchangeTesting
import ExchangeValidation
import Foundation
import Testing

/// A row with more or fewer values than the header: frictionless reports each extra or missing cell and
/// checks the values under the wrong columns; we report the row once, with its likely cause, and do not
/// check its values. Both come to `row:cells`; its key and unique values are compared as they are. A
/// blank row's missing key is not said again.
private func collapsingMisalignedRows(_ keys: [(row: Int?, code: String, key: String)]) -> Set<String> {
    let misaligned = Set(keys.filter { $0.code == "extra-cell" || $0.code == "missing-cell" }.compactMap(\.row))
    let blank = Set(keys.filter { $0.code == "blank-row" }.compactMap(\.row))
    let keyEmpty = Set(keys.filter { $0.code == "constraint-error" && ($0.key.contains(":recordId:") || $0.key.contains(":id:")) }.compactMap(\.row))
    return Set(keys.compactMap { entry in
        // frictionless also says a blank row, or a row whose key field is empty, has no primary key; we say
        // it once.
        if let row = entry.row, blank.contains(row) || keyEmpty.contains(row), entry.code == "primary-key" { return nil }
        guard let row = entry.row, misaligned.contains(row) else { return entry.key }
        switch entry.code {
        case "extra-cell", "missing-cell": return "\(row):cells"
        case "type-error", "constraint-error": return nil
        default: return entry.key
        }
    })
}

/// Our CSV issues in the shape frictionless reports them: cell errors by (row, field), row errors by
/// row, label errors by column.
private func normalized(_ issues: [ValidationIssue]) -> Set<String> {
    collapsingMisalignedRows(issues.map { issue in (issue.row, issue.code.rawValue, key(issue)) })
}

private func key(_ issue: ValidationIssue) -> String {
    switch issue.code {
    case .typeError, .constraintError, .missingCell, .uniqueError:
        "\(issue.row.map(String.init) ?? "-"):\(issue.field ?? "-"):\(issue.code)"
    case .extraCell:
        "\(issue.row.map(String.init) ?? "-"):#\(issue.column.map(String.init) ?? "-"):\(issue.code)"
    case .missingLabel, .extraLabel, .incorrectLabel, .duplicateLabel, .blankLabel:
        "label#\(issue.column.map(String.init) ?? "-"):\(issue.code)"
    case .encodingError:
        // frictionless stops at the first undecodable byte and gives no row.
        "\(issue.code)"
    default:
        "\(issue.row.map(String.init) ?? "-"):\(issue.code)"
    }
}

private func normalized(_ errors: [FrictionlessError]) -> Set<String> {
    collapsingMisalignedRows(errors.map { error in (error.rowNumber, error.type, key(error)) })
}

private func key(_ error: FrictionlessError) -> String {
    switch error.type {
    case "type-error", "constraint-error", "missing-cell", "unique-error":
        "\(error.rowNumber.map(String.init) ?? "-"):\(error.fieldName ?? "-"):\(error.type)"
    case "extra-cell":
        "\(error.rowNumber.map(String.init) ?? "-"):#\(error.fieldNumber.map(String.init) ?? "-"):\(error.type)"
    case "missing-label", "extra-label", "incorrect-label", "duplicate-label", "blank-label":
        "label#\(error.fieldNumber.map(String.init) ?? "-"):\(error.type)"
    case "encoding-error":
        error.type
    default:
        "\(error.rowNumber.map(String.init) ?? "-"):\(error.type)"
    }
}

/// frictionless's errors without those on the empty rows after the last row we count (`recordCount`
/// data rows, so rows past `recordCount + 1`): a spreadsheet's leftovers, which the exchange ignores by
/// design (Schemas/README.md, CSV binding) and frictionless reports as `blank-row` (and a missing key).
private func withoutTrailingBlankRows(_ errors: [FrictionlessError], recordCount: Int) -> [FrictionlessError] {
    let trailing = Set(errors.filter { $0.type == "blank-row" }.compactMap(\.rowNumber).filter { $0 > recordCount + 1 })
    return errors.filter { error in error.rowNumber.map { !trailing.contains($0) } ?? true }
}

private let labelCodes: Set<String> = ["missing-label", "extra-label", "incorrect-label", "duplicate-label", "blank-label"]

/// Our issues against frictionless's errors. Where frictionless finds the header wrong it judges every
/// row under the wrong names too; we report the header alone (its one cause: a column left out or put in
/// is one issue), so there both must find the header wrong, ours at columns frictionless names, and we
/// report no row. Elsewhere the (row, field, code) sets are equal.
private func expectAgreement(
    _ issues: [ValidationIssue], _ errors: [FrictionlessError], _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation
) {
    let labelColumns = Set(errors.filter { labelCodes.contains($0.type) }.compactMap(\.fieldNumber))
    guard !labelColumns.isEmpty else {
        #expect(normalized(issues) == normalized(errors), comment, sourceLocation: sourceLocation)
        return
    }
    let ours = issues.filter { labelCodes.contains($0.code.rawValue) }
    #expect(!ours.isEmpty && ours.allSatisfy { $0.column.map(labelColumns.contains) ?? false }, comment, sourceLocation: sourceLocation)
    #expect(issues.allSatisfy { labelCodes.contains($0.code.rawValue) || $0.code == .csvSyntax }, comment, sourceLocation: sourceLocation)
}

private let validator = Result { try FileValidator(issueLimit: 100_000) }

/// The type a fixture is meant to be, from its name (`KTSX_ATT_...` or `att-...`), for files whose content
/// is not recognised (so that the oracle can still be asked).
private func intendedType(of file: URL) -> ExchangeType? {
    let name = file.lastPathComponent.uppercased()
    return ExchangeType.allCases.first { name.hasPrefix("KTSX_\($0.code)_") || name.hasPrefix("\($0.code)-") }
}

private func fixtureFiles(_ extensionName: String) -> [URL] {
    ["valid", "invalid"].flatMap { Repository.fixtureFiles(in: $0, extensions: [extensionName]) }
        + Repository.exampleFiles(extensions: [extensionName])
}

@Suite("Oracle parity: verdicts agree with xmllint and frictionless")
struct OracleParityTests {
    @Test("every CSV fixture: same verdict and the same (row, field, code) set as frictionless", arguments: fixtureFiles("csv"))
    func csvFixture(file: URL) throws {
        let report = try validator.get().validate(path: file.path)
        let type = try #require(report.type ?? intendedType(of: file), "\(file.lastPathComponent): no type")
        let schema = Repository.schemas.appendingPathComponent("\(type.code).schema.json")
        let oracle = try Oracles.frictionless(file: file, schema: schema)
        let errors = withoutTrailingBlankRows(oracle.errors, recordCount: report.recordCount)
        #expect(report.isValid == errors.isEmpty, "\(file.lastPathComponent)")
        expectAgreement(report.issues, errors, "\(file.lastPathComponent)")
    }

    @Test("every XML fixture: same verdict as xmllint --schema, first error on the same line", arguments: fixtureFiles("xml"))
    func xmlFixture(file: URL) throws {
        let report = try validator.get().validate(path: file.path)
        let type = try #require(report.type ?? intendedType(of: file), "\(file.lastPathComponent): no type")
        let oracle = try Oracles.xmllint(file: file, schema: Repository.schemas.appendingPathComponent("\(type.code).xsd"))
        // The header's RecordCount is checked beyond the schema (XSD cannot count); leave it out here and
        // check it on its own below.
        let schemaIssues = report.issues.filter { $0.code != .recordCountMismatch }
        #expect(schemaIssues.isEmpty == oracle.valid, "\(file.lastPathComponent): \(schemaIssues.prefix(3))")
        if !oracle.valid {
            #expect(schemaIssues.first?.line == oracle.firstErrorLine, "\(file.lastPathComponent)")
        }
        #expect(report.issues.contains { $0.code == .recordCountMismatch } == file.lastPathComponent.contains("record-count"))
    }

    @Test(
        "header mistakes: the labels frictionless finds wrong, reported once per cause; the rows judged only under a right header",
        arguments: [
            "id,minutes,code,name\nAB12,5,EX,Zoë\nAB13,5\nAB14,5,EX,Zoë,x\n,,,\n",  // matches
            "id,minutes,code\nAB12,5,EX\nAB13,5,EX,Zoë\nAB14\n,,\n",  // a missing column
            "id,minutes,code,name,extra\nAB12,5,EX,Zoë,1\nAB13,5,EX,Zoë\n,,,,\n,,,,x\n",  // an extra column
            "id,Minutes,code,name\nAB12,x,EX,Zoë\n",  // wrong case
            "id,minutes,id,name\nAB12,5,EX,Zoë\n",  // a duplicate label
            "id,,code,name\nAB12,5,EX,Zoë\n",  // a blank label
            " id ,minutes ,code,name\nAB12,5,EX,Zoë\n",  // labels with spaces
            "minutes,id,code,name\n5,AB12,EX,Zoë\n",  // swapped columns
            "id,minutes,code,name\nAB12,5,EX,Zoë\nAB12,6,UX,Zoë\nAB13,5,EXX,Z\nab,5,EXt,Zoë\nAB15x,1,EX,Zo\nQX,1,,Zoë\n",  // rows
        ])
    func headerMistakes(text: String) throws {
        try withTemporaryDirectory { directory in
            let schema = """
                {"fields": [
                  {"name": "id", "type": "string", "constraints": {"required": true, "pattern": "[A-Z]{2}[0-9]{2}|X"}},
                  {"name": "minutes", "type": "integer", "constraints": {"required": true, "maximum": 9}},
                  {"name": "code", "type": "string", "constraints": {"enum": ["EX", "UX"]}},
                  {"name": "name", "type": "string", "constraints": {"minLength": 2}}
                ], "primaryKey": ["id"], "missingValues": [""]}
                """
            let csv = directory.appendingPathComponent("labels.csv")
            let schemaFile = directory.appendingPathComponent("labels.schema.json")
            try text.write(to: csv, atomically: true, encoding: .utf8)
            try schema.write(to: schemaFile, atomically: true, encoding: .utf8)
            var document = CSVDocumentValidator(
                schemas: [.attendance: try TableSchema(json: Array(schema.utf8))], issueLimit: 100_000)
            Array(text.utf8).withUnsafeBytes { document.feed($0) }
            let verdict = document.finish()
            let oracle = try Oracles.frictionless(file: csv, schema: schemaFile)
            let errors = withoutTrailingBlankRows(oracle.errors, recordCount: verdict.recordCount)
            #expect(verdict.type == .attendance)
            #expect(verdict.issues.isEmpty == errors.isEmpty)
            expectAgreement(verdict.issues.issues, errors)
        }
    }

    @Test("cell edge cases: the CSV path and frictionless agree cell by cell")
    func cellEdgeCases() throws {
        try withTemporaryDirectory { directory in
            let schema = """
                {"fields": [
                  {"name": "id", "type": "string", "constraints": {"required": true, "pattern": "[A-Z]{2}[0-9]{2,3}"}},
                  {"name": "minutes", "type": "integer", "constraints": {"minimum": 0, "maximum": 1440}},
                  {"name": "credits", "type": "number", "constraints": {"minimum": 0, "maximum": 9.75}},
                  {"name": "day", "type": "date"},
                  {"name": "at", "type": "time"},
                  {"name": "stamp", "type": "datetime"},
                  {"name": "flag", "type": "boolean", "trueValues": ["true", "1"], "falseValues": ["false", "0"]},
                  {"name": "code", "type": "string", "constraints": {"enum": ["EX", "UX", "UK"], "maxLength": 2}},
                  {"name": "name", "type": "string", "constraints": {"minLength": 2, "maxLength": 5}}
                ], "primaryKey": ["id"], "missingValues": [""]}
                """
            let valid = ["AB12", "10", "1.5", "2026-01-05", "07:45:00", "2026-01-05T10:00:00Z", "true", "EX", "Zoë"]
            let variants: [(Int, String)] = [
                (0, "ab12"), (0, "AB1"), (0, "AB1234"), (0, " AB12"), (0, "AB12\n"), (1, "-1"), (1, "1441"), (1, "1_440"),
                (1, " 7 "), (1, "7.0"), (1, "x"), (2, "9.75"), (2, "9.750001"), (2, "NaN"), (2, "-0"), (2, "1e1"), (2, "inf"),
                (2, "0.5e1"), (3, "2026-2-3"), (3, "2026-02-30"), (3, "2026/01/05"), (4, "7:45:00"), (4, "07:45"),
                (4, "23:59:59.999"), (5, "2026-01-05 10:00:00"), (5, "2026-01-05T10:00:00+05:30"),
                (5, "2026-01-05T10:00"), (6, "TRUE"), (6, "0"), (6, "yes"), (7, "ex"), (7, "XM"), (8, "Z"), (8, "Zoë é"),
                (8, "Zoëééé"), (8, " "),
            ]
            var lines = ["id,minutes,credits,day,at,stamp,flag,code,name"]
            func csvCell(_ value: String) -> String {
                value.contains(where: { ",\"\n\r".contains($0) }) ? "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : value
            }
            for (row, (position, value)) in variants.enumerated() {
                var cells = valid
                cells[0] = position == 0 ? value : "ID\(100 + row)"
                if position != 0 { cells[position] = value }
                lines.append(cells.map(csvCell).joined(separator: ","))
            }
            lines.append("AB12,1,1,2026-01-05,07:45:00,2026-01-05T10:00:00,0,UK,Zoë")  // duplicate key of row 2
            lines.append(",,,,,,,,")
            lines.append("XY99,1")
            lines.append("XY98,1,1,2026-01-05,07:45:00,2026-01-05T10:00:00,0,UK,Zoë,extra")
            let csv = directory.appendingPathComponent("cells.csv")
            let schemaFile = directory.appendingPathComponent("cells.schema.json")
            try (lines.joined(separator: "\n") + "\n").write(to: csv, atomically: true, encoding: .utf8)
            try schema.write(to: schemaFile, atomically: true, encoding: .utf8)

            var document = CSVDocumentValidator(
                schemas: [.attendance: try TableSchema(json: Array(schema.utf8))], issueLimit: 100_000)
            let bytes = try Data(contentsOf: csv)
            bytes.withUnsafeBytes { document.feed($0) }
            let verdict = document.finish()
            let oracle = try Oracles.frictionless(file: csv, schema: schemaFile)
            #expect(verdict.type == .attendance)
            expectAgreement(verdict.issues.issues, oracle.errors)
            #expect(!oracle.errors.isEmpty)
        }
    }
}
