import ExchangeCore
import ExchangeLedgerSQLite
import ExchangeTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// SplitMix64: a small seeded generator, so a failing kill schedule can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The kill schedule's seed: `KTSX_KILL_SEED` to try other schedules, a fixed one otherwise.
private func killSeed() -> UInt64 {
    guard let text = ProcessInfo.processInfo.environment["KTSX_KILL_SEED"], let seed = UInt64(text) else { return 20_261_129 }
    return seed
}

@Suite("Crash safety: kill -9 at random moments loses nothing and duplicates nothing", .serialized)
struct KillTests {
    @Test("300 files, the service killed 25 times mid-stream: one ack per file, one receipt per file, nothing partial")
    func killRepeatedly() async throws {
        try await withTemporaryDirectory { root in
            let tree = try DropTreeFixture(root: root, quietPeriod: "50ms")
            try tree.loadRoster()
            var random = SeededGenerator(state: killSeed())
            // The center's XML attendance is for students of three high schools: one input, three receivers.
            let sources: [(file: URL, type: String, org: String, extension: String)] = [
                (Repository.schemas.appendingPathComponent("examples/ATT.example.csv"), "ATT", "061014", "csv"),
                (Repository.schemas.appendingPathComponent("examples/ENR.example.csv"), "ENR", "061010", "csv"),
                (Repository.fixtures.appendingPathComponent("valid/KTSX_ATT_165901_20260211T020000_0001.xml"), "ATT", "165901", "xml"),
            ]
            var dropped: [String: String] = [:]  // name -> sender
            for index in 0..<300 {
                let source = sources[index % sources.count]
                var text = try String(contentsOf: source.file, encoding: .utf8)
                // A fresh record id makes every file's bytes different; every tenth file is broken.
                let fresh = String(format: "%08x-0000-4000-8000-%012x", index, index)
                if let range = text.range(of: #"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"#, options: .regularExpression) {
                    text.replaceSubrange(range, with: fresh)
                }
                if index % 10 == 9 {
                    text = text.replacingOccurrences(of: "<SchoolYear>2026</SchoolYear>", with: "<SchoolYear>1999</SchoolYear>")
                        .replacingOccurrences(of: ",2026,", with: ",1999,")
                }
                let name = String(format: "KTSX_%@_%@_20251002T020000_%04d.%@", source.type, source.org, index, source.extension)
                try tree.drop(text, as: name, into: source.org)
                dropped[name] = source.org
            }

            for _ in 0..<25 {
                let process = try tree.startService()
                usleep(UInt32.random(in: 30_000...400_000, using: &random))
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            let doneBeforeSettling = try await tree.ledger().allReceipts().filter { $0.state == .finished }.count
            #expect(doneBeforeSettling > 0, "the service never got to work between kills")
            try tree.runOnce()

            // Every dropped file: exactly one acknowledgement naming it, whatever its outbound name.
            var acksByInput: [String: Int] = [:]
            var visible: [URL] = []
            for org in ["061014", "061010", "165901"] {
                for name in try tree.outboundFiles(org) {
                    let url = tree.outbound(org).appendingPathComponent(name)
                    visible.append(url)
                    guard name.contains(".ack.") else { continue }
                    let text = try String(contentsOf: url, encoding: .utf8)
                    let input = dropped.keys.first { text.contains($0) } ?? "?"
                    acksByInput[input, default: 0] += 1
                }
            }
            #expect(acksByInput.count == dropped.count, "acknowledged \(acksByInput.count) of \(dropped.count) files")
            #expect(acksByInput.values.allSatisfy { $0 == 1 }, "\(acksByInput.filter { $0.value != 1 })")
            // No partial file: everything a participant can see is a complete, valid ACK or ERR file.
            let check = try tree.ktsx(["validate"] + visible.map(\.path))
            #expect(check.status == 0, "\(check.standardOutput.split(separator: "\n").filter { $0.contains("INVALID") }.prefix(3))")
            // One finished receipt per file; nothing left in inbound or the work area.
            let receipts = try await tree.ledger().allReceipts().filter { !$0.originalName.hasSuffix("T070000_0001.csv") }  // not the roster
            #expect(receipts.count == dropped.count)
            #expect(Set(receipts.map(\.originalName)) == Set(dropped.keys))
            #expect(receipts.allSatisfy { $0.state == .finished })
            // Every copy has the same records but for the first id in the file: the first good copy of each
            // attendance file is accepted. Later CSV copies give their first record a new recordId, an add
            // of attendance on file (ATT-07), and send the others again exactly as on file (accepted, nothing
            // changed); the XML copies' new id is the header's BatchId, so every record is on file already.
            // The enrollments are on the roster already, in other versions (ENR-07). Nothing is applied twice,
            // whatever the kills.
            func outcomes(_ prefix: String) -> [FileOutcome: Int] {
                receipts.filter { $0.originalName.hasPrefix(prefix) }.reduce(into: [:]) { $0[$1.outcome!, default: 0] += 1 }
            }
            #expect(outcomes("KTSX_ATT_061014") == [.accepted: 1, .acceptedWithErrors: 89, .rejected: 10])
            #expect(receipts.filter { $0.originalName.hasPrefix("KTSX_ATT_061014") && $0.outcome == .acceptedWithErrors }
                .allSatisfy { $0.recordsRejected == 1 })
            #expect(outcomes("KTSX_ATT_165901") == [.accepted: 90, .rejected: 10])
            #expect(outcomes("KTSX_ENR_061010") == [.rejected: 100])
            for org in ["061014", "061010", "165901"] {
                #expect(try FileManager.default.contentsOfDirectory(atPath: tree.inbound(org).path).isEmpty)
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: tree.state.appendingPathComponent("work").path).isEmpty)
            // The nightly jobs each start ran (and the kills cut short) are finished, each file written once.
            #expect(try await tree.ledger().unfinishedJobRuns().isEmpty)
            for job in JobKind.allCases {
                for run in try await tree.ledger().jobRuns(job) where run.files > 0 {
                    let written = try await tree.ledger().deliveries(sourceId: run.id)
                    #expect(written.count == run.files, "\(job.rawValue) \(run.runKey)")
                    for delivery in written {
                        #expect(FileManager.default.fileExists(atPath: tree.outbound(delivery.recipientOrgId).appendingPathComponent(delivery.fileName).path))
                    }
                }
            }
            // The accepted attendance reached each of its high schools once.
            for school in ["061010", "165010", "165020", "165030"] {
                let routed = try tree.outboundFiles(school).filter { $0.hasPrefix("KTSX_ATT_") }
                #expect(routed.count == 1, "\(school): \(routed)")
            }
            try Conservation.expectHolds(config: tree.config, drop: tree.drop, clock: tree.clock)
        }
    }
}
