import ExchangeCore
import ExchangeTesting
import ExchangeValidation
import Foundation
import Testing

/// Spreadsheet mistakes as clerks make them, on a valid enrollment file whose first record carries marked
/// student values: each is named once, in words, with the field and the fix, and no message repeats a
/// student's name, birth date or state ID (issue 18).
@Suite("Messages a clerk can act on: spreadsheet mistakes named, no student data repeated")
struct ClerkMessageTests {
    static let validator = Result { try FileValidator(issueLimit: 1_000) }
    /// The marked record's student values: none may appear in any message.
    static let marked = (ssid: "0123456789", lastName: "Zzmarked", firstName: "Qqmarked", birthDate: "2009-07-23")

    /// The valid CSV enrollment file, its first record's student values replaced by the marked ones (the
    /// header's byte order mark and the rows with quoted values left out).
    static func enrollmentLines() throws -> [String] {
        let text = try String(contentsOf: Repository.fixtures.appendingPathComponent("valid/KTSX_ENR_061010_20250929T073000_0002.csv"), encoding: .utf8)
        // "\r\n" is one Character: line breaks are made plain before splitting.
        var lines = text.replacingOccurrences(of: "\u{FEFF}", with: "").replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n")
        var cells = lines[1].components(separatedBy: ",")
        let header = lines[0].components(separatedBy: ",")
        cells[header.firstIndex(of: "ssid")!] = marked.ssid
        cells[header.firstIndex(of: "lastName")!] = marked.lastName
        cells[header.firstIndex(of: "firstName")!] = marked.firstName
        cells[header.firstIndex(of: "birthDate")!] = marked.birthDate
        lines[1] = cells.joined(separator: ",")
        // Rows with quoted values are left out: the tests edit rows by splitting them at commas.
        return lines.filter { !$0.isEmpty && !$0.contains("\"") }
    }

    static func column(_ name: String, in lines: [String]) -> Int { lines[0].components(separatedBy: ",").firstIndex(of: name)! }

    static func validate(_ lines: [String], separator: String = "\r\n") throws -> ValidationReport {
        try validate(bytes: Array((lines.joined(separator: separator) + separator).utf8))
    }

    static func validate(bytes: [UInt8]) throws -> ValidationReport {
        let validator = try Self.validator.get()
        return bytes.withUnsafeBytes { validator.validate(bytes: $0, displayName: "KTSX_ENR_061010_20251001T070000_0001.csv") }
    }

