import ExchangeCore
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// The ledger in PostgreSQL, for several `ktsx run` instances sharing one drop tree. The same tables,
/// invariants and versioned migrations as the SQLite ledger (each migration expressed for PostgreSQL under
/// the same name); the database enforces a receipt id once, the same bytes from the same sender accepted
/// at most once, and one run per job and key. A database migrated by a newer `ktsx` is refused.
///
/// Its statements run on a `PostgresClient` pool, which works while `run()` runs: the service runs the
/// ledger as a service of its `ServiceGroup`; commands and tests run it beside their work
/// (`LedgerRunning.with`).
public final class PostgresLedger: LedgerStore, Service {
    let sessions: PostgresSessions
    private let settings: PostgresLedgerSettings

    /// Connects, creates the schema and tables on first use and applies missing migrations (one instance at
    /// a time, under an advisory lock), on a connection of its own; the pool opens its connections once
    /// `run()` runs.
    /// - Throws: `LedgerError`: `.storage` when the server cannot be reached or refuses, `.newerSchema` when
    ///   the database has a migration this `ktsx` does not know.
    /// - Parameter readOnly: Migrates nothing and creates nothing (`ktsx validate --config`, which only
    ///   reads): a ledger missing a migration is refused.
    public static func open(
        settings: PostgresLedgerSettings, readOnly: Bool = false, logger: Logger = Logger(label: "ktsx.ledger")
    ) async throws(LedgerError) -> PostgresLedger {
        let ledger = try PostgresLedger(settings: settings, logger: logger)
        if readOnly { try await ledger.checkMigrated() } else { try await ledger.migrate() }
        return ledger
    }

    private init(settings: PostgresLedgerSettings, logger: Logger) throws(LedgerError) {
        self.settings = settings
        sessions = try PostgresSessions(settings: settings, logger: logger)
    }

    public var leaseSeconds: Int64 { settings.leaseSeconds }

    /// The PostgreSQL schema the tables live in.
    public var schema: String { settings.schema }

    /// Runs the connection pool until the task is cancelled or the service group shuts down gracefully;
    /// then gives up a held instance name.
    public func run() async {
        await sessions.run()
        await sessions.close()
    }

    /// The migrations, by the names the SQLite ledger gives them, each as PostgreSQL statements.
    static let migrations: [(name: String, statements: [PostgresQuery])] = [
        (
            "1-receipts-and-deliveries",
            [
                """
                CREATE TABLE receipt (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY,
                    id TEXT COLLATE "C" PRIMARY KEY,
                    sender_org_id TEXT COLLATE "C" NOT NULL,
                    original_name TEXT NOT NULL,
                    size_bytes BIGINT NOT NULL CHECK (size_bytes >= 0),
                    sha256 TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('claimed', 'writing', 'finished')),
                    claimed_at BIGINT NOT NULL,
                    file_type TEXT,
                    binding TEXT,
                    outcome TEXT CHECK (outcome IN ('ACCEPTED', 'ACCEPTED_WITH_ERRORS', 'REJECTED', 'DUPLICATE')),
                    records_received BIGINT NOT NULL DEFAULT 0,
                    records_accepted BIGINT NOT NULL DEFAULT 0,
                    records_rejected BIGINT NOT NULL DEFAULT 0,
                    error_count BIGINT NOT NULL DEFAULT 0,
                    duplicate_of TEXT REFERENCES receipt(id),
                    ack_file TEXT,
                    error_file TEXT,
                    finished_at BIGINT
                )
                """,
                "CREATE INDEX receipt_by_content ON receipt(sender_org_id, sha256)",
                "CREATE INDEX receipt_unfinished ON receipt(state) WHERE state <> 'finished'",
                """
                CREATE UNIQUE INDEX receipt_accepted_once ON receipt(sender_org_id, sha256)
                    WHERE outcome IN ('ACCEPTED', 'ACCEPTED_WITH_ERRORS')
                """,
                """
                CREATE TABLE delivery (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY,
                    receipt_id TEXT NOT NULL REFERENCES receipt(id),
                    recipient_org_id TEXT COLLATE "C" NOT NULL,
                    file_name TEXT NOT NULL,
                    delivered_at BIGINT NOT NULL,
                    picked_up_at BIGINT,
                    UNIQUE (receipt_id, file_name)
                )
                """,
                "CREATE INDEX delivery_pending ON delivery(recipient_org_id, file_name) WHERE picked_up_at IS NULL",
            ]
        ),
        (
            "2-rejected-records",
            [
                """
                CREATE TABLE rejected_record (
                    receipt_id TEXT NOT NULL REFERENCES receipt(id),
                    line BIGINT NOT NULL,
                    record_key TEXT,
                    codes TEXT NOT NULL,
                    PRIMARY KEY (receipt_id, line)
                )
                """
            ]
        ),
        (
            "3-held-records-waivers-jobs",
            [
                // Deliveries now come from receipts and from job runs: the column keeps its name, without the
                // reference to receipt.
                "ALTER TABLE delivery DROP CONSTRAINT delivery_receipt_id_fkey",
                """
                CREATE TABLE held_record (
                    type TEXT COLLATE "C" NOT NULL,
                    natural_key TEXT COLLATE "C" NOT NULL,
                    sender_org_id TEXT COLLATE "C" NOT NULL,
                    recipient_org_id TEXT COLLATE "C" NOT NULL,
                    school_year BIGINT NOT NULL,
                    ssid TEXT NOT NULL,
                    center_org_id TEXT NOT NULL,
                    record_date TEXT NOT NULL,
                    fields TEXT NOT NULL,
                    receipt_id TEXT NOT NULL REFERENCES receipt(id),
                    accepted_at BIGINT NOT NULL,
                    deleted BOOLEAN NOT NULL,
                    pending_posting BOOLEAN NOT NULL DEFAULT false,
                    posting_run TEXT,
                    ever_posted BOOLEAN NOT NULL DEFAULT false,
                    PRIMARY KEY (type, natural_key)
                )
                """,
                "CREATE INDEX held_by_student ON held_record(type, ssid, center_org_id)",
                "CREATE INDEX held_by_recipient_day ON held_record(type, recipient_org_id, record_date)",
                "CREATE INDEX held_pending_posting ON held_record(posting_run) WHERE pending_posting",
                """
                CREATE TABLE waiver_request (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY,
                    id TEXT PRIMARY KEY,
                    center_org_id TEXT NOT NULL,
                    school_year BIGINT NOT NULL,
                    fields TEXT NOT NULL,
                    receipt_id TEXT NOT NULL,
                    received_at BIGINT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'withdrawn')),
                    decision_reason TEXT,
                    decided_at BIGINT
                )
                """,
                "CREATE INDEX waiver_by_center ON waiver_request(center_org_id, school_year)",
                """
                CREATE TABLE job_run (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY,
                    id TEXT PRIMARY KEY,
                    job TEXT NOT NULL,
                    run_key TEXT COLLATE "C" NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('claimed', 'writing', 'finished')),
                    started_at BIGINT NOT NULL,
                    finished_at BIGINT,
                    detail TEXT NOT NULL,
                    files BIGINT NOT NULL DEFAULT 0,
                    records BIGINT NOT NULL DEFAULT 0,
                    UNIQUE (job, run_key)
                )
                """,
                "CREATE INDEX job_run_unfinished ON job_run(state) WHERE state <> 'finished'",
            ]
        ),
        (
            "4-review",
            [
                "ALTER TABLE receipt ADD COLUMN reprocess_of TEXT",
                "ALTER TABLE receipt ADD COLUMN failed_records_only BOOLEAN NOT NULL DEFAULT false",
                """
                CREATE UNIQUE INDEX receipt_reprocessed_once ON receipt(reprocess_of)
                    WHERE reprocess_of IS NOT NULL AND (state <> 'finished' OR outcome IN ('ACCEPTED', 'ACCEPTED_WITH_ERRORS'))
                """,
                "CREATE INDEX receipt_by_reprocess ON receipt(reprocess_of) WHERE reprocess_of IS NOT NULL",
                "CREATE INDEX receipt_by_sender_time ON receipt(sender_org_id, claimed_at)",
                "CREATE INDEX receipt_by_time ON receipt(claimed_at)",
                "DROP INDEX receipt_accepted_once",
                """
                CREATE UNIQUE INDEX receipt_accepted_once ON receipt(sender_org_id, sha256)
                    WHERE outcome IN ('ACCEPTED', 'ACCEPTED_WITH_ERRORS') AND NOT failed_records_only
                """,
                """
                CREATE TABLE receipt_issue (
                    receipt_id TEXT NOT NULL,
                    position BIGINT NOT NULL,
                    code TEXT NOT NULL,
                    message TEXT NOT NULL,
                    line BIGINT,
                    column_number BIGINT,
                    path TEXT,
                    field TEXT,
                    row_number BIGINT,
                    record_key TEXT,
                    PRIMARY KEY (receipt_id, position)
                )
                """,
            ]
        ),
        (
            // Work in progress is leased to one instance (or command) at a time, on the server's clock (so
            // the instances' clocks need not agree).
            "5-leases",
            [
                "ALTER TABLE receipt ADD COLUMN lease_owner TEXT",
                "ALTER TABLE receipt ADD COLUMN lease_until BIGINT",
                "ALTER TABLE job_run ADD COLUMN lease_owner TEXT",
                "ALTER TABLE job_run ADD COLUMN lease_until BIGINT",
                """
                CREATE TABLE sender_lease (
                    org_id TEXT PRIMARY KEY,
                    lease_owner TEXT NOT NULL,
                    lease_until BIGINT NOT NULL
                )
                """,
            ]
        ),
        (
            // A delivery is one file for one recipient; the record trail says which accepted record went into
            // which delivered file.
            "6-delivery-identity-and-trail",
            [
                "ALTER TABLE delivery DROP CONSTRAINT delivery_receipt_id_file_name_key",
                "ALTER TABLE delivery ADD CONSTRAINT delivery_identity UNIQUE (receipt_id, recipient_org_id, file_name)",
                "CREATE INDEX delivery_by_time ON delivery(delivered_at)",
                """
                CREATE TABLE accepted_record (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY,
                    receipt_id TEXT COLLATE "C" NOT NULL,
                    record_id TEXT COLLATE "C" NOT NULL,
                    type TEXT NOT NULL,
                    natural_key TEXT COLLATE "C" NOT NULL,
                    recipient_org_id TEXT COLLATE "C" NOT NULL,
                    deleted BOOLEAN NOT NULL,
                    PRIMARY KEY (receipt_id, record_id)
                )
                """,
                """
                CREATE TABLE delivered_record (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY,
                    source_id TEXT COLLATE "C" NOT NULL,
                    recipient_org_id TEXT COLLATE "C" NOT NULL,
                    file_name TEXT NOT NULL,
                    receipt_id TEXT COLLATE "C" NOT NULL,
                    record_id TEXT COLLATE "C" NOT NULL,
                    PRIMARY KEY (source_id, recipient_org_id, file_name, receipt_id, record_id)
                )
                """,
                "CREATE INDEX delivered_by_record ON delivered_record(receipt_id, record_id)",
            ]
        ),
        (
            // A student's enrollments and a school's day of attendance, asked in key order, read from their
            // indexes in that order.
            "7-held-lookups-in-key-order",
            [
                "DROP INDEX held_by_student",
                "CREATE INDEX held_by_student ON held_record(type, ssid, center_org_id, natural_key)",
                "DROP INDEX held_by_recipient_day",
                "CREATE INDEX held_by_recipient_day ON held_record(type, recipient_org_id, record_date, natural_key)",
            ]
        ),
        (
            // Attendance keys start with their date (`RecordTypeDescriptor.attendance`), so a day's records
            // sit side by side in the key's index: keys held before are rewritten (`AttendanceKeys.dayFirst`).
            // Only enrollments are looked up by student: the other types leave that index, which starts with
            // the student (PostgreSQL takes `type = 'ENR'` as met by the index's condition and would not use a
            // leading type column to find a student: every lookup walked the index).
            "8-attendance-keys-by-day",
            [
                PostgresQuery(unsafeSQL: "UPDATE held_record SET natural_key = \(dayFirstKey) WHERE type = 'ATT' AND natural_key !~ '^[0-9]{4}-'"),
                PostgresQuery(unsafeSQL: "UPDATE accepted_record SET natural_key = \(dayFirstKey) WHERE type = 'ATT' AND natural_key !~ '^[0-9]{4}-'"),
                "DROP INDEX held_by_student",
                "CREATE INDEX held_by_student ON held_record(ssid, center_org_id, natural_key) WHERE type = 'ENR'",
            ]
        ),
        (
            // School years retired into their archive files (`ktsx retire`); a job's latest run found in its
            // own index (`ktsx status` sorted every run of the job: 6 ms a job at a year's 40,000 runs).
            "9-retired-years",
            [
                "CREATE INDEX job_run_latest ON job_run(job, seq)",
                """
                CREATE TABLE retired_year (
                    school_year BIGINT PRIMARY KEY,
                    claimed_from BIGINT NOT NULL,
                    claimed_before BIGINT NOT NULL,
                    archive_file TEXT NOT NULL,
                    started_at BIGINT NOT NULL,
                    finished_at BIGINT
                )
                """
            ]
        ),
        (
            // Why support judged a file again, and who asked (the review page asks for a reason).
            "10-reprocess-reasons",
            ["ALTER TABLE receipt ADD COLUMN reprocess_reason TEXT"]
        ),
        (
            // What each participant's contacts are told (an event once per contact), until it is sent.
            "11-notifications",
            [
                """
                CREATE TABLE notification (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY,
                    event_id TEXT COLLATE "C" NOT NULL,
                    contact TEXT COLLATE "C" NOT NULL,
                    org_id TEXT COLLATE "C" NOT NULL,
                    kind TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    body TEXT NOT NULL,
                    facts TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    state TEXT NOT NULL,
                    attempts INTEGER NOT NULL,
                    next_attempt_at BIGINT NOT NULL,
                    sent_at BIGINT,
                    last_error TEXT,
                    lease_owner TEXT,
                    lease_until BIGINT,
                    PRIMARY KEY (event_id, contact)
                )
                """,
                "CREATE INDEX notification_due ON notification(next_attempt_at) WHERE state = 'pending'",
                "CREATE INDEX notification_by_org ON notification(org_id, created_at)",
            ]
        ),
    ]

