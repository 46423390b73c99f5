import ExchangeCore
import ExchangeLedgerSQLite
import ExchangeTesting
import Foundation
import Testing

/// `ktsx backup`: a copy of the SQLite ledger made while the service works.
@Suite("ktsx backup: the ledger copied while the service runs", .serialized)
struct BackupCommandTests {
    @Test("copies made while files are judged are whole ledgers as of one commit: each receipt finished in a copy is finished alike in the live ledger")
    func whileTheServiceRuns() async throws {
        try await withTemporaryDirectory { root in
            let tree = try DropTreeFixture(root: root)
            let backups = root.appendingPathComponent("backups")
            try FileManager.default.createDirectory(at: backups, withIntermediateDirectories: true)
            let service = try tree.startService()
            defer {
                if service.isRunning { service.terminate() }
                service.waitUntilExit()
            }
            // The ledger is the service's once it has set it up (its first heartbeat comes after): a busy
            // machine may take a while to start it.
            let heartbeat = tree.state.appendingPathComponent("service.heartbeat").path
            for _ in 0..<600 where !FileManager.default.fileExists(atPath: heartbeat) {
                try await Task.sleep(for: .milliseconds(100))
            }
            // Every high school's enrollments, then a center's attendance sent again and again (each file
            // judged, applied or found a duplicate, and acknowledged) while the copies are made.
            let roster = Repository.fixtures.appendingPathComponent("reference/roster")
            for name in try FileManager.default.contentsOfDirectory(atPath: roster.path) {
                let org = String(name.split(separator: "_")[2])
                try FileManager.default.copyItem(at: roster.appendingPathComponent(name), to: tree.inbound(org).appendingPathComponent(name))
            }
            let attendance = try String(contentsOf: Repository.schemas.appendingPathComponent("examples/ATT.example.xml"), encoding: .utf8)
            for index in 1...40 {
                try tree.drop(attendance, as: "KTSX_ATT_165901_20251002T020000_\(String(format: "%04d", index)).xml", into: "165901")
            }
            var copies: [URL] = []
            var summaries: [String] = []
            for index in 0..<12 {
                let copy = backups.appendingPathComponent("ledger-\(index).sqlite")
                let result = try tree.ktsx(["backup", "--config", tree.config.path, "--to", copy.path])
                #expect(result.status == 0, "\(result.standardError)")
                summaries.append(result.standardOutput)
                copies.append(copy)
                let inbound = try tree.inboundFiles()
                if inbound.isEmpty, index > 2 { break }
                try await Task.sleep(for: .milliseconds(150))
            }
            try await waitUntilInboundEmpty(tree)
            service.terminate()
            service.waitUntilExit()

            let live = try await tree.ledger().receipts(matching: ReceiptQuery())
            let liveById = Dictionary(uniqueKeysWithValues: live.map { ($0.id, $0) })
            var counts: [Int] = []
            for copy in copies {
                let mode = try #require(try FileManager.default.attributesOfItem(atPath: copy.path)[.posixPermissions] as? Int)
                #expect(mode == 0o600, "a copy of student data readable by others: \(String(mode, radix: 8))")
                let receipts = try await SQLiteLedger(path: copy.path).receipts(matching: ReceiptQuery())
                counts.append(receipts.count)
                for receipt in receipts {
                    let now = try #require(liveById[receipt.id], "receipt \(receipt.id) of a copy is not in the live ledger")
                    if receipt.state == .finished {
                        #expect(now.state == .finished && now.outcome == receipt.outcome && now.recordsAccepted == receipt.recordsAccepted)
                    }
                }
            }
            #expect(counts == counts.sorted(), "copies made later hold fewer receipts: \(counts)")
            #expect(summaries.allSatisfy { $0.hasPrefix("backed up ") && $0.contains("receipt") }, "\(summaries)")
            // After the service stopped, a copy is the whole ledger; nothing but the copies is left in the folder.
            let final = backups.appendingPathComponent("ledger-0.sqlite")
            #expect(try tree.ktsx(["backup", "--config", tree.config.path, "--to", final.path]).status == 0)
            #expect(try await SQLiteLedger(path: final.path).receipts(matching: ReceiptQuery()).count == live.count)
            let names = try FileManager.default.contentsOfDirectory(atPath: backups.path)
            #expect(names.allSatisfy { $0.hasPrefix("ledger-") && $0.hasSuffix(".sqlite") }, "\(names)")
        }
    }

    @Test("refused, saying why: a copy inside the drop tree, the ledger itself, a PostgreSQL ledger")
    func refusals() throws {
        try withTemporaryDirectory { root in
            let tree = try DropTreeFixture(root: root)
            let insideDrop = try tree.ktsx(["backup", "--config", tree.config.path, "--to", tree.outbound("061010").appendingPathComponent("l.sqlite").path])
            #expect(insideDrop.status == 2 && insideDrop.standardError.contains("inside the drop tree"))
            let itself = try tree.ktsx(["backup", "--config", tree.config.path, "--to", tree.state.appendingPathComponent("ledger.sqlite").path])
            #expect(itself.status == 2 && itself.standardError.contains("is the ledger itself"))
            let settings = tree.config.appendingPathComponent("ktsx.conf")
            try (try String(contentsOf: settings, encoding: .utf8) + "ledger = postgres://ktsx@db.example.org/ktsx\n")
                .write(to: settings, atomically: true, encoding: .utf8)
            let postgres = try tree.ktsx(["backup", "--config", tree.config.path, "--to", root.appendingPathComponent("l.sqlite").path])
            #expect(postgres.status == 2 && postgres.standardError.contains("pg_dump"))
        }
    }

    private func waitUntilInboundEmpty(_ tree: DropTreeFixture) async throws {
        for _ in 0..<300 {
            if try tree.inboundFiles().isEmpty, try await tree.ledger().receipts(matching: ReceiptQuery()).allSatisfy({ $0.state == .finished }) {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the service did not finish the files")
    }
}

extension DropTreeFixture {
    /// The visible files waiting in every participant's `inbound/`.
    func inboundFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: drop.path).flatMap { org in
            ((try? FileManager.default.contentsOfDirectory(atPath: inbound(org).path)) ?? []).filter { !$0.hasPrefix(".") }
        }
    }
}