    /// Fails on any message that repeats a marked student value (or the marked state ID without its
    /// leading zero).
    static func expectNoStudentData(_ report: ValidationReport, sourceLocation: SourceLocation = #_sourceLocation) {
        let values = [marked.ssid, String(marked.ssid.dropFirst()), marked.lastName, marked.firstName, marked.birthDate]
        for issue in report.issues {
            for value in values {
                #expect(!issue.message.contains(value), "\(issue.code) repeats a student value: \(issue.message)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test("a comma inside lastName: one error on the row, naming lastName and the quotes, no per-field knock-ons")
    func commaInsideAName() throws {
        var lines = try Self.enrollmentLines()
        lines[1] = lines[1].replacingOccurrences(of: ",\(Self.marked.lastName),", with: ",\(Self.marked.lastName), Jr.,")
        let report = try Self.validate(lines)
        #expect(report.issues.count == 1, "\(report.issues.map(\.message))")
        let issue = try #require(report.issues.first)
        #expect(issue.code == .extraCell)
        #expect(issue.field == "lastName" && issue.column == Self.column("lastName", in: lines) + 1, "the column to look at")
        #expect(issue.line == 2)
        #expect(issue.message.contains("lastName") && issue.message.contains("double quotes"), "\(issue.message)")
        Self.expectNoStudentData(report)
    }

    @Test("a row cut short: one missing-cell error naming the first column without a value")
    func rowCutShort() throws {
        var lines = try Self.enrollmentLines()
        lines[2] = lines[2].components(separatedBy: ",").dropLast(2).joined(separator: ",")
        let report = try Self.validate(lines)
        #expect(report.issues.map(\.code) == [.missingCell], "\(report.issues.map(\.message))")
        #expect(report.issues.first?.field == "attemptedCredits")
        #expect(report.issues.first?.line == 3)
    }

    @Test("a column left out of the header and the rows: one error, naming it, and no row judged under the wrong names",
          arguments: ["middleName", "ssid"])
    func columnLeftOut(name: String) throws {
        let lines = try Self.enrollmentLines()
        let column = Self.column(name, in: lines)
        let cut = lines.map { line in
            var cells = line.components(separatedBy: ",")
            cells.remove(at: column)
            return cells.joined(separator: ",")
        }
        let report = try Self.validate(cut)
        #expect(report.issues.map(\.code) == [.missingLabel], "\(report.issues.map(\.message))")
        #expect(report.issues.first?.field == name && report.issues.first?.column == column + 1)
        #expect(report.recordCount == lines.count - 1)
    }

    @Test("no header row: the first line is named as data, never quoted")
    func noHeaderRow() throws {
        let lines = Array(try Self.enrollmentLines().dropFirst())
        let report = try Self.validate(lines)
        #expect(report.issues.map(\.code) == [.unknownType])
        #expect(report.issues.first?.message.contains("not a header row") == true, "\(report.issues.map(\.message))")
        Self.expectNoStudentData(report)
    }

    @Test("values separated by semicolons or tabs: the separator is named, with the spreadsheet setting", arguments: [";", "\t"])
    func otherSeparators(separator: String) throws {
        let lines = try Self.enrollmentLines().map { $0.replacingOccurrences(of: ",", with: separator) }
        let report = try Self.validate(lines)
        #expect(report.issues.map(\.code) == [.unknownType])
        let message = report.issues.first?.message ?? ""
        #expect(message.contains(separator == ";" ? "semicolons" : "tabs") && message.contains("CSV UTF-8"), "\(message)")
        Self.expectNoStudentData(report)
    }

    @Test("leading zeros a spreadsheet dropped: named as such, the digits never repeated")
    func lostLeadingZeros() throws {
        var lines = try Self.enrollmentLines()
        var cells = lines[1].components(separatedBy: ",")
        cells[Self.column("ssid", in: lines)] = String(Self.marked.ssid.dropFirst())
        cells[Self.column("homeSchoolOrgId", in: lines)] = "61010"
        lines[1] = cells.joined(separator: ",")
        let report = try Self.validate(lines)
        #expect(Set(report.issues.compactMap(\.field)) == ["ssid", "homeSchoolOrgId"], "\(report.issues.map(\.message))")
        for issue in report.issues {
            #expect(issue.message.contains("1 too few") && issue.message.contains("dropped the zero") && issue.message.contains("copy the values again"), "\(issue.message)")
            #expect(!issue.message.contains("[0-9]"), "no pattern in a clerk's message: \(issue.message)")
        }
        Self.expectNoStudentData(report)
    }

    @Test("saved as \"CSV\" rather than \"CSV UTF-8\": the line, the field and the setting")
    func notUTF8() throws {
        var bytes = Array((try Self.enrollmentLines().joined(separator: "\r\n") + "\r\n").utf8)
        // lastName ends in é written as Windows-1252 (0xE9) on the marked row.
        let name = Array((Self.marked.lastName + ",").utf8)
        let at = try #require((0...(bytes.count - name.count)).first { Array(bytes[$0..<($0 + name.count)]) == name })
        bytes.insert(0xE9, at: at + name.count - 1)
        let report = try Self.validate(bytes: bytes)
        #expect(report.issues.map(\.code) == [.encodingError], "\(report.issues.map(\.message))")
        let issue = try #require(report.issues.first)
        #expect(issue.field == "lastName" && issue.line == 2)
        #expect(issue.message.contains("CSV UTF-8"), "\(issue.message)")
        Self.expectNoStudentData(report)
    }

    @Test("empty rows and columns a spreadsheet leaves after the data are ignored; an empty row between rows is not")
    func spreadsheetLeftovers() throws {
        let lines = try Self.enrollmentLines()
        let columns = lines[0].components(separatedBy: ",").count
        let commas = String(repeating: ",", count: columns - 1)
        // Rows of only commas, and an empty line, after the last row.
        let trailing = try Self.validate(lines + [commas, commas, ""])
        #expect(trailing.isValid, "\(trailing.issues.map(\.message))")
        #expect(trailing.recordCount == lines.count - 1)
        // Two empty columns after the last: an empty header label and empty cells in every row (some rows
        // without them).
        var widened = lines.map { $0 + ",," }
        widened[2] = lines[2]
        let columnsLeft = try Self.validate(widened + [commas + ",,"])
        #expect(columnsLeft.isValid, "\(columnsLeft.issues.map(\.message))")
        #expect(columnsLeft.recordCount == lines.count - 1)
        // A value under an empty column is not ignored.
        widened[3] = lines[3] + ",x,"
        let valueThere = try Self.validate(widened)
        #expect(valueThere.issues.map(\.code) == [.extraCell] && valueThere.issues.first?.line == 4, "\(valueThere.issues.map(\.message))")
        // An empty row between rows is an error, once.
        var inside = lines
        inside.insert(commas, at: 2)
        let between = try Self.validate(inside + [commas])
        #expect(between.issues.map(\.code) == [.blankRow] && between.issues.first?.line == 3, "\(between.issues.map(\.message))")
        #expect(between.recordCount == lines.count)
    }

    @Test("quoting: a stray quote names its column and the record; a quote left open names the lines it swallowed")
    func quoting() throws {
        let lines = try Self.enrollmentLines()
        let (last, first) = (Self.column("lastName", in: lines), Self.column("firstName", in: lines))
        func edited(_ line: Int, _ column: Int, _ change: (String) -> String) -> [String] {
            var copy = lines
            var cells = copy[line].components(separatedBy: ",")
            cells[column] = change(cells[column])
            copy[line] = cells.joined(separator: ",")
            return copy
        }
        let recordId = lines[1].components(separatedBy: ",")[0]
        // A quote inside an unquoted value.
        let stray = try Self.validate(edited(1, last) { $0 + "\"s" })
        #expect(stray.issues.map(\.code) == [.csvSyntax], "\(stray.issues.map(\.message))")
        let issue = try #require(stray.issues.first)
        #expect(issue.field == "lastName" && issue.column == last + 1 && issue.line == 2 && issue.recordKey == recordId, "\(issue)")
        Self.expectNoStudentData(stray)
        // A quote opened on line 3 and closed by a quote on line 5: lines 3 to 5 become one record.
        var swallowed = edited(2, last) { "\"" + $0 }
        var cells = swallowed[4].components(separatedBy: ",")
        cells[first] += "\""
        swallowed[4] = cells.joined(separator: ",")
        let merged = try Self.validate(swallowed)
        #expect(merged.issues.count == 1, "\(merged.issues.map(\.message))")
        let open = try #require(merged.issues.first)
        #expect(open.field == "lastName" && open.line == 3, "\(open)")
        #expect(open.message.contains("opens a quote on this line") && open.message.contains("closed only 2 lines further down"), "\(open.message)")
        // A quote never closed: the rest of the file is one value.
        let unclosed = try Self.validate(edited(2, last) { "\"" + $0 })
        #expect(unclosed.issues.map(\.code) == [.csvSyntax], "\(unclosed.issues.map(\.message))")
        #expect(unclosed.issues.first?.field == "lastName" && unclosed.issues.first?.message.contains("never closed") == true)
        Self.expectNoStudentData(unclosed)
    }

    /// The valid XML enrollment file, edited by `edit`, judged.
    static func validateXML(_ edit: (String) -> String) throws -> ValidationReport {
        let url = Repository.fixtures.appendingPathComponent("valid/KTSX_ENR_165020_20250811T153000_0001.xml")
        let text = edit(try String(contentsOf: url, encoding: .utf8))
        let validator = try Self.validator.get()
        return Array(text.utf8).withUnsafeBytes { validator.validate(bytes: $0, displayName: url.lastPathComponent) }
    }

    static let firstRecordId = "1c84920b-1b16-4d9b-8ea3-2066582b09d4"

    @Test("XML: a required element left out is named missing, on the record's key, not the next element as unexpected")
    func xmlMissingElement() throws {
        let report = try Self.validateXML { $0.replacingOccurrences(of: "    <Ssid>6233483894</Ssid>\n", with: "", options: [], range: nil) }
        #expect(!report.issues.isEmpty)
        let first = try #require(report.issues.first)
        #expect(first.code == .missingElement, "\(first.message)")
        #expect(first.field == "ssid" && first.path == "/KtsxEnrollmentFile/Enrollment[1]/Ssid", "\(first)")
        #expect(first.recordKey == Self.firstRecordId)
        #expect(first.message.hasPrefix("Ssid is missing"), "\(first.message)")
    }

    @Test("XML: an empty required element says to give it a value, not to leave it out")
    func xmlEmptyRequired() throws {
        let report = try Self.validateXML { text in
            var text = text
            text.replaceSubrange(text.range(of: "<LastName>Hall</LastName>")!, with: "<LastName></LastName>")
            return text
        }
        let issue = try #require(report.issues.first)
        #expect(issue.field == "lastName" && issue.recordKey == Self.firstRecordId)
        #expect(issue.message.contains("it is required") && !issue.message.contains("leave the element out"), "\(issue.message)")
    }

    @Test("XML: an element the format does not have is said once, as such, however many records carry it")
    func xmlUnknownElementOnce() throws {
        let report = try Self.validateXML { $0.replacingOccurrences(of: "</LastModified>\n", with: "</LastModified>\n    <SyncType>full</SyncType>\n") }
        #expect(report.issues.map(\.code) == [.unexpectedElement], "\(report.issues.map(\.message))")
        #expect(report.issues.first?.message.hasPrefix("SyncType is not an element of the exchange format") == true, "\(report.issues.map(\.message))")
    }

    @Test("XML: an element name in the wrong case or misspelt is named with its right spelling, not to be removed")
    func xmlMisspeltElement() throws {
        for (wrong, right) in [("Firstname", "FirstName"), ("Frstname", "FirstName")] {
            let report = try Self.validateXML {
                $0.replacingOccurrences(of: "<FirstName>", with: "<\(wrong)>").replacingOccurrences(of: "</FirstName>", with: "</\(wrong)>")
            }
            let first = try #require(report.issues.first)
            #expect(first.message.contains("it is written \(right)") && !first.message.contains("Remove it"), "\(first.message)")
            #expect(first.field == "firstName")
            #expect(report.issues.filter { $0.message.hasPrefix(wrong) }.count == 1, "\(report.issues.map(\.message))")
        }
    }

    @Test("a recordId in another form is not repeated (it is likely another column's value) and the export is named")
    func recordIdInAnotherForm() throws {
        var lines = try Self.enrollmentLines()
        lines[1] = Self.marked.lastName + lines[1].drop { $0 != "," }
        let report = try Self.validate(lines)
        let issue = try #require(report.issues.first { $0.field == "recordId" })
        #expect(issue.message.contains("another column's value"), "\(issue.message)")
        #expect(report.issues.allSatisfy { $0.recordKey == nil }, "a name given as the record's key")
        Self.expectNoStudentData(report)
    }

    @Test("XML: a header element left out is named missing, not the next one as unexpected")
    func xmlMissingHeaderElement() throws {
        let report = try Self.validateXML { $0.replacingOccurrences(of: "    <RecordCount>193</RecordCount>\n", with: "") }
        let first = try #require(report.issues.first)
        #expect(first.code == .missingElement && first.field == "recordCount", "\(first)")
        #expect(first.message.hasPrefix("RecordCount is missing"), "\(first.message)")
    }

    @Test("XML: an empty optional element with a form says it is empty and optional, quoting no ''")
    func xmlEmptyOptionalPatterned() throws {
        let report = try Self.validateXML { text in
            var text = text
            text.replaceSubrange(text.range(of: "<Periods>1;2;3</Periods>")!, with: "<Periods></Periods>")
            return text
        }
        let issue = try #require(report.issues.first)
        #expect(issue.field == "periods" && issue.message.contains("is empty") && issue.message.contains("optional"), "\(issue.message)")
        #expect(!issue.message.contains("''"))
    }

    @Test("not a text file, or not an exchange file: what it is, in words, and what to send instead")
    func notAnExchangeFile() throws {
        let cases: [([UInt8], String)] = [
            ([0x50, 0x4B, 0x03, 0x04, 0x14, 0x00] + Array(repeating: 0x41, count: 80), "Excel workbook"),
            ([0x1F, 0x8B, 0x08, 0x00] + Array(repeating: 0x41, count: 80), "compressed"),
            (Array("<!DOCTYPE html>\n<html><body>Service unavailable</body></html>\n".utf8), "web page"),
            (Array("<html><body>Service unavailable</body></html>\n".utf8), "web page"),
            ([0x42, 0x4D, 0x36, 0x10, 0x0E, 0x00, 0x01, 0x02, 0xC8, 0xFE, 0x03] + Array(repeating: 0x41, count: 80), "not a text file"),
            (Array("<?xml version=\"1.0\"?>\n<KtsxEnrollmentFile><Header/></KtsxEnrollmentFile>\n".utf8), "vendor"),
        ]
        for (bytes, words) in cases {
            let report = try Self.validate(bytes: bytes)
            #expect(report.issues.count == 1 && report.issues.first?.message.contains(words) == true, "\(report.issues.map(\.message))")
        }
        // A zero byte in a CSV row (UTF-16 text, a workbook's bytes).
        var lines = try Self.enrollmentLines()
        lines[2] = lines[2].replacingOccurrences(of: ",add,", with: ",a\u{0}dd,")
        let zero = try Self.validate(lines)
        #expect(zero.issues.map(\.code) == [.encodingError] && zero.issues.first?.message.contains("Export it again") == true, "\(zero.issues.map(\.message))")
    }

    @Test("XML: an unescaped & and a cut-off file are told in words, with no count error after them")
    func xmlNotWellFormed() throws {
        let ampersand = try Self.validateXML { $0.replacingOccurrences(of: "KTS roster export", with: "KTS roster & export") }
        #expect(ampersand.issues.map(\.code) == [.notWellFormed], "\(ampersand.issues.map(\.message))")
        #expect(ampersand.issues.first?.message.contains("&amp;") == true, "\(ampersand.issues.map(\.message))")
        let cut = try Self.validateXML { String($0.prefix($0.count / 2)) }
        #expect(cut.issues.map(\.code) == [.notWellFormed], "\(cut.issues.map(\.message))")
        #expect(cut.issues.first?.message.contains("cut off") == true, "\(cut.issues.map(\.message))")
        // Cut inside a start tag: not also "LastNa is not allowed here".
        let inTag = try Self.validateXML { text in String(text[..<text.range(of: "<LastName>Hall")!.lowerBound]) + "<LastNa" }
        #expect(inTag.issues.map(\.code) == [.notWellFormed], "\(inTag.issues.map(\.message))")
    }

    @Test("XML: a < inside a name never turns the name into an element name in a message or a path")
    func xmlLessThanInAName() throws {
        for value in ["Hall <Zzmarked>x</Zzmarked>", "Hall <Zzmarked x"] {
            let report = try Self.validateXML { $0.replacingOccurrences(of: "<LastName>Hall</LastName>", with: "<LastName>\(value)</LastName>") }
            #expect(!report.issues.isEmpty)
            for issue in report.issues {
                #expect(!issue.message.contains("Zzmarked") && !(issue.path ?? "").contains("Zzmarked"), "\(issue)")
            }
        }
    }

    @Test("CSV: a row's errors carry its recordId as the record key")
    func csvRecordKey() throws {
        var lines = try Self.enrollmentLines()
        var cells = lines[1].components(separatedBy: ",")
        cells[Self.column("gradeLevel", in: lines)] = "14"
        lines[1] = cells.joined(separator: ",")
        let report = try Self.validate(lines)
        #expect(report.issues.count == 1)
        #expect(report.issues.first?.recordKey == cells[0] && report.issues.first?.field == "gradeLevel")
    }

    @Test("XML: a state ID that lost its leading zero is named as such, not repeated")
    func xmlLostLeadingZero() throws {
        let url = Repository.fixtures.appendingPathComponent("valid/KTSX_ENR_165020_20250811T153000_0001.xml")
        var text = try String(contentsOf: url, encoding: .utf8)
        let ssid = try #require(text.firstMatch(of: #/<Ssid>([0-9]{10})</Ssid>/#)).output.1
        text = text.replacingOccurrences(of: "<Ssid>\(ssid)</Ssid>", with: "<Ssid>\(ssid.dropFirst())</Ssid>")
        let validator = try Self.validator.get()
        let report = Array(text.utf8).withUnsafeBytes { validator.validate(bytes: $0, displayName: url.lastPathComponent) }
        #expect(!report.issues.isEmpty)
        for issue in report.issues {
            #expect(issue.field == "ssid")
            #expect(issue.message.contains("dropped the zero"), "\(issue.message)")
            #expect(!issue.message.contains(String(ssid.dropFirst())), "\(issue.message)")
        }
    }
}
