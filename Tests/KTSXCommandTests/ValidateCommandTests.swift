import ExchangeTesting
import Foundation
import Testing

private func ktsx(_ arguments: String...) throws -> ProcessResult {
    try runProcess(Repository.ktsx.path, arguments)
}

private let validFixture = Repository.fixtures.appendingPathComponent("hostile/schema-location.xml").path
private let invalidFixture = Repository.fixtures.appendingPathComponent("hostile/unknown-header.csv").path

@Suite("ktsx validate: exit status and output formats")
struct ValidateCommandTests {
    @Test("exit 0 when every file is valid")
    func valid() throws {
        let result = try ktsx("validate", validFixture)
        #expect(result.status == 0)
        #expect(result.standardOutput.contains("VALID"))
    }

    @Test("exit 1 when any file is invalid, and every file is still reported")
    func invalid() throws {
        let result = try ktsx("validate", validFixture, invalidFixture)
        #expect(result.status == 1)
        #expect(result.standardOutput.contains("schema-location.xml: VALID"))
        #expect(result.standardOutput.contains("unknown-header.csv: INVALID"))
        #expect(result.standardOutput.contains("[unknown-type]"))
    }

    @Test("exit 2 on a file that cannot be read, after reporting the others")
    func unreadable() throws {
        let result = try ktsx("validate", validFixture, "/nonexistent/file.csv")
        #expect(result.status == 2)
        #expect(result.standardError.contains("/nonexistent/file.csv"))
        #expect(result.standardOutput.contains("VALID"))
    }

    @Test("exit 2 on usage errors", arguments: [["validate"], ["validate", "--format", "yaml", "x.csv"], ["frobnicate"]])
    func usage(arguments: [String]) throws {
        let result = try runProcess(Repository.ktsx.path, arguments)
        #expect(result.status == 2, "\(result.standardError)")
        #expect(!result.standardError.isEmpty)
    }

    @Test("--format json prints one array with one object per file, null where a member does not apply")
    func json() throws {
        let result = try ktsx("validate", "--format", "json", validFixture, invalidFixture)
        #expect(result.status == 1)
        let parsed = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: Any]]
        let reports = try #require(parsed)
        #expect(reports.count == 2)
        for report in reports {
            for member in ["file", "type", "binding", "valid", "errorCount", "truncated", "errors"] {
                #expect(report.keys.contains(member), "missing \(member)")
            }
        }
        #expect(reports[0]["valid"] as? Bool == true)
        #expect(reports[0]["type"] as? String == "WVR")
        #expect(reports[1]["type"] is NSNull)
        let errors = try #require(reports[1]["errors"] as? [[String: Any]])
        #expect(errors.first?["code"] as? String == "unknown-type")
        #expect(errors.first?["column"] is NSNull)
        #expect(Set(errors.first?.keys.map { $0 } ?? []) == ["line", "column", "path", "field", "code", "message"])
    }

    @Test("--max-errors caps the list and reports the truncation")
    func maxErrors() throws {
        // Three wrong excuse codes.
        let file = Repository.fixtures.appendingPathComponent("invalid/att-excuse-code-xx.xml").path
        let result = try ktsx("validate", "--format", "json", "--max-errors", "2", file)
        let reports = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: Any]])
        #expect((reports[0]["errors"] as? [Any])?.count == 2)
        #expect(reports[0]["truncated"] as? Bool == true)
        #expect((reports[0]["errorCount"] as? Int ?? 0) > 2)
    }

    @Test("the binary finds its schemas wherever it is started from and wherever it is installed")
    func runsFromAnyDirectory() throws {
        let result = try runProcess(Repository.ktsx.path, ["validate", validFixture], in: URL(fileURLWithPath: "/"))
        #expect(result.status == 0)
        try withTemporaryDirectory { directory in
            let installed = directory.appendingPathComponent("bin/ktsx")
            try FileManager.default.createDirectory(
                at: installed.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: Repository.ktsx, to: installed)
            let moved = try runProcess(installed.path, ["validate", validFixture], in: directory)
            #expect(moved.status == 0, "\(moved.standardError)")
        }
    }
}
