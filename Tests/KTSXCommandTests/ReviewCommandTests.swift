import ExchangeCore
import ExchangeLedgerSQLite
import ExchangeTesting
import Foundation
import Testing

/// The review commands on a ledger built by the golden scenario (played through the real binary).
@Suite("Review commands: status, submissions, show, reprocess, deliveries, participants")
struct ReviewCommandTests {
    static let afterWeek = "2026-01-16T22:00:00Z"
    static let enrollmentFile = "KTSX_ENR_061010_20260112T070000_0001.csv"

    @Test("status: the service's last pass, the backlog, the latest job runs and each participant's last file")
    func status() async throws {
        try withTemporaryDirectory { root in
            let scenario = try PlayedScenario(root: root)
            // The last `run --once` of the scenario ran at 2026-03-05T15:00Z (its heartbeat); a minute later it counts as running.
            let view = try #require(try scenario.json(["status"], clock: "2026-03-05T15:00:30Z") as? [String: Any])
            let service = try #require(view["service"] as? [String: Any])
            #expect(service["running"] as? Bool == true)
            let backlog = try #require(view["backlog"] as? [String: Any])
            #expect(backlog["waitingInInbound"] as? Int == 0)
            #expect(backlog["receiptsInProgress"] as? Int == 0)
            let participants = try #require(view["participants"] as? [[String: Any]])
            #expect(participants.map { $0["orgId"] as? String } == ["061010", "061014", "061020", "165020", "165901"])
            let center = try #require(participants.first { $0["orgId"] as? String == "165901" }?["lastReceipt"] as? [String: Any])
            #expect(center["file"] as? String == "KTSX_WVR_165901_20260305T100000_0001.csv")
            #expect(center["outcome"] as? String == "REJECTED")
            #expect(participants.first { $0["orgId"] as? String == "061020" }?["lastReceipt"] as? [String: Any] != nil)
            let jobs = try #require(view["jobs"] as? [[String: Any]])
            #expect(Set(jobs.compactMap { $0["job"] as? String }) == ["grade-posting", "unknown-sync", "waiver-decision", "daily-summary"])
            let deliveries = try #require(view["deliveries"] as? [String: Any])
            // The scenario's 73 outbound files and 30 daily summaries: nothing was picked up.
            #expect(deliveries["waiting"] as? Int == 103)

            // A day later with nothing running: the service is reported down; text for people.
            let text = try scenario.ktsx(["status"], clock: "2026-03-06T15:00:00Z").standardOutput
            #expect(text.contains("service: NOT RUNNING (last pass 2026-03-05 10:00 ET"), "\(text)")
            #expect(text.contains("backlog: 0 files waiting in inbound, 0 receipts in progress"))
            #expect(text.contains("165901  Bluegrass Career and Technical Center  A2     0        2026-03-05 10:00 ET  WVR  REJECTED"), "\(text)")

            // A file dropped and not yet claimed is backlog.
            try Data("x".utf8).write(to: root.appendingPathComponent("drop/061010/inbound/waiting.csv"))
            let later = try #require(try scenario.json(["status"], clock: "2026-03-06T15:00:00Z") as? [String: Any])
            #expect((later["backlog"] as? [String: Any])?["waitingInInbound"] as? Int == 1)
            #expect((later["service"] as? [String: Any])?["running"] as? Bool == false)
        }
    }

