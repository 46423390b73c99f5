import ExchangeCore
import ExchangeLedgerSQLite
import ExchangeTesting
import Foundation
import Testing

/// `ktsx restore`: last night's backup put back under a drop tree that moved on since.
@Suite("ktsx restore: a backup put back, the files judged since taken up again", .serialized)
struct RestoreCommandTests {
    private func example(_ name: String) throws -> String {
        try String(contentsOf: Repository.schemas.appendingPathComponent("examples/\(name)"), encoding: .utf8)
    }

    /// What the ledger says of a receipt and its deliveries, for comparing two ledgers.
    private struct Account: Equatable, CustomStringConvertible {
        var outcome: String
        var counts: [Int]
        var files: [String]
        /// recipient/name, and whether it was taken.
        var deliveries: [String]
        var description: String { "\(outcome) \(counts) \(files) \(deliveries)" }
    }

    private func accounts(_ ledger: SQLiteLedger) async throws -> [String: Account] {
        var accounts: [String: Account] = [:]
        for receipt in try await ledger.receipts(matching: ReceiptQuery()) {
            let deliveries = try await ledger.deliveries(sourceId: receipt.id).map { "\($0.recipientOrgId)/\($0.fileName)" }.sorted()
            accounts[receipt.id] = Account(
                outcome: "\(receipt.state.rawValue) \(receipt.outcome?.rawValue ?? "-")",
                counts: [receipt.recordsReceived, receipt.recordsAccepted, receipt.recordsRejected, receipt.errorCount],
                files: [receipt.ackFile ?? "-", receipt.errorFile ?? "-", receipt.duplicateOf ?? "-"], deliveries: deliveries)
        }
        return accounts
    }