    /// `natural_key` (`ssid|center|date|course|section|period`) with its date moved first, in SQL.
    private static let dayFirstKey = [3, 1, 2, 4, 5, 6].map { "split_part(natural_key, '|', \($0))" }.joined(separator: " || '|' || ")

    /// The server's clock in SQL: seconds since the epoch.
    private static let leaseClock = "extract(epoch FROM clock_timestamp())::bigint"

    /// Leases the unfinished row `id` of `table` to `owner` if it is free, already `owner`'s or run out.
    private func lease(_ table: String, id: String, to owner: String, on connection: PostgresConnection) async throws -> Bool {
        var bindings = PostgresBindings()
        bindings.append(owner)
        bindings.append(settings.leaseSeconds)
        bindings.append(id)
        let clock = PostgresLedger.leaseClock
        return try await execute(
            PostgresQuery(
                unsafeSQL: """
                    UPDATE \(table) SET lease_owner = $1, lease_until = \(clock) + $2
                    WHERE id = $3 AND state <> 'finished' AND (lease_owner IS NULL OR lease_owner = $1 OR lease_until < \(clock))
                    """, binds: bindings), on: connection) == 1
    }

    public func lease(receiptId: String, to owner: String) async throws(LedgerError) -> Bool {
        try await writeOne("leasing receipt \(receiptId)") { connection in try await lease("receipt", id: receiptId, to: owner, on: connection) }
    }

    public func lease(senders: [String], to owner: String) async throws(LedgerError) -> Set<String> {
        guard !senders.isEmpty else { return [] }
        // In the senders' order, so that two instances leasing the same senders lock their rows in one order.
        var bind = StatementBinder()
        let clock = PostgresLedger.leaseClock
        let sql = """
            INSERT INTO sender_lease (org_id, lease_owner, lease_until)
            SELECT org_id, \(bind(owner)), \(clock) + \(bind(settings.leaseSeconds))
            FROM unnest(\(bind(senders.sorted()))::text[]) AS asked(org_id)
            ON CONFLICT (org_id) DO UPDATE SET lease_owner = excluded.lease_owner, lease_until = excluded.lease_until
            WHERE sender_lease.lease_owner = excluded.lease_owner OR sender_lease.lease_until < \(clock)
            RETURNING org_id
            """
        let statement = bind.query(sql)
        let leased = try await writeOne("leasing the files of \(senders.count) senders") { connection in
            try await sessions.run(statement, on: connection).rows.map { try $0.decode(String.self) }
        }
        return Set(leased)
    }

