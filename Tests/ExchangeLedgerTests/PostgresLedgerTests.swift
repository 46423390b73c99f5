import ExchangeCore
import ExchangeLedgerPostgres
import ExchangeTesting
import Foundation
import Testing

/// What only the PostgreSQL ledger has to show: its URL, its migrations shared by instances, a server
/// that cannot be reached, and two instances racing for the same work. (Everything else is the contract.)
@Suite("PostgreSQL ledger", .enabled(if: LedgerUnderTest.postgresURL != nil, "needs KTSX_TEST_POSTGRES_URL (scripts/test.sh starts a server)"))
struct PostgresLedgerTests {
    static var url: String { LedgerUnderTest.postgresURL ?? "" }

    @Test("a ledger URL gives host, port, database, TLS, pool and schema; a bad one is refused with the reason, password hidden")
    func settingsFromURL() throws {
        let settings = try PostgresLedgerSettings.parse(
            "postgres://ktsx:secret@db.example.org:6432/exchange?sslmode=verify-full&sslrootcert=/etc/ktsx/ca.pem&pool=8&schema=ky").get()
        #expect(settings.host == "db.example.org" && settings.port == 6432 && settings.database == "exchange")
        #expect(settings.user == "ktsx" && settings.password == "secret")
        #expect(settings.tls == .verifyFull && settings.rootCertificates == "/etc/ktsx/ca.pem" && settings.poolSize == 8 && settings.schema == "ky")
        #expect(try PostgresLedgerSettings.parse("postgres://ktsx@db/exchange").get().tls == .require, "encrypted unless told otherwise")
        let fromEnvironment = try PostgresLedgerSettings.parse("postgres://ktsx@db/x", environment: ["KTSX_LEDGER_PASSWORD": "p"]).get()
        #expect(fromEnvironment.password == "p")
        for (bad, reason) in [
            ("mysql://a@b/c", "is not a postgres:// URL"), ("postgres://a@b/", "names no database"),
            ("postgres://b/c", "names no user"), ("postgres://a:hunter2@b/c?sslmode=maybe", "sslmode=maybe"),
            ("postgres://a@b/c?pool=0", "pool=0"), ("postgres://a@b/c?schema=x;drop", "schema=x;drop"),
            ("postgres://a@b/c?timeout=3", "unknown option 'timeout'"), ("postgres://a:hunter2@b", "names no database"),
            ("postgres://a@b/c?schema=Ky", "schema=Ky"),
        ] {
            guard case .failure(let error) = PostgresLedgerSettings.parse(bad) else {
                Issue.record("\(bad) was accepted")
                continue
            }
            #expect(error.description.contains(reason), "\(error)")
            #expect(!error.description.contains("hunter2"))
        }
        // However malformed, a URL never shows its password: not in messages, not in configuration errors.
        #expect(PostgresLedgerSettings.redacted("postgres://a:pa ss%@b/c") == "postgres://a:***@b/c")
        do {
            _ = try ConfigurationParser.settings(from: "drop_root = /d\nstate_dir = /s\nledger = Postgres://ktsx:hunter2@db/x\n")
            Issue.record("a ledger URL with a capital scheme was accepted")
        } catch {
            #expect(error.description.contains("Postgres://ktsx:***@db/x") && !error.description.contains("hunter2"), "\(error)")
        }
    }

    @Test("a server that cannot be reached is refused at once, saying where")
    func unreachable() throws {
        var settings = try PostgresLedgerSettings.parse(PostgresLedgerTests.url).get()
        settings.port = 1  // nothing listens there
        do {
            _ = try PostgresLedger(settings: settings)
            Issue.record("an unreachable server was accepted")
        } catch {
            #expect(error.code == .storage)
            #expect(error.description.contains("cannot reach the ledger") && error.description.contains(":1/"), "\(error)")
        }
    }

