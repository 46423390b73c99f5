import ExchangeCore
import ExchangeLedgerPostgres
import ExchangeRuntime
import ExchangeTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Two `ktsx run` instances on one drop tree and one PostgreSQL ledger, one of them killed again and
/// again: each file is judged once and acknowledged once, each nightly job runs once a night, and the
/// instance left standing finishes what a dead one had in hand once its lease runs out.
@Suite(
    "Several instances on one drop tree", .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["KTSX_TEST_POSTGRES_URL"] != nil, "needs KTSX_TEST_POSTGRES_URL"))
struct MultiInstanceTests {
    /// Example files with a fresh record id each (so no two are the same bytes); every tenth one broken.
    static func exampleFile(_ index: Int) throws -> (name: String, org: String, text: String) {
        let sources: [(file: URL, type: String, org: String, extension: String)] = [
            (Repository.schemas.appendingPathComponent("examples/ATT.example.csv"), "ATT", "061014", "csv"),
            (Repository.schemas.appendingPathComponent("examples/ENR.example.csv"), "ENR", "061010", "csv"),
            (Repository.schemas.appendingPathComponent("examples/ATT.example.xml"), "ATT", "165901", "xml"),
        ]
        // One of the center's XML files, in the second batch, is a day's attendance for students of three high
        // schools (252 records: one input, three receivers); copies would each be judged record by record, so it
        // comes once.
        var source = sources[index % sources.count]
        if index == 1_502 { source.file = Repository.fixtures.appendingPathComponent("valid/KTSX_ATT_165901_20260211T020000_0001.xml") }
        var text = try String(contentsOf: source.file, encoding: .utf8)
        if let range = text.range(of: #"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"#, options: .regularExpression) {
            text.replaceSubrange(range, with: String(format: "%08x-0000-4000-8000-%012x", index, index))
        }
        if index % 10 == 9 { text = text.replacingOccurrences(of: ",2026,", with: ",1999,").replacingOccurrences(of: "<SchoolYear>2026<", with: "<SchoolYear>1999<") }
        let name = String(format: "KTSX_%@_%@_20251002T020000_%05d.%@", source.type, source.org, index, source.extension)
        return (name, source.org, text)
    }