    /// Every visible file of every `outbound/`, with its bytes.
    private func outboundFiles(_ tree: DropTreeFixture) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for org in try FileManager.default.contentsOfDirectory(atPath: tree.drop.path) {
            for name in try FileManager.default.contentsOfDirectory(atPath: tree.outbound(org).path) {
                files["\(org)/\(name)"] = try Data(contentsOf: tree.outbound(org).appendingPathComponent(name))
            }
        }
        return files
    }

    @Test("restored under a tree that moved on: every file of the lost hours taken up as it was judged, nothing written or routed again, taken files recorded as picked up, audit clean")
    func lostHoursTakenUp() async throws {
        try await withTemporaryDirectory { root in
            let tree = try DropTreeFixture(root: root)
            try tree.loadRoster()
            let attendance = try example("ATT.example.xml")
            try tree.drop(attendance, as: "att1.xml", into: "165901")
            try tree.runOnce()
            let backup = root.appendingPathComponent("ledger-backup.sqlite")
            let made = try tree.ktsx(["backup", "--config", tree.config.path, "--to", backup.path])
            #expect(made.status == 0, "\(made.standardError)")
            let before = try await accounts(tree.ledger())

            // The lost hours: attendance with one record from another center (accepted with errors, routed),
            // the first file's bytes again under its name (a duplicate, its ack under its receipt's name), a
            // broken enrollment file (rejected), enrollment updates with one error (routed to the center).
            // (The next day's attendance: new record ids and dates.)
            var nextDay = attendance.replacingOccurrences(of: "2026-02-11T02:00", with: "2026-02-12T02:00")
                .replacingOccurrences(of: "<AttendanceDate>2026-02-10", with: "<AttendanceDate>2026-02-11")
                .replacingOccurrences(of: "<RecordedDateTime>2026-02-10T", with: "<RecordedDateTime>2026-02-11T")
            for (old, new) in [("c1e2d6d3", "c1e2d6d4"), ("9149c881", "9149c882"), ("dba42823", "dba42824")] {
                nextDay = nextDay.replacingOccurrences(of: "<RecordId>\(old)", with: "<RecordId>\(new)")
            }
            let parts = nextDay.components(separatedBy: "<TechCenterOrgId>165901</TechCenterOrgId>")
            let partly = parts[0] + "<TechCenterOrgId>165901</TechCenterOrgId>" + parts[1] + "<TechCenterOrgId>165999</TechCenterOrgId>"
                + parts[2...].joined(separator: "<TechCenterOrgId>165901</TechCenterOrgId>")
            try tree.drop(partly, as: "att2.xml", into: "165901")
            try tree.runOnce()
            try tree.drop(attendance, as: "att1.xml", into: "165901")
            try tree.drop(try example("ENR.example.csv").replacingOccurrences(of: ",2009-", with: ",2009-13-"), as: "enr.csv", into: "061010")
            var updates = try example("ENR.example.csv").replacingOccurrences(of: ",add,", with: ",update,").components(separatedBy: "\n")
            updates[2] = updates[2].replacingOccurrences(of: ",061010,061014,", with: ",061020,061014,")
            try tree.drop(updates.joined(separator: "\n"), as: "enr2.csv", into: "061010")
            try tree.runOnce()
            let live = try await accounts(tree.ledger())
            let lost = Set(live.keys).subtracting(before.keys)
            #expect(lost.count == 4)
            #expect(Set(lost.compactMap { live[$0]?.outcome }) == ["finished ACCEPTED_WITH_ERRORS", "finished DUPLICATE", "finished REJECTED"])
            // Partners take some files before the ledger is lost: the center its second file's ack, the high
            // school a file routed to it in the lost hours.
            try FileManager.default.removeItem(at: tree.outbound("165901").appendingPathComponent("att2.xml.ack.xml"))
            let routed = try #require(lost.flatMap { live[$0]!.deliveries }.first { $0.contains("/KTSX_ATT_") })
            try FileManager.default.removeItem(at: tree.drop.appendingPathComponent(routed.replacingOccurrences(of: "/", with: "/outbound/")))
            let onDisk = try outboundFiles(tree)

            let restored = try tree.ktsx(["restore", "--config", tree.config.path, "--from", backup.path])
            #expect(restored.status == 0, "\(restored.standardOutput) \(restored.standardError)")
            #expect(restored.standardOutput.contains("took up again 4 files judged after the backup"), "\(restored.standardOutput)")
            #expect(!restored.standardOutput.contains("cannot account for"), "\(restored.standardOutput)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: tree.state.path).contains { $0.hasPrefix("ledger.sqlite.replaced-") })

            // The ledger accounts for every receipt as the lost one did, nothing was written or removed.
            let ledger = try tree.ledger()
            #expect(try await accounts(ledger) == live)
            #expect(try outboundFiles(tree) == onDisk)
            // Taken files are recorded as picked up; the others wait.
            let waiting = Set(try await ledger.pendingDeliveries().map { "\($0.recipientOrgId)/\($0.fileName)" })
            #expect(!waiting.contains("165901/att2.xml.ack.xml") && !waiting.contains(routed))
            #expect(waiting == Set(onDisk.keys.filter { !$0.contains("/KTSX_SUM_") }).union(waiting.filter { $0.contains("/KTSX_SUM_") }))
            try tree.expectConserved()

            // The exchange goes on from there: nothing judged again, the lost file's bytes are known.
            try tree.runOnce()
            #expect(try await accounts(tree.ledger()).count == live.count)
            try tree.drop(partly, as: "att2-again.xml", into: "165901")
            try tree.runOnce()
            #expect(try tree.text("165901", "att2-again.xml.ack.xml").contains("<Outcome>DUPLICATE</Outcome>"))
            try tree.expectConserved()
        }
    }

    @Test("refused while the service runs, and with a backup that is not a ledger; the ledger in use is left as it was")
    func refusals() async throws {
        try await withTemporaryDirectory { root in
            let tree = try DropTreeFixture(root: root)
            try tree.drop(try example("ATT.example.xml"), as: "att.xml", into: "165901")
            try tree.runOnce()
            let notALedger = root.appendingPathComponent("notes.sqlite")
            try "not a database".write(to: notALedger, atomically: true, encoding: .utf8)
            let refused = try tree.ktsx(["restore", "--config", tree.config.path, "--from", notALedger.path])
            #expect(refused.status == 2 && refused.standardError.contains("cannot be put back"), "\(refused.standardError)")
            #expect(try await tree.ledger().receipts(matching: ReceiptQuery()).count == 1, "the ledger in use was not left as it was")

            let service = try tree.startService()
            defer {
                service.terminate()
                service.waitUntilExit()
            }
            for _ in 0..<100 where !tree.heartbeat(from: service.processIdentifier) { try await Task.sleep(for: .milliseconds(50)) }
            let running = try tree.ktsx(["restore", "--config", tree.config.path, "--take-up-only"])
            #expect(running.status == 2 && running.standardError.contains("the service is running"), "\(running.standardError)")
        }
    }
}

extension DropTreeFixture {
    /// Whether the service's heartbeat names this process.
    func heartbeat(from processId: Int32) -> Bool {
        let text = (try? String(contentsOf: state.appendingPathComponent("service.heartbeat"), encoding: .utf8)) ?? ""
        return text.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } == "\(processId)"
    }
}
