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