    @Test("submissions: by participant, type, outcome and Kentucky dates, newest first")
    func submissions() async throws {
        try withTemporaryDirectory { root in
            let scenario = try PlayedScenario(root: root)
            func files(_ arguments: [String]) throws -> [String] {
                let rows = try #require(try scenario.json(["submissions"] + arguments, clock: "2026-03-06T12:00:00Z") as? [[String: Any]])
                return rows.compactMap { $0["file"] as? String }
            }
            #expect(try files([]).count == 20)
            let rejected = try files(["--outcome", "rejected"])
            #expect(Set(rejected) == [
                "KTSX_WVR_165901_20260305T100000_0001.csv", "KTSX_WVR_061014_20260305T100000_0001.csv", "KTSX_WVR_061014_20260116T100000_0001.xml",
            ])
            #expect(rejected.last == "KTSX_WVR_061014_20260116T100000_0001.xml")
            #expect(try files(["--participant", "061014", "--type", "GRD"]) == [
                "KTSX_GRD_061014_20260115T170000_0001.xml", "KTSX_GRD_061014_20260114T170000_0001.xml",
            ])
            #expect(try files(["--type", "att", "--outcome", "accepted-with-errors"]).sorted() == [
                "KTSX_ATT_061014_20260112T163000_0001.xml", "KTSX_ATT_061014_20260113T163000_0001.xml",
                "KTSX_ATT_165901_20260112T163000_0001.csv",
            ])
            // Received 2026-01-12 07:00 ET: inside the 12th in Kentucky, whatever UTC says.
            #expect(try files(["--from", "2026-01-12", "--to", "2026-01-12", "--type", "ENR"]).count == 3)
            #expect(try files(["--from", "2026-03-05"]).sorted() == [
                "KTSX_WVR_061014_20260305T100000_0001.csv", "KTSX_WVR_165901_20260305T100000_0001.csv",
            ])
            #expect(try files(["--limit", "2"]).count == 2)
            let text = try scenario.ktsx(["submissions", "--participant", "061010"], clock: "2026-03-06T12:00:00Z").standardOutput
            #expect(text.hasPrefix("RECEIVED"))
            #expect(text.contains("061010  ENR   ACCEPTED_WITH_ERRORS  25/27    2       KTSX_ENR_061010_20260112T070000_0001.csv"), "\(text)")
            let bad = try scenario.ktsx(["submissions", "--outcome", "lost"], clock: "2026-03-06T12:00:00Z", status: 2)
            #expect(bad.standardError.contains("outcome must be accepted"))
        }
    }

    @Test("show: a file's story, its errors and failed records, its outputs and their pickup")
    func show() async throws {
        try await withTemporaryDirectory { root in
            let scenario = try PlayedScenario(root: root)
            let id = try await scenario.receiptId(of: Self.enrollmentFile)
            // The high school picks up its acknowledgement.
            try FileManager.default.removeItem(at: root.appendingPathComponent("drop/061010/outbound/\(Self.enrollmentFile).ack.csv"))
            try scenario.ktsx(["run", "--once"], clock: "2026-03-06T12:00:00Z")
            let view = try #require(try scenario.json(["show", id], clock: "2026-03-06T12:05:00Z") as? [String: Any])
            #expect(view["outcome"] as? String == "ACCEPTED_WITH_ERRORS")
            #expect(view["recordsReceived"] as? Int == 27)
            #expect(view["recordsAccepted"] as? Int == 25)
            #expect(view["originalKept"] as? Bool == true)
            let issues = try #require(view["issues"] as? [[String: Any]])
            #expect(issues.map { $0["code"] as? String } == ["ENR-03", "ENR-08"])
            #expect(issues.map { $0["line"] as? Int } == [4, 6])
            let failed = try #require(view["rejectedRecords"] as? [[String: Any]])
            #expect(failed.map { $0["line"] as? Int } == [4, 6])
            let outputs = try #require(view["deliveries"] as? [[String: Any]])
            // Its acknowledgement and error file, and its enrollments routed to both centers its students attend.
            #expect(Set(outputs.compactMap { $0["recipient"] as? String }) == ["061010", "061014", "165901"])
            let ack = try #require(outputs.first { ($0["file"] as? String)?.hasSuffix(".ack.csv") == true })
            #expect(ack["pickedUp"] as? String != nil)
            #expect(outputs.filter { $0["pickedUp"] == nil }.count == 3)

            let text = try scenario.ktsx(["show", id], clock: "2026-03-06T12:05:00Z").standardOutput
            #expect(text.hasPrefix("Receipt \(id)\n"))
            #expect(text.contains("outcome       ACCEPTED_WITH_ERRORS: 27 records received, 25 accepted, 2 rejected, 2 errors"), "\(text)")
            #expect(text.contains("original      kept (archive)"))
            #expect(text.contains("line 4, sectionNumber, record 2fc56acc-2bb3-478d-aef2-7b2e9749da50: ENR-03: Course IT101 section PM-09"), "\(text)")
            #expect(text.contains("waiting for pickup"))
            #expect(text.contains("picked up 2026-03-06 07:00 ET"), "\(text)")
            let missing = try scenario.ktsx(["show", "R000000-nope"], clock: "2026-03-06T12:05:00Z", status: 2)
            #expect(missing.standardError.contains("there is no receipt R000000-nope"))
        }
    }

    @Test("reprocess: after the catalog is fixed, the failed records are judged again as a new receipt")
    func reprocess() async throws {
        try await withTemporaryDirectory { root in
            let scenario = try PlayedScenario(root: root)
            let id = try await scenario.receiptId(of: Self.enrollmentFile)
            let clock = "2026-03-06T12:00:00Z"
            // Refused: an accepted file, and a duplicate has nothing to judge again.
            let accepted = try await scenario.receiptId(of: "KTSX_ENR_061020_20260112T070000_0001.xml")
            let refused = try scenario.ktsx(["reprocess", accepted], clock: clock, status: 2)
            #expect(refused.standardError.contains("is ACCEPTED: every record was applied"), "\(refused.standardError)")

            // Support adds the missing section to the catalog; the file's two failed records are judged again.
            let catalog = scenario.config.appendingPathComponent("catalog.csv")
            let fixed = try String(contentsOf: catalog, encoding: .utf8)
                + "061014,2026,IT101,PM-09,110141,Computer and Technology Essentials,S1,2025-08-13,2025-12-19,1,165\n"
            try fixed.write(to: catalog, atomically: true, encoding: .utf8)
            let again = try #require(
                try scenario.json(["reprocess", id, "--reason", "IT101 PM-09 added to the catalog"], clock: clock) as? [String: Any])
            #expect(again["reprocessOf"] as? String == id)
            #expect(again["reprocessReason"] as? String == "IT101 PM-09 added to the catalog")
            #expect(again["outcome"] as? String == "ACCEPTED_WITH_ERRORS")
            #expect(again["recordsReceived"] as? Int == 2)
            #expect(again["recordsAccepted"] as? Int == 1)
            let newId = try #require(again["id"] as? String)
            let ackName = try #require(again["ackFile"] as? String)
            let ack = try String(contentsOf: root.appendingPathComponent("drop/061010/outbound/\(ackName)"), encoding: .utf8)
            #expect(ack.contains("Judged again at support's request (earlier receipt \(id))"))
            // The accepted enrollment went to its center, valid against its schema.
            let story = try #require(try scenario.json(["show", newId], clock: clock) as? [String: Any])
            let routed = try #require((story["deliveries"] as? [[String: Any]])?.first { $0["recipient"] as? String == "061014" })
            let routedPath = root.appendingPathComponent("drop/061014/outbound/\(routed["file"] as? String ?? "")").path
            #expect(try runProcess(Repository.ktsx.path, ["validate", routedPath]).status == 0)
            // The center takes `same`: files from others come as XML, with the one record accepted now.
            #expect(routedPath.hasSuffix(".xml"))
            let routedText = try String(contentsOfFile: routedPath, encoding: .utf8)
            #expect(routedText.components(separatedBy: "<RecordId>").count == 2, "one record")
            #expect(routedText.contains("<RecordId>2fc56acc-2bb3-478d-aef2-7b2e9749da50</RecordId>"))
            #expect((story["issues"] as? [[String: Any]])?.map { $0["code"] as? String } == ["ENR-08"])
            // The earlier receipt names the new one; its archived original is still there.
            let earlier = try #require(try scenario.json(["show", id], clock: clock) as? [String: Any])
            #expect(earlier["reprocessedAs"] as? [String] == [newId])
            #expect(earlier["originalKept"] as? Bool == true)
            // Judged again once: a second request points at the new receipt.
            let twice = try scenario.ktsx(["reprocess", id], clock: clock, status: 2)
            #expect(twice.standardError.contains("was judged again as \(newId)"), "\(twice.standardError)")

            // A rejected file is judged whole again; still rejected by the rules, it gets a new receipt all the same.
            let waiver = try await scenario.receiptId(of: "KTSX_WVR_061014_20260116T100000_0001.xml")
            let rejected = try #require(try scenario.json(["reprocess", waiver], clock: clock) as? [String: Any])
            #expect(rejected["outcome"] as? String == "REJECTED")
            #expect(rejected["reprocessOf"] as? String == waiver)
            let quarantined = try FileManager.default.subpathsOfDirectory(atPath: root.appendingPathComponent("state/quarantine").path)
            #expect(quarantined.filter { $0.hasSuffix("/KTSX_WVR_061014_20260116T100000_0001.xml") }.count == 2)
            // Once the original is past retention, reprocess says so.
            try FileManager.default.removeItem(at: root.appendingPathComponent("state/quarantine"))
            let gone = try scenario.ktsx(["reprocess", waiver], clock: clock, status: 2)
            #expect(gone.standardError.contains("is no longer kept"), "\(gone.standardError)")
        }
    }

    @Test("reprocess: a rejected re-judgement of failed records is judged again on those records only; the same bytes are accepted once")
    func reprocessChainsAndDuplicates() async throws {
        try await withTemporaryDirectory { root in
            let scenario = try PlayedScenario(root: root)
            let clock = "2026-03-06T12:00:00Z"
            // Two uploads of one file whose only enrollment names a section the catalog lacks: both rejected.
            let original = try String(
                contentsOf: GoldenScenarioTests.scenario.appendingPathComponent("drops/\(Self.enrollmentFile)"), encoding: .utf8)
            let lines = original.split(separator: "\n").map(String.init)
            let single = [lines[0], lines[3].replacingOccurrences(of: "2fc56acc-2bb3-478d-aef2-7b2e9749da50", with: "6b1d8e0e-3c1a-4f7e-9d2b-5a4c3b2a1f00")
                .replacingOccurrences(of: ",2199999991,", with: ",2199999993,")].joined(separator: "\n") + "\n"
            for name in ["dup-a.csv", "dup-b.csv"] {
                try single.write(to: root.appendingPathComponent("drop/061010/inbound/\(name)"), atomically: true, encoding: .utf8)
            }
            try scenario.ktsx(["run", "--once"], clock: clock)
            let a = try await scenario.receiptId(of: "dup-a.csv"), b = try await scenario.receiptId(of: "dup-b.csv")
            let catalog = scenario.config.appendingPathComponent("catalog.csv")
            try (try String(contentsOf: catalog, encoding: .utf8)
                + "061014,2026,IT101,PM-09,110141,Computer and Technology Essentials,S1,2025-08-13,2025-12-19,1,165\n")
                .write(to: catalog, atomically: true, encoding: .utf8)
            let first = try #require(try scenario.json(["reprocess", a], clock: clock) as? [String: Any])
            #expect(first["outcome"] as? String == "ACCEPTED")
            let second = try #require(try scenario.json(["reprocess", b], clock: clock) as? [String: Any])
            #expect(second["outcome"] as? String == "DUPLICATE")
            #expect(second["duplicateOf"] as? String == first["id"] as? String)

            // The week's enrollment file: its two failed records judged again, one still fails (ENR-08)...
            let week = try await scenario.receiptId(of: Self.enrollmentFile)
            let again = try #require(try scenario.json(["reprocess", week], clock: clock) as? [String: Any])
            #expect(again["outcome"] as? String == "ACCEPTED_WITH_ERRORS")
            #expect(again["recordsReceived"] as? Int == 2)
            // ...judged again, it is rejected; and that rejection judged again is still that one record, never
            // the 25 records applied in January.
            let third = try #require(try scenario.json(["reprocess", again["id"] as? String ?? ""], clock: clock) as? [String: Any])
            #expect(third["outcome"] as? String == "REJECTED")
            #expect(third["recordsReceived"] as? Int == 1)
            let fourth = try #require(try scenario.json(["reprocess", third["id"] as? String ?? ""], clock: clock) as? [String: Any])
            #expect(fourth["outcome"] as? String == "REJECTED")
            #expect(fourth["recordsReceived"] as? Int == 1)
            let story = try #require(try scenario.json(["show", fourth["id"] as? String ?? ""], clock: clock) as? [String: Any])
            #expect((story["deliveries"] as? [[String: Any]])?.allSatisfy { $0["recipient"] as? String == "061010" } == true, "nothing routed")
            #expect((story["issues"] as? [[String: Any]])?.map { $0["line"] as? Int } == [6])
        }
    }

    @Test("deliveries: what waits for pickup, and what waits past the threshold")
    func deliveries() async throws {
        try withTemporaryDirectory { root in
            let scenario = try PlayedScenario(root: root)
            func waiting(_ arguments: [String], clock: String) throws -> [[String: Any]] {
                try #require(try scenario.json(["deliveries"] + arguments, clock: clock) as? [[String: Any]])
            }
            // 2026-03-05 15:00Z: the files of that morning's run are not yet 48 hours old.
            let all = try waiting([], clock: "2026-03-05T16:00:00Z")
            let overdue = try waiting(["--pending"], clock: "2026-03-05T16:00:00Z")
            #expect(all.count == 103, "73 files and 30 daily summaries")
            #expect(overdue.count < all.count)
            #expect(overdue.allSatisfy { ($0["hoursWaiting"] as? Int ?? 0) >= 48 })
            #expect(try waiting(["--pending"], clock: "2026-03-08T16:00:00Z").count == 103)
            // A school picks up everything: nothing waits.
            let outbound = root.appendingPathComponent("drop/061020/outbound")
            let names = try FileManager.default.contentsOfDirectory(atPath: outbound.path).filter { !$0.hasPrefix(".") }
            for name in names { try FileManager.default.removeItem(at: outbound.appendingPathComponent(name)) }
            try scenario.ktsx(["run", "--once"], clock: "2026-03-08T16:00:00Z")
            let left = try waiting(["--pending"], clock: "2026-03-08T16:01:00Z")
            #expect(left.count == 103 - names.count)
            #expect(!left.contains { $0["recipient"] as? String == "061020" })
            let text = try scenario.ktsx(["deliveries", "--pending"], clock: "2026-03-08T16:01:00Z").standardOutput
            #expect(text.hasPrefix("RECIPIENT"))
            #expect(text.split(separator: "\n").contains { $0.hasPrefix("061010 ") && $0.contains("Ridgeline High School") }, "\(text)")
        }
    }

    @Test("participants --quiet: centers without attendance for quiet_days instructional days, waived ones left out")
    func quiet() async throws {
        try withTemporaryDirectory { root in
            let scenario = try PlayedScenario(root: root)
            func quiet(at clock: String) throws -> [String] {
                try #require(try scenario.json(["participants", "--quiet"], clock: clock) as? [[String: Any]]).compactMap { $0["orgId"] as? String }
            }
            // Both centers sent attendance on Friday, January 16.
            #expect(try quiet(at: "2026-01-19T20:00:00Z").isEmpty)
            // Monday the 19th was a holiday: by Thursday two instructional days went by without any, by Friday three.
            #expect(try quiet(at: "2026-01-22T20:00:00Z").isEmpty)
            #expect(try quiet(at: "2026-01-23T20:00:00Z") == ["061014", "165901"])
            // In school year 2027, 165901 has an approved waiver; 061014 has none and sent nothing this year.
            #expect(try quiet(at: "2026-09-15T20:00:00Z") == ["061014"])
            let text = try scenario.ktsx(["participants", "--quiet"], clock: "2026-01-23T20:00:00Z").standardOutput
            #expect(text.contains("061014  Ridgeline Area Technology Center"), "\(text)")
            #expect(text.contains("2026-01-16"))
            let all = try #require(try scenario.json(["participants"], clock: "2026-01-22T20:00:00Z") as? [[String: Any]])
            #expect(all.count == 5)
        }
    }
}