    @Test("2,000 files, two instances, one killed six times mid-stream, stalled past its leases, then killed for good: one receipt and one ack per file, one run per job and night")
    func twoInstancesOneKilled() async throws {
        try await withTemporaryDirectory { root in
            let url = ProcessInfo.processInfo.environment["KTSX_TEST_POSTGRES_URL"]!
            let schema = "multi_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            let tree = try DropTreeFixture(
                root: root, quietPeriod: "100ms",
                settings: "ledger = \(url)\(url.contains("?") ? "&" : "?")schema=\(schema)\ninstance_name = a\nlease_seconds = 10\nreview_address = off")
            // Instance b: the same tree, state and ledger under another name.
            let configB = root.appendingPathComponent("config-b")
            try FileManager.default.copyItem(at: tree.config, to: configB)
            let conf = configB.appendingPathComponent("ktsx.conf")
            try String(contentsOf: conf, encoding: .utf8).replacingOccurrences(of: "instance_name = a", with: "instance_name = b")
                .write(to: conf, atomically: true, encoding: .utf8)

            try tree.loadRoster()
            var dropped: [String: String] = [:]
            func drop(_ range: Range<Int>) throws {
                for index in range {
                    let file = try MultiInstanceTests.exampleFile(index)
                    try tree.drop(file.text, as: file.name, into: file.org)
                    dropped[file.name] = file.org
                }
            }
            try drop(0..<1_000)
            // b first, so that it has senders in hand when it is killed (an instance keeps a sender it leased
            // while it has its files, and there are only three senders).
            var b = try tree.startService(configuration: configB)
            usleep(300_000)
            let a = try tree.startService()
            defer {
                for process in [a, b] where process.isRunning {
                    process.terminate()
                    process.waitUntilExit()
                }
            }
            var random = SeededGenerator(state: 20_261_129)
            for round in 0..<6 {
                usleep(UInt32.random(in: 300_000...1_200_000, using: &random))
                kill(b.processIdentifier, SIGKILL)
                b.waitUntilExit()
                if round == 2 { try drop(1_000..<2_000) }  // more arrive while b is down
                b = try tree.startService(configuration: configB)
            }
            // b stalls (SIGSTOP) past its leases: a takes over the file and the senders b had in hand; when b
            // wakes, its next step finds the lease gone and leaves the file to a.
            usleep(500_000)
            kill(b.processIdentifier, SIGSTOP)
            sleep(26)  // lease_seconds 10, and a looks for unfinished work every 15 s
            kill(b.processIdentifier, SIGCONT)
            // Then b dies for good in the middle of the work; a finishes what b had in hand after its lease.
            usleep(1_500_000)
            kill(b.processIdentifier, SIGKILL)
            b.waitUntilExit()

            var acknowledged = 0
            for _ in 0..<900 where acknowledged < dropped.count {
                usleep(200_000)
                acknowledged = try ["061014", "061010", "165901"].reduce(0) { $0 + (try tree.outboundFiles($1).filter { $0.contains(".ack.") }.count) }
            }
            // An acknowledgement b placed before it died is in outbound/ while its receipt is not yet finished: a
            // finishes it once b's lease has run out (up to lease_seconds, then a's next look for unfinished work).
            let base = url.components(separatedBy: "?")[0]
            for _ in 0..<300 {
                let unfinished = try runProcess("psql", [base, "-tAc", "SELECT count(*) FROM \(schema).receipt WHERE state <> 'finished'"])
                if unfinished.status == 0, unfinished.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "0" { break }
                usleep(200_000)
            }
            #expect(a.isRunning, "instance a kept running")
            a.terminate()
            a.waitUntilExit()

            // Every dropped file: exactly one acknowledgement naming it.
            var acksByInput: [String: Int] = [:]
            var visible: [String] = []
            for org in ["061014", "061010", "165901"] {
                for name in try tree.outboundFiles(org) {
                    visible.append(tree.outbound(org).appendingPathComponent(name).path)
                    guard name.contains(".ack.") else { continue }
                    let text = try tree.text(org, name)
                    let input = text.range(of: #"KTSX_[A-Z]{3}_\d{6}_20251002T020000_\d{5}\.(csv|xml)"#, options: .regularExpression).map { String(text[$0]) } ?? "?"
                    acksByInput[input, default: 0] += 1
                }
            }
            #expect(acksByInput.count == dropped.count, "acknowledged \(acksByInput.count) of \(dropped.count)")
            #expect(acksByInput.values.allSatisfy { $0 == 1 }, "\(acksByInput.filter { $0.value != 1 }.prefix(5))")
            let check = try tree.ktsx(["validate"] + visible.filter { $0.hasSuffix(".ack.csv") || $0.hasSuffix(".ack.xml") }.prefix(300))
            #expect(check.status == 0)

            var settings = try PostgresLedgerSettings.parse(url).get()
            settings.schema = schema
            let ledger = try await PostgresLedger.open(settings: settings)
            try await LedgerRunning.with(ledger) {
                let receipts = try await ledger.allReceipts().filter { !$0.originalName.hasSuffix("T070000_0001.csv") }  // not the roster
                #expect(receipts.count == dropped.count, "one receipt per file")
                #expect(Set(receipts.map(\.originalName)) == Set(dropped.keys))
                #expect(receipts.allSatisfy { $0.state == .finished })
                for org in ["061014", "061010", "165901"] {
                    #expect(try FileManager.default.contentsOfDirectory(atPath: tree.inbound(org).path).isEmpty)
                    #expect(!(try FileManager.default.contentsOfDirectory(atPath: tree.outbound(org).path)).contains { $0.hasPrefix(".") })
                }
                #expect(try FileManager.default.contentsOfDirectory(atPath: tree.state.appendingPathComponent("work").path).isEmpty)
                // Every nightly job run (one per key: the database allows no other) finished, its files written once.
                #expect(try await ledger.unfinishedJobRuns().isEmpty)
                for job in JobKind.allCases {
                    for run in try await ledger.jobRuns(job) {
                        #expect(try await ledger.deliveries(sourceId: run.id).count == run.files, "\(job.rawValue) \(run.runKey)")
                    }
                }
                #expect(try await ledger.jobRuns(.gradePosting).contains { $0.runKey.hasPrefix("night:") }, "the nightly jobs ran")
            }
            // Both instances did part of the work (the last lease of each receipt names who finished it).
            let byOwner = try runProcess(
                "psql", [String(url.prefix { $0 != "?" }), "-Atc", "SELECT lease_owner, count(*) FROM \(schema).receipt GROUP BY 1 ORDER BY 1"])
            let counts = Dictionary(uniqueKeysWithValues: byOwner.standardOutput.split(separator: "\n").compactMap { line -> (String, Int)? in
                let parts = line.split(separator: "|")
                return parts.count == 2 ? (String(parts[0]), Int(parts[1]) ?? 0) : nil
            })
            #expect((counts["a"] ?? 0) > 20 && (counts["b"] ?? 0) > 20, "\(byOwner.standardOutput) \(byOwner.standardError)")
            // The accepted attendance reached each of its high schools once, and conservation holds.
            for school in ["061010", "165020", "165030"] {
                #expect(try tree.outboundFiles(school).filter { $0.hasPrefix("KTSX_ATT_") }.count == 1, "\(school)")
            }
            #expect(try !tree.outboundFiles("165010").filter { $0.hasPrefix("KTSX_ATT_") }.isEmpty)
            try Conservation.expectHolds(config: tree.config, drop: tree.drop, clock: tree.clock)
        }
    }
}
