import ExchangeCore
import ExchangeTesting
import ExchangeValidation
import Foundation
import Testing

private let invalidFixtures = Repository.fixtureFiles(in: "invalid", extensions: ["xml", "csv"])

@Suite("Golden reports: each invalid fixture's errors, messages included")
struct GoldenReportTests {
    @Test("the JSON report equals the checked-in golden (regenerate with tools/update_goldens.sh)", arguments: invalidFixtures)
    func golden(file: URL) throws {
        let golden = file.appendingPathExtension("expected.json")
        let expected = try String(contentsOf: golden, encoding: .utf8)
        let report = try FileValidator().validate(path: file.path, displayName: file.lastPathComponent)
        #expect(!report.isValid)
        #expect(ReportRenderer.json([report]) == expected)
    }

    @Test(
        "every valid fixture and specification example is valid, with its records counted",
        arguments: Repository.fixtureFiles(in: "valid", extensions: ["xml", "csv"])
            + Repository.exampleFiles(extensions: ["xml", "csv"]))
    func valid(file: URL) throws {
        let report = try FileValidator().validate(path: file.path)
        #expect(report.isValid, "\(report.issues.prefix(3))")
        #expect(report.type != nil)
        #expect(report.recordCount > 0)
    }

    @Test("no message repeats a value of a student-data field")
    func noStudentDataInMessages() throws {
        // Fixtures whose planted mistakes are in student-data fields: a bad SSID, a bad birth date.
        for name in ["att-ssid-9-digits.csv", "enr-ssid-9-digits.xml", "enr-birth-date-feb29.csv"] {
            let file = Repository.fixtures.appendingPathComponent("invalid/\(name)")
            let report = try FileValidator().validate(path: file.path)
            let sensitive = report.issues.filter { ["ssid", "birthDate"].contains($0.field ?? "") }
            #expect(!sensitive.isEmpty, "\(name)")
            for issue in sensitive {
                #expect(!issue.message.contains("'"), "\(name): \(issue.message)")
                #expect(issue.message.range(of: #"[0-9]{4}"#, options: .regularExpression) == nil, "\(issue.message)")
            }
        }
    }
}
