import ExchangeCore
import ExchangeLedgerSQLite
import ExchangeTesting
import Foundation
import Testing

/// A participant's own pages on the real `ktsx run`, in headless Chromium (`Tests/Browser/participant_pages.py`):
/// the golden scenario's week played, clerks made with `ktsx hash-password --org`, then a high school's clerk
/// sees its files and a rejection beside its rows, checks a file before sending, opens the week's attendance
/// report and exports it; a center's clerk sees its roster; and each walks every route of the site with the
/// other organisations' ids, finding none of their data. `KTSX_UPDATE_SCREENSHOTS=1` copies the screenshots
/// to `docs/`.
@Suite("A participant's pages in headless Chromium", .serialized)
struct ParticipantPagesBrowserTests {
    static let clock = "2026-01-16T22:00:00Z"

    @Test("a high school's clerk and a center's clerk, each on its own pages only")
    func browse() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"), FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver")
        else {
            Issue.record("Chromium is not installed: scripts/test.sh installs chromium and chromium-driver")
            return
        }
        try await withTemporaryDirectory { root in
            let scenario = try PlayedScenario(root: root)
            let config = scenario.config
            let clerks = [("clerk.ridgeline", "061010", "a clerk's password for the test"), ("clerk.center", "061014", "another clerk's password here")]
            for (user, org, password) in clerks {
                let made = try runProcess(
                    Repository.ktsx.path, ["hash-password", "--user", user, "--org", org, "--cost", "10", "--config", config.path],
                    standardInput: password + "\n")
                #expect(made.status == 0, "\(made.standardError)")
            }
            let port = try SFTPServer.freePort()
            let settings = try String(contentsOf: config.appendingPathComponent("ktsx.conf"), encoding: .utf8)
            try (settings + "review_address = 127.0.0.1:\(port)\n").write(
                to: config.appendingPathComponent("ktsx.conf"), atomically: true, encoding: .utf8)

            let service = try scenario.startService(clock: Self.clock)
            defer {
                if service.isRunning {
                    service.terminate()
                    service.waitUntilExit()
                }
            }
            // A roster that fails the schema (a month 13, a state ID with a letter), judged by the running service,
            // and the same bytes kept aside to be checked on the page.
            let name = "KTSX_ENR_061010_20260116T170000_0001.csv"
            let broken = try PlayedScenario.brokenRoster()
            let checkFile = root.appendingPathComponent("to-check/\(name)")
            try FileManager.default.createDirectory(at: checkFile.deletingLastPathComponent(), withIntermediateDirectories: true)
            try broken.write(to: checkFile, atomically: true, encoding: .utf8)
            let rejected = try await scenario.dropAndAwait(broken, as: name)

            // What is whose: receipts by sender, the students each center has enrolled, the files in each outbound/.
            let ledger = try SQLiteLedger(path: root.appendingPathComponent("state/ledger.sqlite").path)
            let receipts = try await ledger.allReceipts()
            func outbound(_ org: String) throws -> [String] {
                try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("drop/\(org)/outbound").path).filter { !$0.hasPrefix(".") }.sorted()
            }
            func enrolled(at center: String) async throws -> Set<String> {
                Set(try await ledger.heldRecords(.enrollment, recipientOrgId: center, datedFrom: "", through: "9999-12-31").map { $0["ssid"] })
            }
            func schoolStudents(_ school: String) async throws -> Set<String> {
                var students = Set<String>()
                for center in ["061014", "165901"] {
                    students.formUnion(try await ledger.heldRecords(.enrollment, recipientOrgId: center, datedFrom: "", through: "9999-12-31").filter { $0.senderOrgId == school }.map { $0["ssid"] })
                }
                return students
            }
            let waivers = try await ledger.allWaivers().map(\.id)
            let routes = try String(contentsOf: Repository.root.appendingPathComponent("Tests/HostileClient/routes.txt"), encoding: .utf8)
                .split(separator: "\n").filter { $0.hasPrefix("GET ") }.map { String($0.dropFirst(4)) }
            /// Every GET route with `ids` of the other organisations filled in (each kind, a few of each).
            func foreignURIs(receipts: [String], files: [String], orgs: [String]) -> [String] {
                routes.flatMap { route -> [String] in
                    if route.contains("{org}") {
                        return orgs.map { route.replacingOccurrences(of: "{org}", with: $0) }
                            .map { $0.replacingOccurrences(of: "{id}", with: receipts.first ?? "x").replacingOccurrences(of: "{name}", with: files.first ?? "x") }
                    }
                    if route.contains("/waivers/{id}") { return waivers.map { route.replacingOccurrences(of: "{id}", with: $0) } }
                    if route.contains("{id}") { return receipts.prefix(4).map { route.replacingOccurrences(of: "{id}", with: $0) } }
                    if route.contains("{name}") { return files.prefix(4).map { route.replacingOccurrences(of: "{name}", with: $0.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? $0) } }
                    return [route]
                }
            }
            let notFrom = { (orgs: Set<String>) in receipts.filter { !orgs.contains($0.senderOrgId) } }
            // The high school: nothing of the other school's (its files, its students), nor of the centers' files.
            let schoolOwn = try await schoolStudents("061010")
            let schoolForeign = notFrom(["061010"])
            // (A file routed to several receivers has the same name in each one's folder: only the others' own names count.)
            let schoolForbidden = schoolForeign.flatMap { [$0.id, $0.originalName] } + Set(try outbound("061020")).subtracting(try outbound("061010"))
                + (try await schoolStudents("061020")).subtracting(schoolOwn)
            // The center: nothing of the other center's files or students, nor of the schools' own files.
            let centerOwn = try await enrolled(at: "061014")
            let centerForeign = notFrom(["061014"])
            let centerForbidden = centerForeign.flatMap { [$0.id, $0.originalName] }
                + Set(try outbound("061010") + outbound("165901")).subtracting(try outbound("061014"))
                + (try await enrolled(at: "165901")).subtracting(centerOwn)
            #expect(schoolForbidden.count > 20 && centerForbidden.count > 20)
            let plan: [String: Any] = [
                "base": "http://127.0.0.1:\(port)", "school": ["user": clerks[0].0, "password": clerks[0].2],
                "center": ["user": clerks[1].0, "password": clerks[1].2], "schoolOrgId": "061010", "rejected": rejected,
                "checkFile": checkFile.path, "week": ["from": "2026-01-12", "to": "2026-01-16"], "rosterDay": "2026-01-16",
                "foreign": [
                    "school": foreignURIs(receipts: schoolForeign.map(\.id), files: try outbound("061020"), orgs: ["061020", "061014"]),
                    "center": foreignURIs(receipts: centerForeign.map(\.id), files: try outbound("061010") + outbound("165901"), orgs: ["165901", "061010"]),
                ],
                "forbidden": ["school": schoolForbidden, "center": centerForbidden],
                "downloads": root.appendingPathComponent("downloads").path, "shots": root.appendingPathComponent("shots").path,
            ]
            for folder in ["downloads", "shots"] {
                try FileManager.default.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
            }
            let planFile = root.appendingPathComponent("plan.json")
            try JSONSerialization.data(withJSONObject: plan).write(to: planFile)
            let browser = try runProcess(
                "/usr/bin/env", ["python3", Repository.root.appendingPathComponent("Tests/Browser/participant_pages.py").path, planFile.path],
                timeout: 300)
            #expect(browser.status == 0, "\(browser.standardError)")
            let seen = try #require(try JSONSerialization.jsonObject(with: Data(browser.standardOutput.utf8)) as? [String: Any])

            // The high school's clerk: its home, its nav, its rejection beside its rows with what the codes mean.
            #expect((seen["schoolLanding"] as? String)?.hasSuffix("/my") == true)
            #expect(seen["schoolNav"] as? [String] == ["Home", "Files sent", "Outbound", "Attendance", "Check a file"])
            #expect((seen["homeCharts"] as? [String])?.count == 3)
            #expect((seen["submissions"] as? [String])?.contains { $0.contains(name) && $0.contains("REJECTED") } == true)
            let rejection = try #require(seen["rejection"] as? [String: Any])
            #expect(rejection["outcome"] as? String == "REJECTED")
            #expect(rejection["offending"] as? [String] == ["line-3", "line-5"])
            #expect(rejection["faulty"] as? [String] == ["2025-13-45", "21000X7919"])
            #expect((rejection["help"] as? String)?.contains("What to do:") == true)
            // The same file checked before sending: the same verdict, beside the same rows.
            let check = try #require(seen["check"] as? [String: Any])
            #expect(check["outcome"] as? String == "REJECTED")
            #expect(check["offending"] as? [String] == ["line-3", "line-5"])
            // The week's attendance, on the page and exported: the same records, the unknown absences marked.
            let attendance = try #require(seen["attendance"] as? [String: Any])
            let export = try #require(seen["export"] as? [String: Any])
            #expect((attendance["students"] as? Int ?? 0) > 0)
            #expect(export["header"] as? [String] == ["attendanceDate", "ssid", "localStudentNumber", "lastName", "firstName", "techCenterOrgId", "ktsCourseNumber", "sectionNumber", "granularity", "periodCode", "attendanceStatus", "excuseStatus", "unknownExcuse", "absentMinutes", "arrivalTime", "departureTime", "recordedDateTime"])
            let exported = export["rows"] as? Int ?? 0
            #expect(exported > 0)
            #expect((attendance["totals"] as? String)?.hasPrefix("\(exported) record(s)") == true, "\(attendance)")
            #expect(export["unknown"] as? Int == attendance["unknown"] as? Int)
            let report = try runProcess(
                Repository.ktsx.path, ["attendance-report", "--config", config.path, "--school", "061010", "--from", "2026-01-12", "--to", "2026-01-16"],
                environment: ["KTSX_CLOCK_START": Self.clock])
            #expect(report.status == 0, "\(report.standardError)")
            #expect(report.standardOutput.split(whereSeparator: \.isNewline).count - 1 == exported, "the page's export and ktsx attendance-report agree")

            // The center's clerk: its roster.
            #expect(seen["centerNav"] as? [String] == ["Home", "Files sent", "Outbound", "Roster", "Check a file"])
            let roster = try #require(seen["roster"] as? [String: Any])
            #expect((roster["summary"] as? String)?.hasPrefix("2026-01-16 is an instructional day:") == true, "\(roster)")
            #expect((roster["students"] as? Int ?? 0) > 0 && (roster["sections"] as? Int ?? 0) > 0)

            // Neither reached the other organisations' data by any URL the site has.
            for who in ["schoolWalk", "centerWalk"] {
                let walk = try #require(seen[who] as? [String: Any])
                #expect((walk["pages"] as? Int ?? 0) > 30, "\(who)")
                #expect((walk["leaks"] as? [String])?.isEmpty == true, "\(who): \(walk["leaks"] ?? [])")
            }

            for shot in ["participant-home.png", "participant-rejection.png", "participant-check.png", "participant-attendance.png", "participant-roster.png"] {
                let file = root.appendingPathComponent("shots/\(shot)")
                let size = (try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
                #expect(size > 10_000, "\(shot) is \(size) bytes")
                if ProcessInfo.processInfo.environment["KTSX_UPDATE_SCREENSHOTS"] == "1" {
                    let target = Repository.root.appendingPathComponent("docs/\(shot)")
                    try? FileManager.default.removeItem(at: target)
                    try FileManager.default.copyItem(at: file, to: target)
                }
            }
        }
    }
}
