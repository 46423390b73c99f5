import ExchangeCore
import ExchangeTesting
import Foundation
import Testing

/// The review page of the real `ktsx run`, in headless Chromium (Debian's chromium and chromium-driver,
/// driven by `Tests/Browser/review_page.py` through Selenium; `scripts/test.sh` installs them): refused
/// without a login, then a login, a rejected file with its errors beside its rows, and a waiver approved
/// on the page. `KTSX_UPDATE_SCREENSHOTS=1` copies the screenshots to `docs/` for the README.
@Suite("Review page in headless Chromium", .serialized)
struct ReviewPageBrowserTests {
    static let clock = "2027-01-20T16:00:00Z"

    @Test("no login, no page; log in, open a rejection, approve a waiver; log out")
    func browse() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"), FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver")
        else {
            Issue.record("Chromium is not installed: scripts/test.sh installs chromium and chromium-driver")
            return
        }
        try await withTemporaryDirectory { root in
            let scenario = try PlayedScenario(root: root)
            let config = scenario.config
            // A support user, and the page on a free loopback port.
            let password = "a support password for the test"
            let hashed = try runProcess(
                Repository.ktsx.path, ["hash-password", "--user", "support", "--cost", "10"], standardInput: password + "\n")
            #expect(hashed.status == 0, "\(hashed.standardError)")
            try "username,passwordHash\n\(hashed.standardOutput)".write(
                to: config.appendingPathComponent("support-users.csv"), atomically: true, encoding: .utf8)
            let port = try SFTPServer.freePort()
            let settings = try String(contentsOf: config.appendingPathComponent("ktsx.conf"), encoding: .utf8)
            try (settings + "review_address = 127.0.0.1:\(port)\n").write(
                to: config.appendingPathComponent("ktsx.conf"), atomically: true, encoding: .utf8)

            // A waiver request for next year, pending.
            let waiverId = "5d1f3c0a-7b2e-4c55-9a61-0f2b8e6d4c11"
            try """
                recordId,action,centerOrgId,centerName,centerClassification,operatingDistrictNumber,waiverSchoolYear,waiverScope,reasonCode,reasonText,alternateProcess,affectedHomeSchoolOrgIds,submitterName,submitterTitle,submitterEmail,submitterPhone,superintendentApproval,approvalDate,submittedDateTime,priorWaiverId
                \(waiverId),submit,165901,Bluegrass Career and Technical Center,A2,165,2028,FULL_EXCHANGE,ALT_SIS,,Rosters and grades by the district's own SIS export.,,Pat Lee,Principal,pat.lee@example.org,,true,2027-01-14,2027-01-20T09:00:00-05:00,

                """.write(to: root.appendingPathComponent("drop/165901/inbound/KTSX_WVR_165901_20270120T090000_0001.csv"), atomically: true, encoding: .utf8)
            try scenario.ktsx(["run", "--once", "--log-level", "warning"], clock: "2027-01-20T15:00:00Z")

            let service = try scenario.startService(clock: Self.clock)
            defer {
                if service.isRunning {
                    service.terminate()
                    service.waitUntilExit()
                }
            }
            // A file that fails the schema (a month 13, a state ID with a letter), judged by the running service.
            let rejected = try await scenario.dropAndAwait(try PlayedScenario.brokenRoster(), as: "KTSX_ENR_061010_20270120T090000_0001.csv")

            let shots = root.appendingPathComponent("shots")
            try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
            let browser = try runProcess(
                "/usr/bin/env",
                ["python3", Repository.root.appendingPathComponent("Tests/Browser/review_page.py").path, "http://127.0.0.1:\(port)", "support",
                 password, rejected, waiverId, shots.path],
                timeout: 180)
            #expect(browser.status == 0, "\(browser.standardError)")
            let seen = try #require(try JSONSerialization.jsonObject(with: Data(browser.standardOutput.utf8)) as? [String: Any])

            // Without a login: every page sends to the login form, every change is refused.
            let withoutLogin = try #require(seen["withoutLogin"] as? [String: [String: Any]])
            #expect(withoutLogin.count == 10)
            for (page, answer) in withoutLogin {
                if page.hasPrefix("POST ") {
                    #expect(answer["status"] as? Int == 403, "\(page)")
                } else {
                    #expect(answer["status"] as? Int == 303, "\(page)")
                    #expect((answer["location"] as? String)?.hasPrefix("/login?next=") == true, "\(page)")
                }
            }
            // Metrics without a login: counts by type and outcome of this process's files, no names, no files.
            let metrics = try #require(seen["metrics"] as? String)
            #expect(metrics.contains("ktsx_deliveries_waiting "))
            #expect(metrics.contains(#"ktsx_files_total{type="ENR",outcome="REJECTED"} 1"#), "\(metrics)")
            #expect(metrics.contains(#"ktsx_records_total{type="ENR",verdict="rejected"} 27"#))
            #expect(metrics.contains(#"ktsx_claim_to_ack_seconds_count{type="ENR"} 1"#))
            #expect(metrics.contains("ktsx_job_runs_in_progress 0"))
            for secret in ["Adams", "2100000000", "KTSX_ENR", "061010"] { #expect(!metrics.contains(secret), "\(secret)") }
            #expect((seen["beforeLoginUrl"] as? String)?.contains("/login?next=/receipts/") == true)
            #expect(seen["beforeLoginHasRows"] as? Bool == false)
            #expect((seen["afterLoginUrl"] as? String)?.hasSuffix("/receipts/\(rejected)") == true)

            // The rejection: each error beside its row, the header row for context.
            let rejection = try #require(seen["rejection"] as? [String: Any])
            #expect(rejection["outcome"] as? String == "REJECTED")
            let offending = try #require(rejection["offending"] as? [[String: String]])
            #expect(offending.map { $0["line"] } == ["3", "5"])
            #expect(offending[0]["row"]?.contains("2025-13-45") == true)
            #expect(offending.map { $0["faulty"] } == ["2025-13-45", "21000X7919"], "the cell each error names is marked")
            #expect(offending[0]["errors"]?.contains("type-error") == true, "\(offending)")
            #expect(offending[1]["row"]?.contains("21000X7919") == true)
            #expect(offending[1]["errors"]?.contains("ssid") == true, "\(offending)")
            #expect(rejection["context"] as? [String] == ["line-1"])

            // The waiver: pending, then approved on the page, with the decision file named.
            #expect(seen["waiverBefore"] as? String == "pending")
            let after = try #require(seen["waiverAfter"] as? [String: Any])
            #expect(after["status"] as? String == "approved")
            #expect(after["reason"] as? String == "Approved: the district's own SIS export covers every school.")
            #expect((after["page"] as? String)?.contains("KTSX_WVD_165901_") == true)
            #expect(after["formLeft"] as? Bool == false)
            let decisions = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("drop/165901/outbound").path)
                .filter { $0.hasPrefix("KTSX_WVD_165901_2027") }
            #expect(decisions.count == 1)
            #expect((seen["afterLogoutUrl"] as? String)?.contains("/login") == true)

            for name in ["review-rejection.png", "review-waiver.png"] {
                let shot = shots.appendingPathComponent(name)
                let size = (try FileManager.default.attributesOfItem(atPath: shot.path)[.size] as? Int) ?? 0
                #expect(size > 10_000, "\(name) is \(size) bytes")
                if ProcessInfo.processInfo.environment["KTSX_UPDATE_SCREENSHOTS"] == "1" {
                    let target = Repository.root.appendingPathComponent("docs/\(name)")
                    try? FileManager.default.removeItem(at: target)
                    try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try FileManager.default.copyItem(at: shot, to: target)
                }
            }
        }
    }
}

