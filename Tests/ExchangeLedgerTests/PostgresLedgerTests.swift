import ExchangeCore
import ExchangeLedgerPostgres
import ExchangeLedgerSQLite
import ExchangeRuntime
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
    func unreachable() async throws {
        var settings = try PostgresLedgerSettings.parse(PostgresLedgerTests.url).get()
        settings.port = 1  // nothing listens there
        do {
            _ = try await PostgresLedger.open(settings: settings)
            Issue.record("an unreachable server was accepted")
        } catch {
            #expect(error.code == .storage)
            #expect(error.description.contains("cannot reach the ledger") && error.description.contains(":1/"), "\(error)")
        }
    }

    @Test("reopened by another instance, the ledger is the same; a database from a newer ktsx is refused")
    func reopenAndNewerSchema() async throws {
        let first = try await freshPostgresLedger(PostgresLedgerTests.url)
        try await LedgerRunning.with(first) {
            try await first.recordClaim(
                Receipt(id: "R1", senderOrgId: "061014", originalName: "f.csv", sizeBytes: 1, sha256: "a", claimedAt: Timestamp(secondsSinceEpoch: 1)))
            return
        }
        let schema = first.schema
        var settings = try PostgresLedgerSettings.parse(PostgresLedgerTests.url).get()
        settings.schema = schema
        let second = try await PostgresLedger.open(settings: settings)
        let found = try await LedgerRunning.with(second) { try await second.receipt(id: "R1") }
        #expect(found?.id == "R1")
        let sql = "INSERT INTO \(schema).ledger_migration VALUES ('9-from-the-future', 0)"
        let result = try runProcess("psql", [PostgresLedgerTests.url.replacingOccurrences(of: "?sslmode=disable", with: ""), "-qc", sql])
        #expect(result.status == 0, "\(result.standardError)")
        do {
            _ = try await PostgresLedger.open(settings: settings)
            Issue.record("a newer schema was not refused")
        } catch {
            #expect(error.code == .newerSchema)
        }
    }

    @Test("opened read-only (ktsx validate --config), a migrated ledger reads; an empty schema or a missing migration is refused, nothing made")
    func readOnly() async throws {
        let ledger = try await freshPostgresLedger(PostgresLedgerTests.url)
        try await LedgerRunning.with(ledger) {
            try await ledger.recordClaim(
                Receipt(id: "R1", senderOrgId: "061014", originalName: "f.csv", sizeBytes: 1, sha256: "a", claimedAt: Timestamp(secondsSinceEpoch: 1)))
            return
        }
        var settings = try PostgresLedgerSettings.parse(PostgresLedgerTests.url).get()
        settings.schema = ledger.schema
        let reader = try await PostgresLedger.open(settings: settings, readOnly: true)
        #expect(try await LedgerRunning.with(reader) { try await reader.receipt(id: "R1") }?.id == "R1")

        let psqlURL = PostgresLedgerTests.url.replacingOccurrences(of: "?sslmode=disable", with: "")
        let missing = try runProcess("psql", [psqlURL, "-qc", "DELETE FROM \(ledger.schema).ledger_migration WHERE name = '9-retired-years'"])
        #expect(missing.status == 0, "\(missing.standardError)")
        await #expect(throws: LedgerError.self) { _ = try await PostgresLedger.open(settings: settings, readOnly: true) }

        settings.schema = "ktsx_read_only_\(Int.random(in: 0..<1_000_000))"
        await #expect(throws: LedgerError.self) { _ = try await PostgresLedger.open(settings: settings, readOnly: true) }
        let made = try runProcess("psql", [psqlURL, "-Atc", "SELECT count(*) FROM pg_namespace WHERE nspname = '\(settings.schema)'"])
        #expect(made.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }

    @Test("a ledger made on PostgreSQL by the release before migration 8 (the scenario's week) opens, migrates, and answers as before, its attendance keys date first")
    func ledgerBeforeMigration8() async throws {
        // Made by tools/make_postgres_upgrade_fixture.py with that release's binary: a plain dump of schema ktsx_fixture.
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/postgres-ledger-made-before-migration-8.sql")
        let server = PostgresLedgerTests.url.replacingOccurrences(of: "?sslmode=disable", with: "")
        let dropped = try runProcess("psql", [server, "-qc", "DROP SCHEMA IF EXISTS ktsx_fixture CASCADE"])
        #expect(dropped.status == 0, "\(dropped.standardError)")
        let loaded = try runProcess("psql", [server, "-q", "-v", "ON_ERROR_STOP=1", "-f", fixture.path])
        #expect(loaded.status == 0, "\(loaded.standardError)")
        defer { _ = try? runProcess("psql", [server, "-qc", "DROP SCHEMA IF EXISTS ktsx_fixture CASCADE"]) }
        var settings = try PostgresLedgerSettings.parse(PostgresLedgerTests.url).get()
        settings.schema = "ktsx_fixture"
        let ledger = try await PostgresLedger.open(settings: settings)
        try await LedgerRunning.with(ledger) {
            #expect(try await ledger.receipts(matching: ReceiptQuery()).count == 20, "one receipt for each of the scenario's 20 drops")
            let day = try await ledger.attendance(recipientOrgId: "061010", date: "2026-01-12")
            #expect(day.count == 20 && day.map(\.naturalKey) == day.map(\.naturalKey).sorted())
            for held in day {
                #expect(held.naturalKey.hasPrefix("2026-01-12|") && held.naturalKey == RecordTypeDescriptor.attendance.naturalKey(held.values))
                #expect(try await ledger.heldRecord(.attendance, key: held.naturalKey)?.receiptId == held.receiptId)
            }
            let trail = try await ledger.acceptedRecords(claimedFrom: nil, before: nil).filter { $0.type == .attendance }
            #expect(!trail.isEmpty && trail.allSatisfy { $0.naturalKey.hasPrefix("2026-01-1") })
            #expect(try await ledger.enrollments(ssid: "2100007919", center: "061014").count == 2)
        }
        let migrations = try runProcess("psql", [server, "-tAc", "SELECT string_agg(name, ' ' ORDER BY name) FROM ktsx_fixture.ledger_migration WHERE name > '7'"])
        #expect(migrations.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "7-held-lookups-in-key-order 8-attendance-keys-by-day 9-retired-years")
    }

    @Test("backed up with pg_dump and restored with pg_restore as README says, the ledger is the one of the dump and works on")
    func dumpAndRestore() async throws {
        let ledger = try await freshPostgresLedger(PostgresLedgerTests.url)
        let schema = ledger.schema
        func receipt(_ id: String) -> Receipt {
            Receipt(id: id, senderOrgId: "061014", originalName: "\(id).csv", sizeBytes: 1, sha256: id, claimedAt: Timestamp(secondsSinceEpoch: 1))
        }
        let server = PostgresLedgerTests.url.replacingOccurrences(of: "?sslmode=disable", with: "")
        try await withTemporaryDirectory { directory in
            let dump = directory.appendingPathComponent("ledger.dump").path
            try await LedgerRunning.with(ledger) {
                try await ledger.recordClaim(receipt("R1"))
                try await ledger.recordClaim(receipt("R2"))
                let dumped = try runProcess("pg_dump", ["--format=custom", "--schema=\(schema)", "--file=\(dump)", server])
                #expect(dumped.status == 0, "\(dumped.standardError)")
                // The hours after the dump.
                try await ledger.recordClaim(receipt("R3"))
            }
            // The ledger lost, then restored from the dump.
            let dropped = try runProcess("psql", [server, "-qc", "DROP SCHEMA \(schema) CASCADE"])
            #expect(dropped.status == 0, "\(dropped.standardError)")
            let restored = try runProcess("pg_restore", ["--dbname=\(server)", dump])
            #expect(restored.status == 0, "\(restored.standardError)")
        }
        var settings = try PostgresLedgerSettings.parse(PostgresLedgerTests.url).get()
        settings.schema = schema
        let reopened = try await PostgresLedger.open(settings: settings)
        try await LedgerRunning.with(reopened) {
            #expect(try await reopened.receipts(matching: ReceiptQuery()).map(\.id).sorted() == ["R1", "R2"])
            try await reopened.recordClaim(receipt("R4"))
            await #expect(throws: LedgerError.self) { try await reopened.recordClaim(receipt("R1")) }
        }
    }

    @Test("a stored value this ktsx does not know is refused with its column, not read as a default")
    func unknownStoredValue() async throws {
        let ledger = try await freshPostgresLedger(PostgresLedgerTests.url)
        try await LedgerRunning.with(ledger) {
            try await ledger.recordClaim(
                Receipt(id: "R1", senderOrgId: "061014", originalName: "f.csv", sizeBytes: 1, sha256: "a", claimedAt: Timestamp(secondsSinceEpoch: 1)))
            let sql = "UPDATE \(ledger.schema).receipt SET binding = 'json-by-ktsx-9' WHERE id = 'R1'"
            let result = try runProcess("psql", [PostgresLedgerTests.url.replacingOccurrences(of: "?sslmode=disable", with: ""), "-qc", sql])
            #expect(result.status == 0, "\(result.standardError)")
            do {
                _ = try await ledger.receipt(id: "R1")
                Issue.record("an unknown binding was read")
            } catch let error as LedgerError {
                #expect(error.code == .unknownStoredValue)
                #expect(error.message.contains("receipt.binding") && error.message.contains("json-by-ktsx-9"), "\(error)")
            }
        }
    }

    @Test("two instances racing: both migrate at once, one claims each receipt id, one runs each job key, one holds each name")
    func racingInstances() async throws {
        // Two instances start at once on an empty schema: both come up, the tables made once.
        var settings = try PostgresLedgerSettings.parse(PostgresLedgerTests.url).get()
        settings.schema = "race_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let opened = try await withThrowingTaskGroup(of: PostgresLedger.self) { [settings] group in
            for _ in 0..<2 { group.addTask { try await PostgresLedger.open(settings: settings) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let (first, second) = (opened[0], opened[1])
        try await LedgerRunning.with(first) { try await LedgerRunning.with(second) { try await race(first, second) } }
    }

    private func race(_ first: PostgresLedger, _ second: PostgresLedger) async throws {
        let won = await withTaskGroup(of: (Int, Bool).self) { group in
            for index in 0..<40 {
                let ledger = index % 2 == 0 ? first : second
                group.addTask {
                    let run = JobRun(id: "J\(index)", job: .gradePosting, runKey: "night:2026-01-\(10 + index / 2)", startedAt: Timestamp(secondsSinceEpoch: 1))
                    return (index / 2, (try? await ledger.claimJobRun(run)) ?? false)
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
                        try await ledger.recordClaim(receipt, leasedTo: "instance-\(index)")
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
        #expect(try await first.holdInstanceName("node-1"))
        #expect(try await !second.holdInstanceName("node-1"))
        #expect(try await second.holdInstanceName("node-2"))
    }

    @Test("the SQLite and PostgreSQL ledgers have the same tables, columns, nullability, keys and indexes")
    func sameSchemaAsSQLite() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("ledger.sqlite").path
            _ = try SQLiteLedger(path: path)
            var settings = try PostgresLedgerSettings.parse(PostgresLedgerTests.url).get()
            let schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            settings.schema = schema
            _ = try await PostgresLedger.open(settings: settings)
            func lines(_ tool: [String]) throws -> [String] {
                let result = try runProcess("/usr/bin/env", tool)
                #expect(result.status == 0, "\(tool[0]): \(result.standardError)")
                return result.standardOutput.split(separator: "\n").map(String.init)
            }
            func sqlite(_ query: String) throws -> [String] { try lines(["sqlite3", "-separator", "|", path, query]) }
            func psql(_ query: String) throws -> [String] { try lines(["psql", PostgresLedgerTests.url, "-At", "-F", "|", "-c", query]) }

            // Columns and NOT NULL, table by table. PostgreSQL's `seq` identity columns are SQLite's rowid;
            // each keeps its own migration bookkeeping.
            let sqliteColumns = try sqlite(
                """
                SELECT m.name, p.name, p."notnull" FROM sqlite_master m, pragma_table_info(m.name) p
                WHERE m.type = 'table' AND m.name <> 'grdb_migrations' ORDER BY m.name, p.cid
                """)
            let postgresColumns = try psql(
                """
                SELECT table_name, column_name, CASE is_nullable WHEN 'NO' THEN 1 ELSE 0 END FROM information_schema.columns
                WHERE table_schema = '\(schema)' AND table_name <> 'ledger_migration' AND column_name <> 'seq'
                ORDER BY table_name, ordinal_position
                """)
            #expect(sqliteColumns.count > 80)
            #expect(sqliteColumns == postgresColumns)

            // Primary keys and unique constraints by their columns; indexes by name, columns and whether partial
            // (`seq`, SQLite's rowid, which every SQLite index ends with, left out).
            let sqliteIndexes = try sqlite(
                """
                SELECT m.name, CASE il.origin WHEN 'pk' THEN 'primary key' WHEN 'u' THEN 'unique'
                    ELSE CASE il."unique" WHEN 1 THEN 'unique index ' || il.name ELSE 'index ' || il.name END END,
                    (SELECT group_concat(name, ',') FROM (SELECT ii.name FROM pragma_index_info(il.name) ii ORDER BY ii.seqno)),
                    CASE il.partial WHEN 1 THEN 'partial' ELSE '' END
                FROM sqlite_master m, pragma_index_list(m.name) il
                WHERE m.type = 'table' AND m.name <> 'grdb_migrations' ORDER BY 1, 2, 3
                """)
            let postgresIndexes = try psql(
                """
                SELECT t.relname, CASE WHEN ix.indisprimary THEN 'primary key' WHEN c.oid IS NOT NULL THEN 'unique'
                    WHEN ix.indisunique THEN 'unique index ' || i.relname ELSE 'index ' || i.relname END,
                    (SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
                        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum WHERE a.attname <> 'seq'),
                    CASE WHEN ix.indpred IS NOT NULL THEN 'partial' ELSE '' END
                FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid
                    JOIN pg_namespace n ON n.oid = t.relnamespace
                    LEFT JOIN pg_constraint c ON c.conindid = ix.indexrelid AND c.contype = 'u'
                WHERE n.nspname = '\(schema)' AND t.relname <> 'ledger_migration' ORDER BY 1, 2, 3
                """)
            #expect(sqliteIndexes.count > 20)
            #expect(sqliteIndexes == postgresIndexes)
        }
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