    @Test("reopened by another instance, the ledger is the same; a database from a newer ktsx is refused")
    func reopenAndNewerSchema() throws {
        let first = try freshPostgresLedger(PostgresLedgerTests.url)
        try first.recordClaim(Receipt(id: "R1", senderOrgId: "061014", originalName: "f.csv", sizeBytes: 1, sha256: "a", claimedAt: Timestamp(secondsSinceEpoch: 1)))
        let schema = first.schema
        var settings = try PostgresLedgerSettings.parse(PostgresLedgerTests.url).get()
        settings.schema = schema
        #expect(try PostgresLedger(settings: settings).receipt(id: "R1")?.id == "R1")
        let sql = "INSERT INTO \(schema).ledger_migration VALUES ('9-from-the-future', 0)"
        let result = try runProcess("psql", [PostgresLedgerTests.url.replacingOccurrences(of: "?sslmode=disable", with: ""), "-qc", sql])
        #expect(result.status == 0, "\(result.standardError)")
        do {
            _ = try PostgresLedger(settings: settings)
            Issue.record("a newer schema was not refused")
        } catch {
            #expect(error.code == .newerSchema)
        }
    }

    @Test("a stored value this ktsx does not know is refused with its column, not read as a default")
    func unknownStoredValue() throws {
        let ledger = try freshPostgresLedger(PostgresLedgerTests.url)
        try ledger.recordClaim(Receipt(id: "R1", senderOrgId: "061014", originalName: "f.csv", sizeBytes: 1, sha256: "a", claimedAt: Timestamp(secondsSinceEpoch: 1)))
        let sql = "UPDATE \(ledger.schema).receipt SET binding = 'json-by-ktsx-9' WHERE id = 'R1'"
        let result = try runProcess("psql", [PostgresLedgerTests.url.replacingOccurrences(of: "?sslmode=disable", with: ""), "-qc", sql])
        #expect(result.status == 0, "\(result.standardError)")
        do {
            _ = try ledger.receipt(id: "R1")
            Issue.record("an unknown binding was read")
        } catch {
            #expect(error.code == .unknownStoredValue)
            #expect(error.message.contains("receipt.binding") && error.message.contains("json-by-ktsx-9"), "\(error)")
        }
    }

    @Test("two instances racing: both migrate at once, one claims each receipt id, one runs each job key, one holds each name")
    func racingInstances() async throws {
        // Two instances start at once on an empty schema: both come up, the tables made once.
        var settings = try PostgresLedgerSettings.parse(PostgresLedgerTests.url).get()
        settings.schema = "race_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let opened = try await withThrowingTaskGroup(of: PostgresLedger.self) { [settings] group in
            for _ in 0..<2 { group.addTask { try PostgresLedger(settings: settings) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let (first, second) = (opened[0], opened[1])
        let won = await withTaskGroup(of: (Int, Bool).self) { group in
            for index in 0..<40 {
                let ledger = index % 2 == 0 ? first : second
                group.addTask {
                    let run = JobRun(id: "J\(index)", job: .gradePosting, runKey: "night:2026-01-\(10 + index / 2)", startedAt: Timestamp(secondsSinceEpoch: 1))
                    return (index / 2, (try? ledger.claimJobRun(run)) ?? false)
                }
            }
            var won: [Int: Int] = [:]
            for await (key, claimed) in group where claimed { won[key, default: 0] += 1 }
            return won
        }
        #expect(won.count == 20 && won.values.allSatisfy { $0 == 1 }, "\(won)")
        // Both record the same claim at once: one wins, the other is told it is a duplicate.
        let outcomes = await withTaskGroup(of: LedgerError.Code?.self) { group in
            for (index, ledger) in [first, second].enumerated() {
                group.addTask {
                    let receipt = Receipt(
                        id: "R1", senderOrgId: "061014", originalName: "f\(index).csv", sizeBytes: 1, sha256: "a", claimedAt: Timestamp(secondsSinceEpoch: 1))
                    do {
                        try ledger.recordClaim(receipt, leasedTo: "instance-\(index)")
                        return nil
                    } catch {
                        return (error as? LedgerError)?.code ?? .storage
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == nil }.count == 1 && outcomes.contains(LedgerError.Code.duplicateReceipt), "\(outcomes)")
        // An instance name: one holder at a time, across instances.
        #expect(try first.holdInstanceName("node-1"))
        #expect(try !second.holdInstanceName("node-1"))
        #expect(try second.holdInstanceName("node-2"))
    }
}

/// `scripts/test.sh` (what CI runs) starts a server and says so: the PostgreSQL ledger must then be under test,
/// not skipped.
@Test(
    "when the test script started PostgreSQL, the PostgreSQL ledger is under test",
    .enabled(if: ProcessInfo.processInfo.environment["KTSX_REQUIRE_POSTGRES"] == "1"))
func postgresUnderTest() {
    #expect(LedgerUnderTest.all.contains { $0.description == "PostgreSQL" })
}