    public func release(senders: [String], by owner: String) async throws(LedgerError) {
        guard !senders.isEmpty else { return }
        _ = try await writeOne("releasing the files of \(senders.count) senders") { connection in
            try await execute(
                "DELETE FROM sender_lease WHERE org_id = ANY(\(senders)::text[]) AND lease_owner = \(owner)", on: connection)
        }
    }

    public func holdInstanceName(_ name: String) async throws(LedgerError) -> Bool {
        // A session-level advisory lock on a connection of its own, kept open while the process lives:
        // the server releases it when the connection drops, however the process ends.
        try await sessions.holdAdvisoryLock("\(settings.schema)/\(name)", what: "holding the instance name \(name)")
    }

    public func lease(jobRunId: String, to owner: String) async throws(LedgerError) -> Bool {
        try await writeOne("leasing job run \(jobRunId)") { connection in try await lease("job_run", id: jobRunId, to: owner, on: connection) }
    }

    private func migrate() async throws(LedgerError) {
        let schema = settings.schema
        try await sessions.transactionOnItsOwn("preparing the ledger in \(settings.place)") { connection in
            // One instance migrates at a time; the others wait here and then find nothing to do. A migration
            // of a large ledger may take minutes: they wait for it (up to ten), not the usual lock timeout.
            _ = try await sessions.run("SET LOCAL lock_timeout = '10min'", on: connection)
            _ = try await sessions.run("SELECT pg_advisory_xact_lock(4242, hashtext(\(schema)))", on: connection)
            _ = try await sessions.run(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \"\(schema)\""), on: connection)
            _ = try await sessions.run("CREATE TABLE IF NOT EXISTS ledger_migration (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)", on: connection)
            let applied = Set(try await sessions.run("SELECT name FROM ledger_migration", on: connection).map { try Columns($0).string("name") })
            let known = Set(PostgresLedger.migrations.map(\.name))
            if let unknown = applied.subtracting(known).sorted().first {
                throw LedgerError(
                    .newerSchema,
                    "the ledger at \(settings.place) has migration '\(unknown)', which this ktsx does not know; use a newer ktsx")
            }
            for migration in PostgresLedger.migrations where !applied.contains(migration.name) {
                for statement in migration.statements { _ = try await sessions.run(statement, on: connection) }
                _ = try await sessions.run(
                    "INSERT INTO ledger_migration (name, applied_at) VALUES (\(migration.name), extract(epoch FROM now())::bigint)",
                    on: connection)
            }
        }
    }

    /// Refuses a ledger that lacks a migration this `ktsx` knows, or has one it does not know.
    private func checkMigrated() async throws(LedgerError) {
        let place = settings.place
        try await sessions.transactionOnItsOwn("reading the ledger's migrations in \(place)") { connection in
            let present = try await sessions.run("SELECT to_regclass('ledger_migration') IS NOT NULL AS present", on: connection)
                .first.map { try Columns($0).bool("present") } ?? false
            guard present else { throw LedgerError(.storage, "there is no ledger in schema \(settings.schema) of \(place) yet: `ktsx run` makes it") }
            let applied = Set(try await sessions.run("SELECT name FROM ledger_migration", on: connection).map { try Columns($0).string("name") })
            let known = PostgresLedger.migrations.map(\.name)
            if let unknown = applied.subtracting(known).sorted().first {
                throw LedgerError(.newerSchema, "the ledger at \(place) has migration '\(unknown)', which this ktsx does not know; use a newer ktsx")
            }
            if let missing = known.first(where: { !applied.contains($0) }) {
                throw LedgerError(.storage, "the ledger at \(place) lacks migration '\(missing)' and is only read here: start `ktsx run` once to migrate it")
            }
        }
    }

    public func checkStorage() async throws(LedgerError) {
        // A server that cannot be reached fails the pass's own statements (retried); only tables that are
        // gone stop the exchange.
        let present: Bool
        do {
            present = try await sessions.withConnection("checking the ledger") { connection in
                try await sessions.run("SELECT to_regclass('receipt') IS NOT NULL AS present", on: connection).first.map { try Columns($0).bool("present") } ?? false
            }
        } catch {
            return
        }
        if !present {
            throw LedgerError(.storage, "the ledger's tables are gone from schema \(settings.schema) of \(settings.place); nothing more is recorded")
        }
    }

    // MARK: Statements

    func rows(_ what: String, _ query: PostgresQuery) async throws(LedgerError) -> [PostgresRow] {
        try await sessions.withConnection(what) { connection in Array(try await sessions.run(query, on: connection)) }
    }

    func decoded<T>(_ what: String, _ query: PostgresQuery, _ decode: (Columns) throws -> T) async throws(LedgerError) -> [T] {
        let found = try await rows(what, query)
        do {
            return try found.map { try decode(Columns($0)) }
        } catch let error as LedgerError {
            throw error
        } catch let error as PostgresDecodingError {
            // The column and the types only: never the value (it may be a student's).
            throw LedgerError(.storage, "\(what): column \(error.columnName) holds a \(error.postgresType), not a \(error.targetType)", cause: error)
        } catch {
            throw LedgerError(.storage, "\(what): a row could not be read: \(error)", cause: error)
        }
    }

    /// Runs `body` in one transaction; with `transaction: false`, `body`'s one statement is committed on
    /// its own (a single statement is atomic without BEGIN and COMMIT, two more round trips).
    func write<T: Sendable>(
        _ what: String, transaction: Bool = true, _ body: (PostgresConnection) async throws -> T
    ) async throws(LedgerError) -> T {
        transaction ? try await sessions.transaction(what, body) : try await sessions.withConnection(what, body)
    }

    /// `write` of one statement.
    private func writeOne<T: Sendable>(_ what: String, _ body: (PostgresConnection) async throws -> T) async throws(LedgerError) -> T {
        try await write(what, transaction: false, body)
    }

    @discardableResult
    func execute(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> Int {
        try await sessions.run(query, on: connection).metadata.rows ?? 0
    }

    // MARK: Receipts

    private static let receiptColumns = """
        id, sender_org_id, original_name, size_bytes, sha256, state, claimed_at, file_type, binding, outcome, \
        records_received, records_accepted, records_rejected, error_count, duplicate_of, ack_file, error_file, finished_at, \
        reprocess_of, failed_records_only, reprocess_reason
        """

    private static func receipt(from row: Columns) throws -> Receipt {
        var receipt = Receipt(
            id: try row.string("id"), senderOrgId: try row.string("sender_org_id"), originalName: try row.string("original_name"),
            sizeBytes: try row.int64("size_bytes"), sha256: try row.string("sha256"),
            claimedAt: Timestamp(secondsSinceEpoch: try row.int64("claimed_at")))
        receipt.state = try LedgerError.stored(try row.string("state"), in: "receipt.state")
        receipt.fileType = try LedgerError.stored(try row.optionalString("file_type"), in: "receipt.file_type")
        receipt.binding = try LedgerError.stored(try row.optionalString("binding"), in: "receipt.binding")
        receipt.outcome = try LedgerError.stored(try row.optionalString("outcome"), in: "receipt.outcome")
        receipt.recordsReceived = try row.int("records_received")
        receipt.recordsAccepted = try row.int("records_accepted")
        receipt.recordsRejected = try row.int("records_rejected")
        receipt.errorCount = try row.int("error_count")
        receipt.duplicateOf = try row.optionalString("duplicate_of")
        receipt.ackFile = try row.optionalString("ack_file")
        receipt.errorFile = try row.optionalString("error_file")
        receipt.finishedAt = try row.optionalInt64("finished_at").map(Timestamp.init(secondsSinceEpoch:))
        receipt.reprocessOf = try row.optionalString("reprocess_of")
        receipt.failedRecordsOnly = try row.bool("failed_records_only")
        receipt.reprocessReason = try row.optionalString("reprocess_reason")
        return receipt
    }

    @discardableResult
    public func recordClaim(_ receipt: Receipt, leasedTo owner: String?) async throws(LedgerError) -> Receipt? {
        // Recorded and leased, and the first accepted receipt of the same bytes read, in one statement.
        try await decoded(
            "recording receipt \(receipt.id)",
            """
            WITH claimed AS (INSERT INTO receipt (\(unescaped: PostgresLedger.receiptColumns), lease_owner, lease_until) VALUES (\(receipt.id),
                \(receipt.senderOrgId), \(receipt.originalName), \(receipt.sizeBytes), \(receipt.sha256), \(receipt.state.rawValue),
                \(receipt.claimedAt.secondsSinceEpoch), \(receipt.fileType?.code), \(receipt.binding?.rawValue),
                \(receipt.outcome?.rawValue), \(receipt.recordsReceived), \(receipt.recordsAccepted), \(receipt.recordsRejected),
                \(receipt.errorCount), \(receipt.duplicateOf), \(receipt.ackFile), \(receipt.errorFile),
                \(receipt.finishedAt?.secondsSinceEpoch), \(receipt.reprocessOf), \(receipt.failedRecordsOnly), \(receipt.reprocessReason), \(owner),
                CASE WHEN \(owner != nil) THEN \(unescaped: PostgresLedger.leaseClock) + \(settings.leaseSeconds) END) RETURNING id)
            SELECT * FROM receipt WHERE sender_org_id = \(receipt.senderOrgId) AND sha256 = \(receipt.sha256)
            AND outcome IN ('ACCEPTED', 'ACCEPTED_WITH_ERRORS') ORDER BY seq LIMIT 1
            """, PostgresLedger.receipt(from:)
        ).first
    }

    public func update(
        _ receipt: Receipt, recordingDeliveries deliveries: [Delivery], findings: ReceiptFindings, applying changes: LedgerChanges
    ) async throws(LedgerError) {
        // One statement: the receipt's row, and what the judgement records as data-modifying CTEs (its
        // deliveries and trail, the held and accepted records, the findings), written only if the receipt
        // is there. Atomic, one round trip. A waiver's judgement adds its waivers in the same transaction.
        var bind = StatementBinder()
        var sql = """
            WITH updated AS (UPDATE receipt SET sender_org_id = \(bind(receipt.senderOrgId)), original_name = \(bind(receipt.originalName)),
                size_bytes = \(bind(receipt.sizeBytes)), sha256 = \(bind(receipt.sha256)), state = \(bind(receipt.state.rawValue)),
                claimed_at = \(bind(receipt.claimedAt.secondsSinceEpoch)), file_type = \(bind(receipt.fileType?.code)),
                binding = \(bind(receipt.binding?.rawValue)), outcome = \(bind(receipt.outcome?.rawValue)),
                records_received = \(bind(receipt.recordsReceived)), records_accepted = \(bind(receipt.recordsAccepted)),
                records_rejected = \(bind(receipt.recordsRejected)), error_count = \(bind(receipt.errorCount)),
                duplicate_of = \(bind(receipt.duplicateOf)), ack_file = \(bind(receipt.ackFile)), error_file = \(bind(receipt.errorFile)),
                finished_at = \(bind(receipt.finishedAt?.secondsSinceEpoch)), reprocess_of = \(bind(receipt.reprocessOf)),
                failed_records_only = \(bind(receipt.failedRecordsOnly)), reprocess_reason = \(bind(receipt.reprocessReason))
                WHERE id = \(bind(receipt.id)) RETURNING id)
            """
        let onlyIfUpdated = "WHERE EXISTS (SELECT 1 FROM updated)"
        var parts = PostgresLedger.deliveryRows(deliveries, &bind, onlyIf: onlyIfUpdated)
        parts += PostgresLedger.heldRows(changes.held, &bind, onlyIf: onlyIfUpdated)
        parts += PostgresLedger.acceptedRows(changes.held.map(AcceptedRecord.init), &bind, onlyIf: onlyIfUpdated)
        parts += PostgresLedger.findingRows(findings, receiptId: receipt.id, &bind, onlyIf: onlyIfUpdated)
        for (index, part) in parts.enumerated() { sql += ",\n    part\(index) AS (\(part))" }
        sql += "\nSELECT count(*) AS updated FROM updated"
        let statement = bind.query(sql)
        let waivers = changes.waivers
        try await write("updating receipt \(receipt.id)", transaction: !waivers.isEmpty) { connection in
            let updated = try await sessions.run(statement, on: connection).rows.first?.decode(Int64.self) ?? 0
            guard updated > 0 else { throw LedgerError(.unknownReceipt, "no receipt \(receipt.id)") }
            for waiver in waivers { try await save(waiver, on: connection) }
        }
    }

    public func receipt(id: String) async throws(LedgerError) -> Receipt? {
        try await decoded("reading receipt \(id)", "SELECT * FROM receipt WHERE id = \(id)", PostgresLedger.receipt(from:)).first
    }

    public func firstAccepted(sender: String, sha256: String) async throws(LedgerError) -> Receipt? {
        try await decoded(
            "looking for an accepted copy",
            """
            SELECT * FROM receipt WHERE sender_org_id = \(sender) AND sha256 = \(sha256)
            AND outcome IN ('ACCEPTED', 'ACCEPTED_WITH_ERRORS') ORDER BY seq LIMIT 1
            """, PostgresLedger.receipt(from:)
        ).first
    }

    public func unfinishedReceipts() async throws(LedgerError) -> [Receipt] {
        try await decoded(
            "listing unfinished receipts", "SELECT * FROM receipt WHERE state <> 'finished' ORDER BY seq", PostgresLedger.receipt(from:))
    }

    public func allReceipts() async throws(LedgerError) -> [Receipt] {
        try await decoded("listing receipts", "SELECT * FROM receipt ORDER BY seq", PostgresLedger.receipt(from:))
    }

    /// The WHERE clause (with its bound values) that selects the receipts of `query`.
    private static func condition(_ query: ReceiptQuery) -> (String, PostgresBindings) {
        var clauses = ["true"]
        var bindings = PostgresBindings()
        func placeholder() -> String { "$\(bindings.count)" }
        func oneOf(_ column: String, _ values: [String]) {
            guard !values.isEmpty else { return }
            var marks: [String] = []
            for value in values {
                bindings.append(value)
                marks.append(placeholder())
            }
            clauses.append("\(column) IN (\(marks.joined(separator: ", ")))")
        }
        oneOf("sender_org_id", query.senders.sorted())
        oneOf("file_type", query.types.map(\.code).sorted())
        oneOf("outcome", query.outcomes.map(\.rawValue).sorted())
        if let from = query.claimedFrom {
            bindings.append(from.secondsSinceEpoch)
            clauses.append("claimed_at >= \(placeholder())")
        }
        if let before = query.claimedBefore {
            bindings.append(before.secondsSinceEpoch)
            clauses.append("claimed_at < \(placeholder())")
        }
        if let reprocessOf = query.reprocessOf {
            bindings.append(reprocessOf)
            clauses.append("reprocess_of = \(placeholder())")
        }
        if query.sentOnly { clauses.append("reprocess_of IS NULL") }
        return (clauses.joined(separator: " AND "), bindings)
    }

    public func receipts(matching query: ReceiptQuery) async throws(LedgerError) -> [Receipt] {
        let (condition, bindings) = PostgresLedger.condition(query)
        let limit = query.limit.map { " LIMIT \(max(0, $0))" } ?? ""
        return try await decoded(
            "searching receipts",
            PostgresQuery(unsafeSQL: "SELECT * FROM receipt WHERE \(condition) ORDER BY claimed_at DESC, seq DESC\(limit)", binds: bindings),
            PostgresLedger.receipt(from:))
    }

    public func issueCodeCounts(matching query: ReceiptQuery) async throws(LedgerError) -> [String: Int] {
        let (condition, bindings) = PostgresLedger.condition(query)
        let counts = try await decoded(
            "counting the issues by code",
            PostgresQuery(
                unsafeSQL: "SELECT code, count(*) AS n FROM receipt JOIN receipt_issue ON receipt_issue.receipt_id = receipt.id WHERE \(condition) GROUP BY code",
                binds: bindings)
        ) { (try $0.string("code"), try $0.int("n")) }
        return Dictionary(uniqueKeysWithValues: counts)
    }

    public func latestReceiptPerSender(matching query: ReceiptQuery) async throws(LedgerError) -> [Receipt] {
        let (condition, bindings) = PostgresLedger.condition(query)
        return try await decoded(
            "finding each sender's latest receipt",
            PostgresQuery(
                // Sender by sender (each the next one up in the sender index), and for each its newest matching
                // receipt from that index: ranking every receipt of the ledger grew with the years (the status
                // page and the quiet centers ask this).
                unsafeSQL: """
                    WITH RECURSIVE sender(id) AS (
                        SELECT min(sender_org_id) FROM receipt
                        UNION ALL
                        SELECT (SELECT min(sender_org_id) FROM receipt WHERE sender_org_id > sender.id) FROM sender WHERE id IS NOT NULL
                    )
                    SELECT latest.* FROM sender CROSS JOIN LATERAL (
                        SELECT * FROM receipt WHERE sender_org_id = sender.id AND \(condition) ORDER BY claimed_at DESC, seq DESC LIMIT 1
                    ) latest ORDER BY latest.sender_org_id
                    """, binds: bindings),
            PostgresLedger.receipt(from:))
    }

    public func rejectedRecords(receiptId: String) async throws(LedgerError) -> [RejectedRecord] {
        try await decoded("listing rejected records", "SELECT * FROM rejected_record WHERE receipt_id = \(receiptId) ORDER BY line") {
            RejectedRecord(
                receiptId: try $0.string("receipt_id"), line: try $0.int("line"), recordKey: try $0.optionalString("record_key"),
                codes: try $0.string("codes").split(separator: ",").map(String.init))
        }
    }

    public func issues(receiptId: String) async throws(LedgerError) -> [ValidationIssue] {
        try await decoded("listing the issues of a receipt", "SELECT * FROM receipt_issue WHERE receipt_id = \(receiptId) ORDER BY position") {
            ValidationIssue(
                code: ValidationIssue.Code(rawValue: try $0.string("code")), message: try $0.string("message"),
                line: try $0.optionalInt("line"), column: try $0.optionalInt("column_number"), path: try $0.optionalString("path"),
                field: try $0.optionalString("field"), row: try $0.optionalInt("row_number"), recordKey: try $0.optionalString("record_key"))
        }
    }

    // MARK: Deliveries

    private static func delivery(from row: Columns) throws -> Delivery {
        Delivery(
            receiptId: try row.string("receipt_id"), recipientOrgId: try row.string("recipient_org_id"),
            fileName: try row.string("file_name"), deliveredAt: Timestamp(secondsSinceEpoch: try row.int64("delivered_at")),
            pickedUpAt: try row.optionalInt64("picked_up_at").map(Timestamp.init(secondsSinceEpoch:)))
    }

    // Rows are written a table at a time: each column bound once as an array and unnested, so that a
    // file's commit is one statement whatever its number of records. Each function returns the INSERT
    // statements for its rows (none when there are none), to run as CTEs of one statement; `onlyIf` is a
    // WHERE clause every row must meet. PostgresNIO's arrays hold no NULL, so an optional column travels as
    // its values and a flag per row.

    private static func deliveryRows(_ deliveries: [Delivery], _ bind: inout StatementBinder, onlyIf: String = "") -> [String] {
        guard !deliveries.isEmpty else { return [] }
        let pickedUp = deliveries.map(\.pickedUpAt)
        var parts = [
            """
            INSERT INTO delivery (receipt_id, recipient_org_id, file_name, delivered_at, picked_up_at)
            SELECT receipt_id, recipient_org_id, file_name, delivered_at, CASE WHEN picked_up THEN picked_up_at END
            FROM unnest(\(bind(deliveries.map(\.receiptId)))::text[], \(bind(deliveries.map(\.recipientOrgId)))::text[],
                \(bind(deliveries.map(\.fileName)))::text[], \(bind(deliveries.map(\.deliveredAt.secondsSinceEpoch)))::bigint[],
                \(bind(pickedUp.map { $0?.secondsSinceEpoch ?? 0 }))::bigint[], \(bind(pickedUp.map { $0 != nil }))::boolean[])
                WITH ORDINALITY AS row(receipt_id, recipient_org_id, file_name, delivered_at, picked_up_at, picked_up, position)
            \(onlyIf) ORDER BY position
            ON CONFLICT DO NOTHING
            """
        ]
        let trail = deliveries.flatMap { delivery in delivery.records.map { (delivery, $0) } }
        guard !trail.isEmpty else { return parts }
        parts.append(
            """
            INSERT INTO delivered_record (source_id, recipient_org_id, file_name, receipt_id, record_id)
            SELECT source_id, recipient_org_id, file_name, receipt_id, record_id
            FROM unnest(\(bind(trail.map(\.0.receiptId)))::text[], \(bind(trail.map(\.0.recipientOrgId)))::text[],
                \(bind(trail.map(\.0.fileName)))::text[], \(bind(trail.map(\.1.receiptId)))::text[],
                \(bind(trail.map { LedgerRecordFields.storable($0.1.recordId) }))::text[])
                WITH ORDINALITY AS row(source_id, recipient_org_id, file_name, receipt_id, record_id, position)
            \(onlyIf) ORDER BY position
            ON CONFLICT DO NOTHING
            """)
        return parts
    }

    /// Holds the latest version of each key (a file that adds and then updates a key holds the update),
    /// in key order: two instances applying files that touch the same records lock them in one order.
    private static func heldRows(_ changes: [HeldRecord], _ bind: inout StatementBinder, onlyIf: String) -> [String] {
        var latest: [String: HeldRecordRow] = [:]
        for held in changes { latest["\(held.type.code)|\(held.naturalKey)"] = HeldRecordRow(held) }
        let rows = latest.values.sorted { ($0.type, $0.naturalKey) < ($1.type, $1.naturalKey) }
        guard !rows.isEmpty else { return [] }
        return [
            """
            INSERT INTO held_record (type, natural_key, sender_org_id, recipient_org_id, school_year, ssid, center_org_id,
                record_date, fields, receipt_id, accepted_at, deleted, pending_posting, posting_run)
            SELECT type, natural_key, sender_org_id, recipient_org_id, school_year, ssid, center_org_id, record_date, fields,
                receipt_id, accepted_at, deleted, pending_posting, NULL
            FROM unnest(\(bind(rows.map(\.type)))::text[], \(bind(rows.map(\.naturalKey)))::text[], \(bind(rows.map(\.senderOrgId)))::text[],
                \(bind(rows.map(\.recipientOrgId)))::text[], \(bind(rows.map { Int64($0.schoolYear) }))::bigint[],
                \(bind(rows.map(\.ssid)))::text[], \(bind(rows.map(\.centerOrgId)))::text[], \(bind(rows.map(\.recordDate)))::text[],
                \(bind(rows.map(\.fields)))::text[], \(bind(rows.map(\.receiptId)))::text[], \(bind(rows.map(\.acceptedAt)))::bigint[],
                \(bind(rows.map(\.deleted)))::boolean[], \(bind(rows.map(\.pendingPosting)))::boolean[]) WITH ORDINALITY
                AS row(type, natural_key, sender_org_id, recipient_org_id, school_year, ssid, center_org_id, record_date, fields,
                    receipt_id, accepted_at, deleted, pending_posting, position)
            \(onlyIf) ORDER BY position
            ON CONFLICT (type, natural_key) DO UPDATE SET sender_org_id = excluded.sender_org_id,
                recipient_org_id = excluded.recipient_org_id, school_year = excluded.school_year, ssid = excluded.ssid,
                center_org_id = excluded.center_org_id, record_date = excluded.record_date, fields = excluded.fields,
                receipt_id = excluded.receipt_id, accepted_at = excluded.accepted_at, deleted = excluded.deleted,
                pending_posting = excluded.pending_posting, posting_run = NULL,
                ever_posted = CASE WHEN held_record.posting_run IS NOT NULL THEN true ELSE held_record.ever_posted END
            """
        ]
    }

    private static func acceptedRows(_ records: [AcceptedRecord], _ bind: inout StatementBinder, onlyIf: String) -> [String] {
        guard !records.isEmpty else { return [] }
        return [
            """
            INSERT INTO accepted_record (receipt_id, record_id, type, natural_key, recipient_org_id, deleted)
            SELECT receipt_id, record_id, type, natural_key, recipient_org_id, deleted
            FROM unnest(\(bind(records.map(\.reference.receiptId)))::text[],
                \(bind(records.map { LedgerRecordFields.storable($0.reference.recordId) }))::text[],
                \(bind(records.map(\.type.code)))::text[], \(bind(records.map { LedgerRecordFields.storable($0.naturalKey) }))::text[],
                \(bind(records.map(\.recipientOrgId)))::text[], \(bind(records.map(\.deleted)))::boolean[])
                WITH ORDINALITY AS row(receipt_id, record_id, type, natural_key, recipient_org_id, deleted, position)
            \(onlyIf) ORDER BY position
            ON CONFLICT DO NOTHING
            """
        ]
    }

    private static func findingRows(_ findings: ReceiptFindings, receiptId: String, _ bind: inout StatementBinder, onlyIf: String) -> [String] {
        var parts: [String] = []
        func text(_ value: String?) -> String { LedgerRecordFields.storable(value) ?? "" }
        let rejected = findings.rejectedRecords
        if !rejected.isEmpty {
            parts.append(
                """
                INSERT INTO rejected_record (receipt_id, line, record_key, codes)
                SELECT receipt_id, line, CASE WHEN has_key THEN record_key END, codes
                FROM unnest(\(bind(rejected.map(\.receiptId)))::text[], \(bind(rejected.map { Int64($0.line) }))::bigint[],
                    \(bind(rejected.map { text($0.recordKey) }))::text[], \(bind(rejected.map { $0.recordKey != nil }))::boolean[],
                    \(bind(rejected.map { $0.codes.joined(separator: ",") }))::text[]) AS row(receipt_id, line, record_key, has_key, codes)
                \(onlyIf)
                ON CONFLICT DO NOTHING
                """)
        }
        let issues = findings.issues
        guard !issues.isEmpty else { return parts }
        func number(_ values: [Int?]) -> (String, String) {
            (bind(values.map { Int64($0 ?? 0) }), bind(values.map { $0 != nil }))
        }
        func words(_ values: [String?]) -> (String, String) {
            (bind(values.map { text($0) }), bind(values.map { $0 != nil }))
        }
        let codes = bind(issues.map(\.code.rawValue)), messages = bind(issues.map { text($0.message) })
        let (lines, hasLine) = number(issues.map(\.line))
        let (columns, hasColumn) = number(issues.map(\.column))
        let (paths, hasPath) = words(issues.map(\.path))
        let (fields, hasField) = words(issues.map(\.field))
        let (rows, hasRow) = number(issues.map(\.row))
        let (keys, hasKey) = words(issues.map(\.recordKey))
        parts.append(
            """
            INSERT INTO receipt_issue (receipt_id, position, code, message, line, column_number, path, field, row_number, record_key)
            SELECT \(bind(receiptId)), position - 1, code, message, CASE WHEN has_line THEN line END,
                CASE WHEN has_column THEN column_number END, CASE WHEN has_path THEN path END, CASE WHEN has_field THEN field END,
                CASE WHEN has_row THEN row_number END, CASE WHEN has_key THEN record_key END
            FROM unnest(\(codes)::text[], \(messages)::text[], \(lines)::bigint[], \(hasLine)::boolean[], \(columns)::bigint[],
                \(hasColumn)::boolean[], \(paths)::text[], \(hasPath)::boolean[], \(fields)::text[], \(hasField)::boolean[],
                \(rows)::bigint[], \(hasRow)::boolean[], \(keys)::text[], \(hasKey)::boolean[])
                WITH ORDINALITY AS row(code, message, line, has_line, column_number, has_column, path, has_path, field, has_field,
                    row_number, has_row, record_key, has_key, position)
            \(onlyIf)
            ON CONFLICT DO NOTHING
            """)
        return parts
    }

    /// Records deliveries (and their trail) in one statement.
    private func insert(_ deliveries: [Delivery], on connection: PostgresConnection) async throws {
        var bind = StatementBinder()
        let parts = PostgresLedger.deliveryRows(deliveries, &bind)
        guard !parts.isEmpty else { return }
        let ctes = parts.enumerated().map { "part\($0.offset) AS (\($0.element))" }.joined(separator: ",\n")
        _ = try await sessions.run(bind.query("WITH \(ctes)\nSELECT 1"), on: connection)
    }

    /// `column >= $n AND column < $m` for the bounds given, with their bindings.
    private static func period(_ column: String, from: Timestamp?, before: Timestamp?) -> (String, PostgresBindings) {
        var clauses = ["true"]
        var bindings = PostgresBindings()
        if let from {
            bindings.append(from.secondsSinceEpoch)
            clauses.append("\(column) >= $\(bindings.count)")
        }
        if let before {
            bindings.append(before.secondsSinceEpoch)
            clauses.append("\(column) < $\(bindings.count)")
        }
        return (clauses.joined(separator: " AND "), bindings)
    }

    public func deliveries(deliveredFrom from: Timestamp?, before: Timestamp?) async throws(LedgerError) -> [Delivery] {
        let (condition, bindings) = PostgresLedger.period("delivered_at", from: from, before: before)
        return try await decoded(
            "listing deliveries", PostgresQuery(unsafeSQL: "SELECT * FROM delivery WHERE \(condition) ORDER BY seq", binds: bindings),
            PostgresLedger.delivery(from:))
    }

    public func acceptedRecords(claimedFrom from: Timestamp?, before: Timestamp?) async throws(LedgerError) -> [AcceptedRecord] {
        let (condition, bindings) = PostgresLedger.period("r.claimed_at", from: from, before: before)
        return try await decoded(
            "listing accepted records",
            PostgresQuery(
                unsafeSQL: "SELECT a.* FROM accepted_record a JOIN receipt r ON r.id = a.receipt_id WHERE \(condition) ORDER BY a.seq",
                binds: bindings)
        ) { row in
            let code = try row.string("type")
            guard let type = ExchangeType(rawValue: code) else {
                throw LedgerError(.newerSchema, "the ledger holds a record type '\(code)' that this ktsx does not know")
            }
            return AcceptedRecord(
                reference: RecordReference(receiptId: try row.string("receipt_id"), recordId: try row.string("record_id")), type: type,
                naturalKey: try row.string("natural_key"), recipientOrgId: try row.string("recipient_org_id"), deleted: try row.bool("deleted"))
        }
    }

    public func trail(claimedFrom from: Timestamp?, before: Timestamp?) async throws(LedgerError) -> [TrailEntry] {
        let (condition, bindings) = PostgresLedger.period("r.claimed_at", from: from, before: before)
        return try await decoded(
            "reading the record trail",
            PostgresQuery(
                unsafeSQL: "SELECT d.* FROM delivered_record d JOIN receipt r ON r.id = d.receipt_id WHERE \(condition) ORDER BY d.seq",
                binds: bindings),
            PostgresLedger.trailEntry(from:))
    }

    public func trail(sourceId: String) async throws(LedgerError) -> [TrailEntry] {
        try await decoded(
            "reading the record trail", "SELECT * FROM delivered_record WHERE source_id = \(sourceId) ORDER BY seq", PostgresLedger.trailEntry(from:))
    }

    private static func trailEntry(from row: Columns) throws -> TrailEntry {
        TrailEntry(
            sourceId: try row.string("source_id"), recipientOrgId: try row.string("recipient_org_id"), fileName: try row.string("file_name"),
            record: RecordReference(receiptId: try row.string("receipt_id"), recordId: try row.string("record_id")))
    }

    public func pendingDeliveries() async throws(LedgerError) -> [Delivery] {
        try await decoded(
            "listing pending deliveries", "SELECT * FROM delivery WHERE picked_up_at IS NULL ORDER BY delivered_at, seq",
            PostgresLedger.delivery(from:))
    }

    public func pendingDeliveries(among names: [OutboundName]) async throws(LedgerError) -> Set<OutboundName> {
        guard !names.isEmpty else { return [] }
        let found = try await decoded(
            "looking up deliveries",
            """
            SELECT DISTINCT recipient_org_id, file_name FROM delivery
            JOIN unnest(\(names.map(\.recipientOrgId))::text[], \(names.map(\.fileName))::text[]) AS asked(recipient_org_id, file_name)
                USING (recipient_org_id, file_name)
            WHERE picked_up_at IS NULL
            """
        ) { OutboundName(recipientOrgId: try $0.string("recipient_org_id"), fileName: try $0.string("file_name")) }
        return Set(found)
    }

    @discardableResult
    public func markPickedUp(recipientOrgId: String, fileName: String, at time: Timestamp) async throws(LedgerError) -> Bool {
        try await write("recording a pickup") { connection in
            try await execute(
                """
                UPDATE delivery SET picked_up_at = \(time.secondsSinceEpoch)
                WHERE recipient_org_id = \(recipientOrgId) AND file_name = \(fileName) AND picked_up_at IS NULL
                """, on: connection) > 0
        }
    }

    // MARK: Notifications

    public func recordNotifications(_ notifications: [PartnerNotification]) async throws(LedgerError) -> Int {
        guard !notifications.isEmpty else { return 0 }
        return try await write("recording notifications") { connection in
            var added = 0
            for notification in notifications {
                added += try await execute(
                    """
                    INSERT INTO notification (event_id, contact, org_id, kind, subject, body, facts, created_at, state, attempts, next_attempt_at)
                    VALUES (\(notification.eventId), \(notification.contact), \(notification.orgId), \(notification.kind.rawValue),
                        \(notification.subject), \(notification.body), \(notification.facts), \(notification.createdAt.secondsSinceEpoch), 'pending', 0,
                        \(notification.nextAttemptAt.secondsSinceEpoch))
                    ON CONFLICT (event_id, contact) DO NOTHING
                    """, on: connection)
            }
            return added
        }
    }

    public func takeDueNotifications(at now: Timestamp, owner: String, limit: Int) async throws(LedgerError) -> [PartnerNotification] {
        // Taken in one statement; rows another instance is taking right now are skipped, not waited for.
        try await decoded(
            "taking due notifications",
            """
            UPDATE notification SET lease_owner = \(owner), lease_until = \(now.secondsSinceEpoch + settings.leaseSeconds)
            WHERE (event_id, contact) IN (
                SELECT event_id, contact FROM notification WHERE state = 'pending' AND next_attempt_at <= \(now.secondsSinceEpoch)
                AND (lease_until IS NULL OR lease_until < \(now.secondsSinceEpoch) OR lease_owner = \(owner))
                ORDER BY created_at, seq LIMIT \(max(0, limit)) FOR UPDATE SKIP LOCKED)
            RETURNING *
            """, PostgresLedger.notification(from:)
        ).sorted { ($0.createdAt.secondsSinceEpoch, $0.eventId, $0.contact) < ($1.createdAt.secondsSinceEpoch, $1.eventId, $1.contact) }
    }

    public func finishNotificationAttempt(_ notification: PartnerNotification) async throws(LedgerError) {
        try await write("recording a notification attempt") { connection in
            _ = try await execute(
                """
                UPDATE notification SET state = \(notification.state.rawValue), attempts = \(notification.attempts),
                    next_attempt_at = \(notification.nextAttemptAt.secondsSinceEpoch), sent_at = \(notification.sentAt?.secondsSinceEpoch),
                    last_error = \(notification.lastError), lease_owner = NULL, lease_until = NULL
                WHERE event_id = \(notification.eventId) AND contact = \(notification.contact)
                """, on: connection)
        }
    }

    public func notifications(orgId: String?, limit: Int) async throws(LedgerError) -> [PartnerNotification] {
        try await decoded(
            "listing notifications",
            """
            SELECT * FROM notification WHERE (\(orgId)::text IS NULL OR org_id = \(orgId)) ORDER BY created_at DESC, seq DESC LIMIT \(max(0, limit))
            """, PostgresLedger.notification(from:))
    }

    private static func notification(from row: Columns) throws -> PartnerNotification {
        PartnerNotification(
            eventId: try row.string("event_id"), contact: try row.string("contact"), orgId: try row.string("org_id"),
            kind: try LedgerError.stored(try row.string("kind"), in: "notification.kind"), subject: try row.string("subject"),
            body: try row.string("body"), facts: try row.string("facts"), createdAt: Timestamp(secondsSinceEpoch: try row.int64("created_at")),
            state: try LedgerError.stored(try row.string("state"), in: "notification.state"), attempts: try row.int("attempts"),
            nextAttemptAt: Timestamp(secondsSinceEpoch: try row.int64("next_attempt_at")),
            sentAt: try row.optionalInt64("sent_at").map(Timestamp.init(secondsSinceEpoch:)), lastError: try row.optionalString("last_error"))
    }

    public func deliveries(sourceId: String) async throws(LedgerError) -> [Delivery] {
        try await decoded("listing deliveries", "SELECT * FROM delivery WHERE receipt_id = \(sourceId) ORDER BY seq", PostgresLedger.delivery(from:))
    }

    // MARK: Held records and waivers

    private static func held(from row: Columns) throws -> HeldRecord {
        HeldRecord(
            type: try LedgerError.stored(try row.string("type"), in: "held_record.type"), naturalKey: try row.string("natural_key"),
            senderOrgId: try row.string("sender_org_id"), recipientOrgId: try row.string("recipient_org_id"),
            schoolYear: try row.int("school_year"), values: LedgerRecordFields.decode(try row.string("fields")),
            receiptId: try row.string("receipt_id"), acceptedAt: Timestamp(secondsSinceEpoch: try row.int64("accepted_at")),
            deleted: try row.bool("deleted"))
    }

    private func save(_ waiver: WaiverRequest, on connection: PostgresConnection) async throws {
        try await execute(
            """
            INSERT INTO waiver_request (id, center_org_id, school_year, fields, receipt_id, received_at, status,
                decision_reason, decided_at)
            VALUES (\(waiver.id), \(waiver.centerOrgId), \(waiver.schoolYear), \(LedgerRecordFields.encode(waiver.values)),
                \(waiver.receiptId), \(waiver.receivedAt.secondsSinceEpoch), \(waiver.status.rawValue), \(waiver.decisionReason),
                \(waiver.decidedAt?.secondsSinceEpoch))
            ON CONFLICT (id) DO UPDATE SET status = excluded.status, decision_reason = excluded.decision_reason,
                decided_at = excluded.decided_at
            """, on: connection)
    }

    private static func waiver(from row: Columns) throws -> WaiverRequest {
        WaiverRequest(
            id: try row.string("id"), centerOrgId: try row.string("center_org_id"), schoolYear: try row.int("school_year"),
            values: LedgerRecordFields.decode(try row.string("fields")), receiptId: try row.string("receipt_id"),
            receivedAt: Timestamp(secondsSinceEpoch: try row.int64("received_at")),
            status: try LedgerError.stored(try row.string("status"), in: "waiver.status"),
            decisionReason: try row.optionalString("decision_reason"),
            decidedAt: try row.optionalInt64("decided_at").map(Timestamp.init(secondsSinceEpoch:)))
    }

    public func heldRecord(_ type: ExchangeType, key: String) async throws(LedgerError) -> HeldRecord? {
        try await decoded(
            "looking up a held record", "SELECT * FROM held_record WHERE type = \(type.code) AND natural_key = \(key)",
            PostgresLedger.held(from:)
        ).first
    }

    public func enrollments(ssid: String, center: String) async throws(LedgerError) -> [HeldRecord] {
        try await decoded(
            "looking up enrollments",
            "SELECT * FROM held_record WHERE type = 'ENR' AND ssid = \(ssid) AND center_org_id = \(center) ORDER BY natural_key",
            PostgresLedger.held(from:))
    }

    public func attendance(recipientOrgId: String, date: String) async throws(LedgerError) -> [HeldRecord] {
        try await decoded(
            "looking up attendance",
            """
            SELECT * FROM held_record WHERE type = 'ATT' AND recipient_org_id = \(recipientOrgId) AND record_date = \(date)
            ORDER BY natural_key
            """, PostgresLedger.held(from:))
    }

    public func heldRecords(_ type: ExchangeType, recipientOrgId: String, datedFrom from: String, through: String) async throws(LedgerError)
        -> [HeldRecord]
    {
        try await decoded(
            "looking up held records",
            """
            SELECT * FROM held_record WHERE type = \(type.code) AND recipient_org_id = \(recipientOrgId) AND record_date >= \(from)
            AND record_date <= \(through) ORDER BY record_date, natural_key
            """, PostgresLedger.held(from:))
    }

    public func waivers(center: String, schoolYear: Int) async throws(LedgerError) -> [WaiverRequest] {
        try await decoded(
            "looking up waivers",
            "SELECT * FROM waiver_request WHERE center_org_id = \(center) AND school_year = \(schoolYear) ORDER BY seq",
            PostgresLedger.waiver(from:))
    }

    public func backlogCounts(overdueBefore: Timestamp) async throws(LedgerError) -> BacklogCounts {
        let counts = try await decoded(
            "counting the backlog",
            """
            SELECT (SELECT count(*) FROM receipt WHERE state <> 'finished') AS receipts,
                (SELECT count(*) FROM job_run WHERE state <> 'finished') AS runs,
                (SELECT count(*) FROM delivery WHERE picked_up_at IS NULL) AS waiting,
                (SELECT count(*) FROM delivery WHERE picked_up_at IS NULL AND delivered_at <= \(overdueBefore.secondsSinceEpoch)) AS overdue
            """
        ) { row in
            BacklogCounts(
                receiptsInProgress: Int(try row.int64("receipts")), jobRunsInProgress: Int(try row.int64("runs")),
                deliveriesWaiting: Int(try row.int64("waiting")), deliveriesOverdue: Int(try row.int64("overdue")))
        }
        return counts[0]
    }

    public func heldState(for request: HeldStateRequest) async throws(LedgerError) -> HeldState {
        var state = HeldState(answering: request)
        // The held records asked by key and the enrollments asked by student in one statement, the values
        // bound as arrays; the waivers in a second.
        let types = request.keys.flatMap { type, keys in keys.map { _ in type.code } }
        let keys = request.keys.flatMap { _, keys in keys }
        let students = Array(request.students)
        if !keys.isEmpty || !students.isEmpty {
            let found = try await decoded(
                "looking up held records and enrollments",
                """
                SELECT 'key' AS asked, held_record.* FROM held_record
                JOIN unnest(\(types)::text[], \(keys)::text[]) AS asked(type, natural_key) USING (type, natural_key)
                UNION ALL
                SELECT 'student' AS asked, held_record.* FROM held_record
                JOIN unnest(\(students.map(\.ssid))::text[], \(students.map(\.center))::text[]) AS asked(ssid, center_org_id)
                    USING (ssid, center_org_id)
                WHERE held_record.type = 'ENR'
                ORDER BY asked, natural_key
                """, { row in (try row.string("asked"), try row.string("center_org_id"), try PostgresLedger.held(from: row)) })
            for (asked, center, record) in found {
                if asked == "key" {
                    state.records[record.type, default: [:]][record.naturalKey] = record
                } else {
                    state.enrollments[StudentAtCenter(ssid: record["ssid"], center: center), default: []].append(record)
                }
            }
        }
        if !request.centerYears.isEmpty {
            let centers = Array(Set(request.centerYears.map(\.center)))
            let found = try await decoded(
                "looking up waivers", "SELECT * FROM waiver_request WHERE center_org_id = ANY(\(centers)::text[]) ORDER BY seq",
                PostgresLedger.waiver(from:))
            for waiver in found {
                let key = CenterYear(center: waiver.centerOrgId, schoolYear: waiver.schoolYear)
                if request.centerYears.contains(key) { state.waivers[key, default: []].append(waiver) }
            }
        }
        return state
    }

    public func allWaivers() async throws(LedgerError) -> [WaiverRequest] {
        try await decoded("listing waivers", "SELECT * FROM waiver_request ORDER BY seq", PostgresLedger.waiver(from:))
    }

    // MARK: Job runs

    private static func jobRun(from row: Columns) throws -> JobRun {
        var run = JobRun(
            id: try row.string("id"), job: try LedgerError.stored(try row.string("job"), in: "job_run.job"), runKey: try row.string("run_key"),
            startedAt: Timestamp(secondsSinceEpoch: try row.int64("started_at")), detail: try row.string("detail"))
        run.state = try LedgerError.stored(try row.string("state"), in: "job_run.state")
        run.finishedAt = try row.optionalInt64("finished_at").map(Timestamp.init(secondsSinceEpoch:))
        run.files = try row.int("files")
        run.records = try row.int("records")
        return run
    }

    public func claimJobRun(_ run: JobRun, leasedTo owner: String?) async throws(LedgerError) -> Bool {
        try await write("claiming job run \(run.id)") { connection in
            let inserted = try await execute(
                """
                INSERT INTO job_run (id, job, run_key, state, started_at, finished_at, detail, files, records)
                VALUES (\(run.id), \(run.job.rawValue), \(run.runKey), \(run.state.rawValue), \(run.startedAt.secondsSinceEpoch),
                \(run.finishedAt?.secondsSinceEpoch), \(run.detail), \(run.files), \(run.records))
                ON CONFLICT (job, run_key) DO NOTHING
                """, on: connection)
            guard inserted > 0 else { return false }
            if let owner { _ = try await lease("job_run", id: run.id, to: owner, on: connection) }
            if run.job == .gradePosting {
                try await execute(
                    "UPDATE held_record SET posting_run = \(run.id) WHERE pending_posting AND posting_run IS NULL", on: connection)
            }
            return true
        }
    }

    public func jobRun(_ job: JobKind, runKey: String) async throws(LedgerError) -> JobRun? {
        try await decoded(
            "looking up a job run", "SELECT * FROM job_run WHERE job = \(job.rawValue) AND run_key = \(runKey)", PostgresLedger.jobRun(from:)
        ).first
    }

    public func jobRun(id: String) async throws(LedgerError) -> JobRun? {
        try await decoded("looking up a job run", "SELECT * FROM job_run WHERE id = \(id)", PostgresLedger.jobRun(from:)).first
    }

    public func unfinishedJobRuns() async throws(LedgerError) -> [JobRun] {
        try await decoded(
            "listing unfinished job runs", "SELECT * FROM job_run WHERE state <> 'finished' ORDER BY seq", PostgresLedger.jobRun(from:))
    }

    public func latestRunKey(_ job: JobKind, prefix: String) async throws(LedgerError) -> String? {
        try await decoded(
            "looking up the latest job run",
            "SELECT max(run_key) AS latest FROM job_run WHERE job = \(job.rawValue) AND starts_with(run_key, \(prefix))"
        ) { try $0.optionalString("latest") }.first ?? nil
    }

    public func jobRuns(_ job: JobKind) async throws(LedgerError) -> [JobRun] {
        try await decoded("listing job runs", "SELECT * FROM job_run WHERE job = \(job.rawValue) ORDER BY seq", PostgresLedger.jobRun(from:))
    }

    public func latestJobRun(_ job: JobKind) async throws(LedgerError) -> JobRun? {
        try await decoded(
            "finding the latest job run", "SELECT * FROM job_run WHERE job = \(job.rawValue) ORDER BY seq DESC LIMIT 1", PostgresLedger.jobRun(from:)
        ).first
    }

    public func gradesClaimed(by runId: String) async throws(LedgerError) -> [GradeToPost] {
        try await decoded(
            "listing claimed grades",
            "SELECT * FROM held_record WHERE posting_run = \(runId) AND pending_posting ORDER BY recipient_org_id, natural_key"
        ) { GradeToPost(grade: try PostgresLedger.held(from: $0), postedBefore: try $0.bool("ever_posted")) }
    }

    public func updateJobRun(_ run: JobRun, recordingDeliveries deliveries: [Delivery], decision: WaiverRequest?) async throws(LedgerError) {
        let predecessor = JobRun.predecessor(of: run.state)?.rawValue
        try await write("updating job run \(run.id)") { connection in
            let moved = try await execute(
                """
                UPDATE job_run SET state = \(run.state.rawValue), finished_at = \(run.finishedAt?.secondsSinceEpoch),
                files = \(run.files), records = \(run.records), detail = \(run.detail)
                WHERE id = \(run.id) AND state = \(predecessor)
                """, on: connection)
            guard moved == 1 else {
                throw LedgerError(.conflict, "job run \(run.id) is not \(predecessor ?? "new") any more")
            }
            try await insert(deliveries, on: connection)
            if run.state == .writing, run.job == .gradePosting {
                // A posted delete leaves nothing at the high school: a later add is posted as an add again.
                try await execute(
                    """
                    UPDATE held_record SET pending_posting = false, ever_posted = NOT deleted, posting_run = NULL
                    WHERE posting_run = \(run.id) AND pending_posting
                    """, on: connection)
            }
            if let decision {
                let decided = try await execute(
                    """
                    UPDATE waiver_request SET status = \(decision.status.rawValue), decision_reason = \(decision.decisionReason),
                    decided_at = \(decision.decidedAt?.secondsSinceEpoch) WHERE id = \(decision.id) AND status = 'pending'
                    """, on: connection)
                guard decided == 1 else { throw LedgerError(.conflict, "updating job run \(run.id): the record changed meanwhile") }
            }
        }
    }
}
