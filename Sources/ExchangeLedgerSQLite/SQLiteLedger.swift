import ExchangeCore
import Foundation
import GRDB
import Synchronization

/// The ledger in an SQLite file (embedded: `ktsx run` needs nothing else). Created on first use and
/// migrated by versioned migrations, which are never edited once shipped; a database written by a newer
/// `ktsx` is refused rather than misread. The database enforces the invariants: a receipt id once, and
/// the same bytes from the same sender accepted at most once.
public final class SQLiteLedger: LedgerStore {
    /// One writer and several readers over the write-ahead log: a read (a page, `/healthz`, the rules'
    /// lookups) never waits for a write in progress, such as a night's posting of many grades.
    private let pool: DatabasePool
    /// Every write goes through it: those that come while one commits share the next transaction.
    private let commits: GroupCommit
    private let path: String
    /// The file opened: (device, inode).
    private let identity: (UInt64, UInt64)?
    /// How long a lease lasts, in seconds.
    public let leaseSeconds: Int64

    /// Opens (creating and migrating as needed) the ledger at `path`.
    /// - Parameters:
    ///   - leaseSeconds: How long a lease on work in progress lasts (tests shorten it).
    ///   - readOnly: Opens an existing, fully migrated ledger for reading only (`ktsx validate --config`):
    ///     nothing is created, migrated or written, and any write fails.
    /// - Throws: `LedgerError` (`.storage`, or `.newerSchema` when the file is from a newer ktsx).
    public init(path: String, leaseSeconds: Int64 = LedgerLease.seconds, readOnly: Bool = false) throws(LedgerError) {
        self.leaseSeconds = leaseSeconds
        do {
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            configuration.readonly = readOnly
            if readOnly, !FileManager.default.fileExists(atPath: path) {
                throw LedgerError(.storage, "there is no ledger at \(path) yet: `ktsx run` makes it")
            }
            pool = try DatabasePool(path: path, configuration: configuration)
            // Write-ahead log (the pool sets it up), flushed at every commit (synchronous FULL): a commit
            // survives a power cut as it did with the rollback journal, with one flush instead of several
            // (see BENCHMARKS.md). Set on the writer once the pool is open: the pool's own setup of the log
            // sets NORMAL (a commit that can be lost in a power cut) after `prepareDatabase` has run.
            if !readOnly { try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") } }
            let migrator = SQLiteLedger.migrator
            let applied = try pool.read { try migrator.appliedIdentifiers($0) }
            let known = Set(migrator.migrations)
            if let unknown = applied.first(where: { !known.contains($0) }) {
                throw LedgerError(.newerSchema, "the ledger at \(path) has migration '\(unknown)', which this ktsx does not know; use a newer ktsx")
            }
            if readOnly {
                if let missing = migrator.migrations.first(where: { !applied.contains($0) }) {
                    throw LedgerError(
                        .storage, "the ledger at \(path) lacks migration '\(missing)' and is only read here: start `ktsx run` once to migrate it")
                }
            } else {
                try migrator.migrate(pool)
            }
            commits = GroupCommit(pool: pool)
            self.path = path
            identity = SQLiteLedger.identity(of: path)
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(.storage, "cannot open the ledger at \(path): \(error)", cause: error)
        }
    }

    private static func identity(of path: String) -> (UInt64, UInt64)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    /// The writer's `PRAGMA synchronous` (2: FULL, every commit flushed).
    func commitFlushLevel() async throws -> Int {
        try await pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// SQLite's plan for `sql` (the `detail` of each step of `EXPLAIN QUERY PLAN`), for tests.
    func queryPlan(of sql: String) async throws -> [String] {
        let unknowns = StatementArguments(Array(repeating: DatabaseValue.null, count: sql.filter { $0 == "?" }.count))
        return try await pool.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN \(sql)", arguments: unknowns).map { $0["detail"] as String }
        }
    }

    public func checkStorage() async throws(LedgerError) {
        guard let identity, let now = SQLiteLedger.identity(of: path), now == identity else {
            throw LedgerError(.storage, "the ledger file \(path) was removed or replaced while ktsx ran; nothing more is recorded in it")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("1-receipts-and-deliveries") { db in
            try db.execute(
                sql: """
                    CREATE TABLE receipt (
                        id TEXT PRIMARY KEY NOT NULL,
                        sender_org_id TEXT NOT NULL,
                        original_name TEXT NOT NULL,
                        size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0),
                        sha256 TEXT NOT NULL,
                        state TEXT NOT NULL CHECK (state IN ('claimed', 'writing', 'finished')),
                        claimed_at INTEGER NOT NULL,
                        file_type TEXT,
                        binding TEXT,
                        outcome TEXT CHECK (outcome IN ('ACCEPTED', 'ACCEPTED_WITH_ERRORS', 'REJECTED', 'DUPLICATE')),
                        records_received INTEGER NOT NULL DEFAULT 0,
                        records_accepted INTEGER NOT NULL DEFAULT 0,
                        records_rejected INTEGER NOT NULL DEFAULT 0,
                        error_count INTEGER NOT NULL DEFAULT 0,
                        duplicate_of TEXT REFERENCES receipt(id),
                        ack_file TEXT,
                        error_file TEXT,
                        finished_at INTEGER
                    );
                    CREATE INDEX receipt_by_content ON receipt(sender_org_id, sha256);
                    CREATE INDEX receipt_unfinished ON receipt(state) WHERE state <> 'finished';
                    CREATE UNIQUE INDEX receipt_accepted_once ON receipt(sender_org_id, sha256)
                        WHERE outcome IN ('ACCEPTED', 'ACCEPTED_WITH_ERRORS');
                    CREATE TABLE delivery (
                        receipt_id TEXT NOT NULL REFERENCES receipt(id),
                        recipient_org_id TEXT NOT NULL,
                        file_name TEXT NOT NULL,
                        delivered_at INTEGER NOT NULL,
                        picked_up_at INTEGER,
                        UNIQUE (receipt_id, file_name)
                    );
                    CREATE INDEX delivery_pending ON delivery(recipient_org_id, file_name) WHERE picked_up_at IS NULL;
                    """)
        }
        migrator.registerMigration("2-rejected-records") { db in
            try db.execute(
                sql: """
                    CREATE TABLE rejected_record (
                        receipt_id TEXT NOT NULL REFERENCES receipt(id),
                        line INTEGER NOT NULL,
                        record_key TEXT,
                        codes TEXT NOT NULL,
                        PRIMARY KEY (receipt_id, line)
                    );
                    """)
        }
        migrator.registerMigration("3-held-records-waivers-jobs") { db in
            // Deliveries now come from receipts and from job runs: the column keeps its name, without
            // the reference to receipt.
            try db.execute(
                sql: """
                    CREATE TABLE delivery_new (
                        receipt_id TEXT NOT NULL,
                        recipient_org_id TEXT NOT NULL,
                        file_name TEXT NOT NULL,
                        delivered_at INTEGER NOT NULL,
                        picked_up_at INTEGER,
                        UNIQUE (receipt_id, file_name)
                    );
                    INSERT INTO delivery_new SELECT receipt_id, recipient_org_id, file_name, delivered_at, picked_up_at FROM delivery;
                    DROP TABLE delivery;
                    ALTER TABLE delivery_new RENAME TO delivery;
                    CREATE INDEX delivery_pending ON delivery(recipient_org_id, file_name) WHERE picked_up_at IS NULL;
                    CREATE TABLE held_record (
                        type TEXT NOT NULL,
                        natural_key TEXT NOT NULL,
                        sender_org_id TEXT NOT NULL,
                        recipient_org_id TEXT NOT NULL,
                        school_year INTEGER NOT NULL,
                        ssid TEXT NOT NULL,
                        center_org_id TEXT NOT NULL,
                        record_date TEXT NOT NULL,
                        fields TEXT NOT NULL,
                        receipt_id TEXT NOT NULL REFERENCES receipt(id),
                        accepted_at INTEGER NOT NULL,
                        deleted INTEGER NOT NULL,
                        pending_posting INTEGER NOT NULL DEFAULT 0,
                        posting_run TEXT,
                        ever_posted INTEGER NOT NULL DEFAULT 0,
                        PRIMARY KEY (type, natural_key)
                    );
                    CREATE INDEX held_by_student ON held_record(type, ssid, center_org_id);
                    CREATE INDEX held_by_recipient_day ON held_record(type, recipient_org_id, record_date);
                    CREATE INDEX held_pending_posting ON held_record(posting_run) WHERE pending_posting = 1;
                    CREATE TABLE waiver_request (
                        id TEXT PRIMARY KEY NOT NULL,
                        center_org_id TEXT NOT NULL,
                        school_year INTEGER NOT NULL,
                        fields TEXT NOT NULL,
                        receipt_id TEXT NOT NULL,
                        received_at INTEGER NOT NULL,
                        status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'withdrawn')),
                        decision_reason TEXT,
                        decided_at INTEGER
                    );
                    CREATE INDEX waiver_by_center ON waiver_request(center_org_id, school_year);
                    CREATE TABLE job_run (
                        id TEXT PRIMARY KEY NOT NULL,
                        job TEXT NOT NULL,
                        run_key TEXT NOT NULL,
                        state TEXT NOT NULL CHECK (state IN ('claimed', 'writing', 'finished')),
                        started_at INTEGER NOT NULL,
                        finished_at INTEGER,
                        detail TEXT NOT NULL,
                        files INTEGER NOT NULL DEFAULT 0,
                        records INTEGER NOT NULL DEFAULT 0,
                        UNIQUE (job, run_key)
                    );
                    CREATE INDEX job_run_unfinished ON job_run(state) WHERE state <> 'finished';
                    """)
        }
        migrator.registerMigration("4-review") { db in
            // Support reads a receipt's errors from the ledger (the error file may have been picked up), finds
            // receipts by sender and time, and judges a file again as a new receipt linked to the old one.
            // A re-judgement of only the records that failed may accept bytes that an earlier receipt
            // accepted in part; a file is being judged again, or has been with records accepted, once.
            try db.execute(
                sql: """
                    ALTER TABLE receipt ADD COLUMN reprocess_of TEXT;
                    ALTER TABLE receipt ADD COLUMN failed_records_only INTEGER NOT NULL DEFAULT 0;
                    CREATE UNIQUE INDEX receipt_reprocessed_once ON receipt(reprocess_of)
                        WHERE reprocess_of IS NOT NULL AND (state <> 'finished' OR outcome IN ('ACCEPTED', 'ACCEPTED_WITH_ERRORS'));
                    CREATE INDEX receipt_by_reprocess ON receipt(reprocess_of) WHERE reprocess_of IS NOT NULL;
                    CREATE INDEX receipt_by_sender_time ON receipt(sender_org_id, claimed_at);
                    CREATE INDEX receipt_by_time ON receipt(claimed_at);
                    DROP INDEX receipt_accepted_once;
                    CREATE UNIQUE INDEX receipt_accepted_once ON receipt(sender_org_id, sha256)
                        WHERE outcome IN ('ACCEPTED', 'ACCEPTED_WITH_ERRORS') AND failed_records_only = 0;
                    CREATE TABLE receipt_issue (
                        receipt_id TEXT NOT NULL,
                        position INTEGER NOT NULL,
                        code TEXT NOT NULL,
                        message TEXT NOT NULL,
                        line INTEGER,
                        column_number INTEGER,
                        path TEXT,
                        field TEXT,
                        row_number INTEGER,
                        record_key TEXT,
                        PRIMARY KEY (receipt_id, position)
                    );
                    """)
        }
        migrator.registerMigration("5-leases") { db in
            // Work in progress is leased to one instance (or command) at a time; times are the ledger's own
            // clock (SQLite's: the machine's), so a test's shifted clock or a jump changes nothing.
            try db.execute(
                sql: """
                    ALTER TABLE receipt ADD COLUMN lease_owner TEXT;
                    ALTER TABLE receipt ADD COLUMN lease_until INTEGER;
                    ALTER TABLE job_run ADD COLUMN lease_owner TEXT;
                    ALTER TABLE job_run ADD COLUMN lease_until INTEGER;
                    CREATE TABLE sender_lease (
                        org_id TEXT PRIMARY KEY NOT NULL,
                        lease_owner TEXT NOT NULL,
                        lease_until INTEGER NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("6-delivery-identity-and-trail") { db in
            // A delivery is one file for one recipient: one input routed to several recipients gives each its
            // own file, under names that may be the same (each in its own outbound/). The record trail says
            // which accepted record went into which delivered file, so conservation can be checked after
            // pickup.
            try db.execute(
                sql: """
                    CREATE TABLE delivery_new (
                        receipt_id TEXT NOT NULL,
                        recipient_org_id TEXT NOT NULL,
                        file_name TEXT NOT NULL,
                        delivered_at INTEGER NOT NULL,
                        picked_up_at INTEGER,
                        UNIQUE (receipt_id, recipient_org_id, file_name)
                    );
                    INSERT INTO delivery_new SELECT receipt_id, recipient_org_id, file_name, delivered_at, picked_up_at
                        FROM delivery ORDER BY rowid;
                    DROP TABLE delivery;
                    ALTER TABLE delivery_new RENAME TO delivery;
                    CREATE INDEX delivery_pending ON delivery(recipient_org_id, file_name) WHERE picked_up_at IS NULL;
                    CREATE INDEX delivery_by_time ON delivery(delivered_at);
                    CREATE TABLE accepted_record (
                        receipt_id TEXT NOT NULL,
                        record_id TEXT NOT NULL,
                        type TEXT NOT NULL,
                        natural_key TEXT NOT NULL,
                        recipient_org_id TEXT NOT NULL,
                        deleted INTEGER NOT NULL,
                        PRIMARY KEY (receipt_id, record_id)
                    );
                    CREATE TABLE delivered_record (
                        source_id TEXT NOT NULL,
                        recipient_org_id TEXT NOT NULL,
                        file_name TEXT NOT NULL,
                        receipt_id TEXT NOT NULL,
                        record_id TEXT NOT NULL,
                        PRIMARY KEY (source_id, recipient_org_id, file_name, receipt_id, record_id)
                    );
                    CREATE INDEX delivered_by_record ON delivered_record(receipt_id, record_id);
                    """)
        }
        migrator.registerMigration("7-held-lookups-in-key-order") { db in
            // A student's enrollments and a school's day of attendance are asked in key order: with the key
            // last in their indexes, each is a look at its own rows. Without it SQLite walked every held
            // record of the type in key order (the primary key) rather than sort a few rows, and a nightly
            // sync grew with the ledger.
            try db.execute(
                sql: """
                    DROP INDEX held_by_student;
                    CREATE INDEX held_by_student ON held_record(type, ssid, center_org_id, natural_key);
                    DROP INDEX held_by_recipient_day;
                    CREATE INDEX held_by_recipient_day ON held_record(type, recipient_org_id, record_date, natural_key);
                    """)
        }
        migrator.registerMigration("8-attendance-keys-by-day") { db in
            // Attendance keys now start with their date (`RecordTypeDescriptor.attendance`): a day's records
            // sit side by side in the key's index. Keys held before are rewritten (date, then the rest in
            // order). Only enrollments are looked up by student: the other types leave that index, which starts
            // with the student (as on PostgreSQL, whose planner needs that).
            db.add(function: SQLiteLedger.dayFirstKey)
            try db.execute(
                sql: """
                    UPDATE held_record SET natural_key = ktsx_day_first_key(natural_key) WHERE type = 'ATT';
                    UPDATE accepted_record SET natural_key = ktsx_day_first_key(natural_key) WHERE type = 'ATT';
                    DROP INDEX held_by_student;
                    CREATE INDEX held_by_student ON held_record(ssid, center_org_id, natural_key) WHERE type = 'ENR';
                    """)
            db.remove(function: SQLiteLedger.dayFirstKey)
        }
        migrator.registerMigration("9-retired-years") { db in
            // School years retired into their archive files (`ktsx retire`): their receipts stay, their details
            // and held records leave. Delivered files are found by time to retire them with their year. (BIGINT:
            // a key index of its own, as on PostgreSQL, rather than the rowid that INTEGER PRIMARY KEY becomes.)
            // A job's latest run is the last entry of its own index (job, then rowid).
            try db.execute(
                sql: """
                    CREATE INDEX job_run_latest ON job_run(job);
                    CREATE TABLE retired_year (
                        school_year BIGINT PRIMARY KEY NOT NULL,
                        claimed_from INTEGER NOT NULL,
                        claimed_before INTEGER NOT NULL,
                        archive_file TEXT NOT NULL,
                        started_at INTEGER NOT NULL,
                        finished_at INTEGER
                    );
                    """)
        }
        migrator.registerMigration("10-reprocess-reasons") { db in
            // Why support judged a file again, and who asked (the review page asks for a reason).
            try db.execute(sql: "ALTER TABLE receipt ADD COLUMN reprocess_reason TEXT")
        }
        migrator.registerMigration("11-notifications") { db in
            // What each participant's contacts are told (an event once per contact), until it is sent.
            try db.execute(
                sql: """
                    CREATE TABLE notification (
                        event_id TEXT NOT NULL,
                        contact TEXT NOT NULL,
                        org_id TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        body TEXT NOT NULL,
                        facts TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        state TEXT NOT NULL,
                        attempts INTEGER NOT NULL,
                        next_attempt_at INTEGER NOT NULL,
                        sent_at INTEGER,
                        last_error TEXT,
                        lease_owner TEXT,
                        lease_until INTEGER,
                        PRIMARY KEY (event_id, contact)
                    );
                    CREATE INDEX notification_due ON notification(next_attempt_at) WHERE state = 'pending';
                    CREATE INDEX notification_by_org ON notification(org_id, created_at);
                    """)
        }
        return migrator
    }

    /// An attendance key written before migration 8 (`ssid|center|date|...`) with its date moved first.
    static let dayFirstKey = DatabaseFunction("ktsx_day_first_key", argumentCount: 1, pure: true) { values in
        guard let key = String.fromDatabaseValue(values[0]) else { return nil }
        return AttendanceKeys.dayFirst(key)
    }

    /// The ledger's clock in SQL: seconds since the epoch.
    private static let leaseClock = "CAST(strftime('%s', 'now') AS INTEGER)"

    /// Leases the unfinished row `id` of `table` to `owner` if it is free, already `owner`'s or run out.
    private func lease(_ table: String, id: String, to owner: String, db: Database) throws -> Bool {
        try db.cachedStatement(
            sql: """
                UPDATE \(table) SET lease_owner = ?, lease_until = \(SQLiteLedger.leaseClock) + ?
                WHERE id = ? AND state <> 'finished'
                AND (lease_owner IS NULL OR lease_owner = ? OR lease_until < \(SQLiteLedger.leaseClock))
                """
        ).execute(arguments: [owner, leaseSeconds, id, owner])
        return db.changesCount == 1
    }

    public func lease(receiptId: String, to owner: String) async throws(LedgerError) -> Bool {
        try await write("leasing receipt \(receiptId)") { db in try self.lease("receipt", id: receiptId, to: owner, db: db) }
    }

    public func lease(senders: [String], to owner: String) async throws(LedgerError) -> Set<String> {
        guard !senders.isEmpty else { return [] }
        return try await write("leasing the files of \(senders.count) senders") { db in
            var leased: Set<String> = []
            for sender in senders {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO sender_lease (org_id, lease_owner, lease_until) VALUES (?, ?, \(SQLiteLedger.leaseClock) + ?)
                        ON CONFLICT (org_id) DO UPDATE SET lease_owner = excluded.lease_owner, lease_until = excluded.lease_until
                        WHERE sender_lease.lease_owner = excluded.lease_owner OR sender_lease.lease_until < \(SQLiteLedger.leaseClock)
                        """
                ).execute(arguments: [sender, owner, self.leaseSeconds])
                if db.changesCount == 1 { leased.insert(sender) }
            }
            return leased
        }
    }

    public func release(senders: [String], by owner: String) async throws(LedgerError) {
        guard !senders.isEmpty else { return }
        try await write("releasing the files of \(senders.count) senders") { db in
            for sender in senders {
                try db.cachedStatement(sql: "DELETE FROM sender_lease WHERE org_id = ? AND lease_owner = ?").execute(arguments: [sender, owner])
            }
        }
    }

    /// Lock files held for the life of the process (`holdInstanceName`), by name.
    private let instanceLocks = Mutex<[String: Int32]>([:])

    public func holdInstanceName(_ name: String) async throws(LedgerError) -> Bool {
        // flock on a file beside the ledger: released by the kernel however the process ends.
        let safe = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" })
        let lockPath = "\(path).instance-\(safe).lock"
        return try instanceLocks.withLock { locks throws(LedgerError) -> Bool in
            if locks[name] != nil { return true }
            let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw LedgerError(.storage, "cannot open \(lockPath): \(String(cString: strerror(errno)))") }
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
                close(descriptor)
                return false
            }
            locks[name] = descriptor
            return true
        }
    }

    public func lease(jobRunId: String, to owner: String) async throws(LedgerError) -> Bool {
        try await write("leasing job run \(jobRunId)") { db in try self.lease("job_run", id: jobRunId, to: owner, db: db) }
    }

    private static let receiptColumns = """
        id, sender_org_id, original_name, size_bytes, sha256, state, claimed_at, file_type, binding, outcome, \
        records_received, records_accepted, records_rejected, error_count, duplicate_of, ack_file, error_file, finished_at, \
        reprocess_of, failed_records_only, reprocess_reason
        """

    private static func arguments(_ receipt: Receipt, withId: Bool = true) -> StatementArguments {
        (withId ? [receipt.id] : []) + [
            receipt.senderOrgId, receipt.originalName, receipt.sizeBytes, receipt.sha256,
            receipt.state.rawValue, receipt.claimedAt.secondsSinceEpoch, receipt.fileType?.code, receipt.binding?.rawValue,
            receipt.outcome?.rawValue, receipt.recordsReceived, receipt.recordsAccepted, receipt.recordsRejected,
            receipt.errorCount, receipt.duplicateOf, receipt.ackFile, receipt.errorFile,
            receipt.finishedAt?.secondsSinceEpoch, receipt.reprocessOf, receipt.failedRecordsOnly, receipt.reprocessReason,
        ]
    }

    private static func receipt(from row: Row) throws(LedgerError) -> Receipt {
        var receipt = Receipt(
            id: row["id"], senderOrgId: row["sender_org_id"], originalName: row["original_name"],
            sizeBytes: row["size_bytes"], sha256: row["sha256"],
            claimedAt: Timestamp(secondsSinceEpoch: row["claimed_at"]))
        receipt.state = try LedgerError.stored(row["state"] as String, in: "receipt.state")
        receipt.fileType = try LedgerError.stored(row["file_type"] as String?, in: "receipt.file_type")
        receipt.binding = try LedgerError.stored(row["binding"] as String?, in: "receipt.binding")
        receipt.outcome = try LedgerError.stored(row["outcome"] as String?, in: "receipt.outcome")
        receipt.recordsReceived = row["records_received"]
        receipt.recordsAccepted = row["records_accepted"]
        receipt.recordsRejected = row["records_rejected"]
        receipt.errorCount = row["error_count"]
        receipt.duplicateOf = row["duplicate_of"]
        receipt.ackFile = row["ack_file"]
        receipt.errorFile = row["error_file"]
        receipt.finishedAt = (row["finished_at"] as Int64?).map(Timestamp.init(secondsSinceEpoch:))
        receipt.reprocessOf = row["reprocess_of"]
        receipt.failedRecordsOnly = row["failed_records_only"]
        receipt.reprocessReason = row["reprocess_reason"]
        return receipt
    }

    /// Thrown inside a write to roll it back as a conflict.
    struct Rollback: Error {}

    func write<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws(LedgerError) -> T {
        do {
            return try await commits.write(body)
        } catch let error as LedgerError {
            throw error
        } catch is Rollback {
            throw LedgerError(.conflict, "\(what): the record changed meanwhile")
        } catch let error as DatabaseError
            where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY || error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE
        {
            // A key already recorded (PostgreSQL's 23505): another instance or an earlier judgement got there
            // first. Any other constraint (a CHECK, NOT NULL, a foreign key) is a fault, not a race.
            throw LedgerError(.duplicateReceipt, "\(what): \(error.message ?? "already recorded")", cause: error)
        } catch {
            throw LedgerError(.storage, "\(what): \(error)", cause: error)
        }
    }

    /// Runs `body` in a read transaction on a reader (a read-only connection of its own: no pragma is
    /// switched around the read, so cached statements stay compiled).
    func read<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws(LedgerError) -> T {
        do {
            return try await pool.read(body)
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(.storage, "\(what): \(error)", cause: error)
        }
    }

    /// Runs a single-statement read (one prepared statement, its own snapshot) without a transaction
    /// around it: the rules make a few of these for every record, where BEGIN and COMMIT cost four times
    /// the lookup.
    private func lookup<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws(LedgerError) -> T {
        do {
            return try await pool.unsafeRead(body)
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(.storage, "\(what): \(error)", cause: error)
        }
    }

    @discardableResult
    public func recordClaim(_ receipt: Receipt, leasedTo owner: String?) async throws(LedgerError) -> Receipt? {
        try await write("recording receipt \(receipt.id)") { db in
            try db.cachedStatement(
                sql: "INSERT INTO receipt (\(SQLiteLedger.receiptColumns)) VALUES (\(Array(repeating: "?", count: 21).joined(separator: ", ")))"
            ).execute(arguments: SQLiteLedger.arguments(receipt))
            if let owner { _ = try self.lease("receipt", id: receipt.id, to: owner, db: db) }
            return try SQLiteLedger.firstAccepted(sender: receipt.senderOrgId, sha256: receipt.sha256, db: db)
        }
    }

    public func update(
        _ receipt: Receipt, recordingDeliveries deliveries: [Delivery], findings: ReceiptFindings, applying changes: LedgerChanges
    ) async throws(LedgerError) {
        let changed = try await write("updating receipt \(receipt.id)") { db -> Int in
            try db.cachedStatement(
                sql: """
                    UPDATE receipt SET sender_org_id = ?, original_name = ?, size_bytes = ?, sha256 = ?, state = ?,
                    claimed_at = ?, file_type = ?, binding = ?, outcome = ?, records_received = ?, records_accepted = ?,
                    records_rejected = ?, error_count = ?, duplicate_of = ?, ack_file = ?, error_file = ?, finished_at = ?,
                    reprocess_of = ?, failed_records_only = ?, reprocess_reason = ?
                    WHERE id = ?
                    """
            ).execute(
                // Not `id` itself: setting a parent key, even to its own value, makes SQLite look for child rows
                // (duplicates, held records) by a scan of their tables on every update.
                arguments: SQLiteLedger.arguments(receipt, withId: false) + [receipt.id])
            let changed = db.changesCount
            guard changed > 0 else { return 0 }
            try SQLiteLedger.insert(deliveries, db)
            for held in changes.held {
                try SQLiteLedger.hold(held, db)
                try SQLiteLedger.accept(AcceptedRecord(held), db)
            }
            for waiver in changes.waivers { try SQLiteLedger.save(waiver, db) }
            for record in findings.rejectedRecords {
                try db.cachedStatement(sql: "INSERT OR IGNORE INTO rejected_record (receipt_id, line, record_key, codes) VALUES (?, ?, ?, ?)").execute(
                    arguments: [record.receiptId, record.line, LedgerRecordFields.storable(record.recordKey), record.codes.joined(separator: ",")])
            }
            for (position, issue) in findings.issues.enumerated() {
                try db.cachedStatement(sql: """
                        INSERT OR IGNORE INTO receipt_issue
                        (receipt_id, position, code, message, line, column_number, path, field, row_number, record_key)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """).execute(
                    arguments: [
                        receipt.id, position, issue.code.rawValue, LedgerRecordFields.storable(issue.message), issue.line, issue.column,
                        LedgerRecordFields.storable(issue.path), LedgerRecordFields.storable(issue.field), issue.row,
                        LedgerRecordFields.storable(issue.recordKey),
                    ])
            }
            return changed
        }
        if changed == 0 { throw LedgerError(.unknownReceipt, "no receipt \(receipt.id)") }
    }

    public func receipt(id: String) async throws(LedgerError) -> Receipt? {
        try await lookup("reading receipt \(id)") { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM receipt WHERE id = ?"), arguments: [id]).map(SQLiteLedger.receipt(from:))
        }
    }

    public func firstAccepted(sender: String, sha256: String) async throws(LedgerError) -> Receipt? {
        try await lookup("looking for an accepted copy") { db in try SQLiteLedger.firstAccepted(sender: sender, sha256: sha256, db: db) }
    }

    private static func firstAccepted(sender: String, sha256: String, db: Database) throws -> Receipt? {
        try Row.fetchOne(
            db.cachedStatement(sql: """
                SELECT * FROM receipt WHERE sender_org_id = ? AND sha256 = ?
                AND outcome IN ('ACCEPTED', 'ACCEPTED_WITH_ERRORS') ORDER BY rowid LIMIT 1
                """), arguments: [sender, sha256]
        ).map(SQLiteLedger.receipt(from:))
    }

    public func unfinishedReceipts() async throws(LedgerError) -> [Receipt] {
        try await read("listing unfinished receipts") { db in
            // From the partial index of unfinished receipts (a few rows), sorted after: in rowid order SQLite
            // would walk every receipt of the ledger to skip the sort.
            try Row.fetchAll(db, sql: SQLiteLedger.unfinishedReceiptsInOrder)
                .map(SQLiteLedger.receipt(from:))
        }
    }

    public func allReceipts() async throws(LedgerError) -> [Receipt] {
        try await read("listing receipts") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM receipt ORDER BY rowid").map(SQLiteLedger.receipt(from:))
        }
    }

    public func pendingDeliveries() async throws(LedgerError) -> [Delivery] {
        try await read("listing pending deliveries") { db in
            // Asked every second while files wait for pickup: four columns, read by position, from the partial
            // index of waiting deliveries (in time order SQLite walked every delivery of the year).
            let rows = try Row.fetchCursor(
                db.cachedStatement(
                    sql: SQLiteLedger.waitingDeliveriesInOrder))
            var pending: [Delivery] = []
            while let row = try rows.next() {
                pending.append(
                    Delivery(receiptId: row[0], recipientOrgId: row[1], fileName: row[2], deliveredAt: Timestamp(secondsSinceEpoch: row[3])))
            }
            return pending
        }
    }

    public func pendingDeliveries(among names: [OutboundName]) async throws(LedgerError) -> Set<OutboundName> {
        guard !names.isEmpty else { return [] }
        return try await read("looking up deliveries") { db in
            var pending: Set<OutboundName> = []
            for name in names {
                let waits = try Bool.fetchOne(
                    db.cachedStatement(
                        sql: "SELECT EXISTS (SELECT 1 FROM delivery WHERE recipient_org_id = ? AND file_name = ? AND picked_up_at IS NULL)"),
                    arguments: [name.recipientOrgId, name.fileName]) ?? false
                if waits { pending.insert(name) }
            }
            return pending
        }
    }

    public func rejectedRecords(receiptId: String) async throws(LedgerError) -> [RejectedRecord] {
        try await read("listing rejected records") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM rejected_record WHERE receipt_id = ? ORDER BY line", arguments: [receiptId]).map {
                RejectedRecord(
                    receiptId: $0["receipt_id"], line: $0["line"], recordKey: $0["record_key"],
                    codes: ($0["codes"] as String).split(separator: ",").map(String.init))
            }
        }
    }

    public func issues(receiptId: String) async throws(LedgerError) -> [ValidationIssue] {
        try await read("listing the issues of a receipt") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM receipt_issue WHERE receipt_id = ? ORDER BY position", arguments: [receiptId]).map {
                ValidationIssue(
                    code: ValidationIssue.Code(rawValue: $0["code"]), message: $0["message"], line: $0["line"],
                    column: $0["column_number"], path: $0["path"], field: $0["field"], row: $0["row_number"],
                    recordKey: $0["record_key"])
            }
        }
    }

    public func issueCodeCounts(matching query: ReceiptQuery) async throws(LedgerError) -> [String: Int] {
        let (condition, arguments) = SQLiteLedger.condition(query)
        return try await read("counting the issues by code") { db in
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT code, count(*) AS n FROM receipt JOIN receipt_issue ON receipt_issue.receipt_id = receipt.id WHERE \(condition) GROUP BY code",
                arguments: arguments)
            return Dictionary(uniqueKeysWithValues: rows.map { ($0["code"] as String, $0["n"] as Int) })
        }
    }

    /// The WHERE clause (with its arguments) that selects the receipts of `query`.
    private static func condition(_ query: ReceiptQuery) -> (String, StatementArguments) {
        var clauses: [String] = ["1"]
        var arguments = StatementArguments()
        func oneOf(_ column: String, _ values: [String]) {
            guard !values.isEmpty else { return }
            clauses.append("\(column) IN (\(Array(repeating: "?", count: values.count).joined(separator: ", ")))")
            arguments += StatementArguments(values)
        }
        oneOf("sender_org_id", query.senders.sorted())
        oneOf("file_type", query.types.map(\.code).sorted())
        oneOf("outcome", query.outcomes.map(\.rawValue).sorted())
        if let from = query.claimedFrom {
            clauses.append("claimed_at >= ?")
            arguments += [from.secondsSinceEpoch]
        }
        if let before = query.claimedBefore {
            clauses.append("claimed_at < ?")
            arguments += [before.secondsSinceEpoch]
        }
        if let reprocessOf = query.reprocessOf {
            clauses.append("reprocess_of = ?")
            arguments += [reprocessOf]
        }
        if query.sentOnly { clauses.append("reprocess_of IS NULL") }
        return (clauses.joined(separator: " AND "), arguments)
    }

    public func receipts(matching query: ReceiptQuery) async throws(LedgerError) -> [Receipt] {
        let (condition, arguments) = SQLiteLedger.condition(query)
        let limit = query.limit.map { " LIMIT \(max(0, $0))" } ?? ""
        return try await read("searching receipts") { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM receipt WHERE \(condition) ORDER BY claimed_at DESC, rowid DESC\(limit)", arguments: arguments
            ).map(SQLiteLedger.receipt(from:))
        }
    }

    public func latestReceiptPerSender(matching query: ReceiptQuery) async throws(LedgerError) -> [Receipt] {
        let (condition, arguments) = SQLiteLedger.condition(query)
        return try await read("finding each sender's latest receipt") { db in
            // Sender by sender (each the next one up in the sender index), and for each its newest matching
            // receipt, read backwards in that index: a few rows each, where ranking every receipt of the
            // ledger grew with the years (the status page and the quiet centers ask this).
            try Row.fetchAll(
                db,
                sql: """
                    WITH RECURSIVE sender(id) AS (
                        SELECT min(sender_org_id) FROM receipt
                        UNION ALL
                        SELECT (SELECT min(sender_org_id) FROM receipt WHERE sender_org_id > sender.id) FROM sender WHERE id IS NOT NULL
                    )
                    SELECT receipt.* FROM sender JOIN receipt ON receipt.rowid = (
                        SELECT rowid FROM receipt WHERE sender_org_id = sender.id AND \(condition) ORDER BY claimed_at DESC, rowid DESC LIMIT 1
                    ) ORDER BY receipt.sender_org_id
                    """,
                arguments: arguments
            ).map(SQLiteLedger.receipt(from:))
        }
    }

    @discardableResult
    public func markPickedUp(recipientOrgId: String, fileName: String, at time: Timestamp) async throws(LedgerError) -> Bool {
        try await write("recording a pickup") { db in
            try db.execute(
                sql: "UPDATE delivery SET picked_up_at = ? WHERE recipient_org_id = ? AND file_name = ? AND picked_up_at IS NULL",
                arguments: [time.secondsSinceEpoch, recipientOrgId, fileName])
            return db.changesCount > 0
        }
    }

    // MARK: Notifications

    public func recordNotifications(_ notifications: [PartnerNotification]) async throws(LedgerError) -> Int {
        guard !notifications.isEmpty else { return 0 }
        return try await write("recording notifications") { db in
            var added = 0
            for notification in notifications {
                try db.execute(
                    sql: """
                        INSERT INTO notification (event_id, contact, org_id, kind, subject, body, facts, created_at, state, attempts, next_attempt_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?) ON CONFLICT (event_id, contact) DO NOTHING
                        """,
                    arguments: [
                        notification.eventId, notification.contact, notification.orgId, notification.kind.rawValue, notification.subject,
                        notification.body, notification.facts, notification.createdAt.secondsSinceEpoch, notification.nextAttemptAt.secondsSinceEpoch,
                    ])
                added += db.changesCount
            }
            return added
        }
    }

    public func takeDueNotifications(at now: Timestamp, owner: String, limit: Int) async throws(LedgerError) -> [PartnerNotification] {
        let leaseSeconds = self.leaseSeconds
        return try await write("taking due notifications") { db in
            let due = try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM notification WHERE state = 'pending' AND next_attempt_at <= ?
                    AND (lease_until IS NULL OR lease_until < ? OR lease_owner = ?) ORDER BY created_at, rowid LIMIT ?
                    """, arguments: [now.secondsSinceEpoch, now.secondsSinceEpoch, owner, max(0, limit)]
            ).map(SQLiteLedger.notification(from:))
            for notification in due {
                try db.execute(
                    sql: "UPDATE notification SET lease_owner = ?, lease_until = ? WHERE event_id = ? AND contact = ?",
                    arguments: [owner, now.secondsSinceEpoch + leaseSeconds, notification.eventId, notification.contact])
            }
            return due
        }
    }

    public func finishNotificationAttempt(_ notification: PartnerNotification) async throws(LedgerError) {
        try await write("recording a notification attempt") { db in
            try db.execute(
                sql: """
                    UPDATE notification SET state = ?, attempts = ?, next_attempt_at = ?, sent_at = ?, last_error = ?, lease_owner = NULL,
                    lease_until = NULL WHERE event_id = ? AND contact = ?
                    """,
                arguments: [
                    notification.state.rawValue, notification.attempts, notification.nextAttemptAt.secondsSinceEpoch,
                    notification.sentAt?.secondsSinceEpoch, notification.lastError, notification.eventId, notification.contact,
                ])
        }
    }

    public func notifications(orgId: String?, limit: Int) async throws(LedgerError) -> [PartnerNotification] {
        try await read("listing notifications") { db in
            let (condition, arguments): (String, StatementArguments) = orgId.map { ("WHERE org_id = ?", [$0]) } ?? ("", [])
            return try Row.fetchAll(
                db, sql: "SELECT * FROM notification \(condition) ORDER BY created_at DESC, rowid DESC LIMIT \(max(0, limit))", arguments: arguments
            ).map(SQLiteLedger.notification(from:))
        }
    }

    private static func notification(from row: Row) throws(LedgerError) -> PartnerNotification {
        PartnerNotification(
            eventId: row["event_id"], contact: row["contact"], orgId: row["org_id"],
            kind: try LedgerError.stored(row["kind"] as String, in: "notification.kind"), subject: row["subject"], body: row["body"],
            facts: row["facts"], createdAt: Timestamp(secondsSinceEpoch: row["created_at"]),
            state: try LedgerError.stored(row["state"] as String, in: "notification.state"), attempts: row["attempts"],
            nextAttemptAt: Timestamp(secondsSinceEpoch: row["next_attempt_at"]),
            sentAt: (row["sent_at"] as Int64?).map(Timestamp.init(secondsSinceEpoch:)), lastError: row["last_error"])
    }

    public func deliveries(sourceId: String) async throws(LedgerError) -> [Delivery] {
        try await read("listing deliveries") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM delivery WHERE receipt_id = ? ORDER BY rowid", arguments: [sourceId])
                .map(SQLiteLedger.delivery(from:))
        }
    }

    private static func delivery(from row: Row) -> Delivery {
        Delivery(
            receiptId: row["receipt_id"], recipientOrgId: row["recipient_org_id"], fileName: row["file_name"],
            deliveredAt: Timestamp(secondsSinceEpoch: row["delivered_at"]),
            pickedUpAt: (row["picked_up_at"] as Int64?).map(Timestamp.init(secondsSinceEpoch:)))
    }

    private static func insert(_ deliveries: [Delivery], _ db: Database) throws {
        for delivery in deliveries {
            try db.cachedStatement(sql: """
                    INSERT OR IGNORE INTO delivery (receipt_id, recipient_org_id, file_name, delivered_at, picked_up_at)
                    VALUES (?, ?, ?, ?, ?)
                    """).execute(
                arguments: [
                    delivery.receiptId, delivery.recipientOrgId, delivery.fileName,
                    delivery.deliveredAt.secondsSinceEpoch, delivery.pickedUpAt?.secondsSinceEpoch,
                ])
            for record in delivery.records {
                try db.cachedStatement(sql: """
                        INSERT OR IGNORE INTO delivered_record (source_id, recipient_org_id, file_name, receipt_id, record_id)
                        VALUES (?, ?, ?, ?, ?)
                        """).execute(
                    arguments: [delivery.receiptId, delivery.recipientOrgId, delivery.fileName, record.receiptId, record.recordId])
            }
        }
    }

    private static func accept(_ record: AcceptedRecord, _ db: Database) throws {
        try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO accepted_record (receipt_id, record_id, type, natural_key, recipient_org_id, deleted)
                VALUES (?, ?, ?, ?, ?, ?)
                """).execute(
            arguments: [
                record.reference.receiptId, record.reference.recordId, record.type.code, record.naturalKey, record.recipientOrgId,
                record.deleted,
            ])
    }

    /// `column >= ? AND column < ?` for the bounds given, with their arguments.
    private static func period(_ column: String, from: Timestamp?, before: Timestamp?) -> (String, StatementArguments) {
        var clauses = ["1"]
        var arguments = StatementArguments()
        if let from {
            clauses.append("\(column) >= ?")
            arguments += [from.secondsSinceEpoch]
        }
        if let before {
            clauses.append("\(column) < ?")
            arguments += [before.secondsSinceEpoch]
        }
        return (clauses.joined(separator: " AND "), arguments)
    }

    public func deliveries(deliveredFrom from: Timestamp?, before: Timestamp?) async throws(LedgerError) -> [Delivery] {
        let (condition, arguments) = SQLiteLedger.period("delivered_at", from: from, before: before)
        return try await read("listing deliveries") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM delivery WHERE \(condition) ORDER BY rowid", arguments: arguments)
                .map(SQLiteLedger.delivery(from:))
        }
    }

    public func acceptedRecords(claimedFrom from: Timestamp?, before: Timestamp?) async throws(LedgerError) -> [AcceptedRecord] {
        let (condition, arguments) = SQLiteLedger.period("r.claimed_at", from: from, before: before)
        return try await read("listing accepted records") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT a.* FROM accepted_record a JOIN receipt r ON r.id = a.receipt_id WHERE \(condition) ORDER BY a.rowid
                    """,
                arguments: arguments
            ).map { row in
                AcceptedRecord(
                    reference: RecordReference(receiptId: row["receipt_id"], recordId: row["record_id"]),
                    type: try SQLiteLedger.decodeType(row["type"]), naturalKey: row["natural_key"],
                    recipientOrgId: row["recipient_org_id"], deleted: row["deleted"])
            }
        }
    }

    public func trail(claimedFrom from: Timestamp?, before: Timestamp?) async throws(LedgerError) -> [TrailEntry] {
        let (condition, arguments) = SQLiteLedger.period("r.claimed_at", from: from, before: before)
        return try await read("reading the record trail") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT d.* FROM delivered_record d JOIN receipt r ON r.id = d.receipt_id WHERE \(condition) ORDER BY d.rowid
                    """,
                arguments: arguments
            ).map(SQLiteLedger.trailEntry(from:))
        }
    }

    public func trail(sourceId: String) async throws(LedgerError) -> [TrailEntry] {
        try await read("reading the record trail") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM delivered_record WHERE source_id = ? ORDER BY rowid", arguments: [sourceId])
                .map(SQLiteLedger.trailEntry(from:))
        }
    }

    private static func trailEntry(from row: Row) -> TrailEntry {
        TrailEntry(
            sourceId: row["source_id"], recipientOrgId: row["recipient_org_id"], fileName: row["file_name"],
            record: RecordReference(receiptId: row["receipt_id"], recordId: row["record_id"]))
    }

    /// A stored type code, or a storage error naming it (a newer ktsx's type is not misread).
    private static func decodeType(_ code: String) throws -> ExchangeType {
        guard let type = ExchangeType(rawValue: code) else {
            throw LedgerError(.newerSchema, "the ledger holds a record type '\(code)' that this ktsx does not know")
        }
        return type
    }

    // MARK: Held records and waivers

    private static func hold(_ held: HeldRecord, _ db: Database) throws {
        let row = HeldRecordRow(held)
        try db.cachedStatement(sql: """
                INSERT INTO held_record (type, natural_key, sender_org_id, recipient_org_id, school_year, ssid, center_org_id,
                    record_date, fields, receipt_id, accepted_at, deleted, pending_posting, posting_run)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
                ON CONFLICT (type, natural_key) DO UPDATE SET sender_org_id = excluded.sender_org_id,
                    recipient_org_id = excluded.recipient_org_id, school_year = excluded.school_year, ssid = excluded.ssid,
                    center_org_id = excluded.center_org_id, record_date = excluded.record_date, fields = excluded.fields,
                    receipt_id = excluded.receipt_id, accepted_at = excluded.accepted_at, deleted = excluded.deleted,
                    pending_posting = excluded.pending_posting, posting_run = NULL,
                    ever_posted = CASE WHEN held_record.posting_run IS NOT NULL THEN 1 ELSE held_record.ever_posted END
                """).execute(
            arguments: [
                row.type, row.naturalKey, row.senderOrgId, row.recipientOrgId, row.schoolYear, row.ssid, row.centerOrgId,
                row.recordDate, row.fields, row.receiptId, row.acceptedAt, row.deleted, row.pendingPosting,
            ])
    }

    private static func held(from row: Row) throws(LedgerError) -> HeldRecord {
        HeldRecord(
            type: try LedgerError.stored(row["type"] as String, in: "held_record.type"), naturalKey: row["natural_key"], senderOrgId: row["sender_org_id"],
            recipientOrgId: row["recipient_org_id"], schoolYear: row["school_year"],
            values: LedgerRecordFields.decode(row["fields"]),
            receiptId: row["receipt_id"], acceptedAt: Timestamp(secondsSinceEpoch: row["accepted_at"]), deleted: row["deleted"])
    }

    private static func save(_ waiver: WaiverRequest, _ db: Database) throws {
        try db.cachedStatement(sql: """
                INSERT INTO waiver_request (id, center_org_id, school_year, fields, receipt_id, received_at, status,
                    decision_reason, decided_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET status = excluded.status, decision_reason = excluded.decision_reason,
                    decided_at = excluded.decided_at
                """).execute(
            arguments: [
                waiver.id, waiver.centerOrgId, waiver.schoolYear, LedgerRecordFields.encode(waiver.values), waiver.receiptId,
                waiver.receivedAt.secondsSinceEpoch, waiver.status.rawValue, waiver.decisionReason, waiver.decidedAt?.secondsSinceEpoch,
            ])
    }

    private static func waiver(from row: Row) throws(LedgerError) -> WaiverRequest {
        WaiverRequest(
            id: row["id"], centerOrgId: row["center_org_id"], schoolYear: row["school_year"],
            values: LedgerRecordFields.decode(row["fields"]),
            receiptId: row["receipt_id"], receivedAt: Timestamp(secondsSinceEpoch: row["received_at"]),
            status: try LedgerError.stored(row["status"] as String, in: "waiver.status"), decisionReason: row["decision_reason"],
            decidedAt: (row["decided_at"] as Int64?).map(Timestamp.init(secondsSinceEpoch:)))
    }

    public func heldRecord(_ type: ExchangeType, key: String) async throws(LedgerError) -> HeldRecord? {
        try await lookup("looking up a held record") { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM held_record WHERE type = ? AND natural_key = ?"), arguments: [type.code, key])
                .map(SQLiteLedger.held(from:))
        }
    }

    /// A student's enrollments at a center, in key order (from `held_by_student`, in its order).
    static let enrollmentsOfStudent = "SELECT * FROM held_record WHERE type = 'ENR' AND ssid = ? AND center_org_id = ? ORDER BY natural_key"
    /// A school's attendance of a day, in key order (from `held_by_recipient_day`, in its order).
    static let attendanceOfDay = "SELECT * FROM held_record WHERE type = 'ATT' AND recipient_org_id = ? AND record_date = ? ORDER BY natural_key"
    /// Deliveries waiting for pickup, oldest first (from the partial index `delivery_pending`).
    static let waitingDeliveriesInOrder = """
        SELECT receipt_id, recipient_org_id, file_name, delivered_at FROM delivery INDEXED BY delivery_pending
        WHERE picked_up_at IS NULL ORDER BY delivered_at, rowid
        """
    /// Receipts not finished, in the order claimed (from the partial index `receipt_unfinished`).
    static let unfinishedReceiptsInOrder = "SELECT * FROM receipt INDEXED BY receipt_unfinished WHERE state <> 'finished' ORDER BY rowid"
    /// Job runs not finished, in the order claimed (from the partial index `job_run_unfinished`).
    static let unfinishedJobRunsInOrder = "SELECT * FROM job_run INDEXED BY job_run_unfinished WHERE state <> 'finished' ORDER BY rowid"

    public func enrollments(ssid: String, center: String) async throws(LedgerError) -> [HeldRecord] {
        try await lookup("looking up enrollments") { db in
            try Row.fetchAll(
                db.cachedStatement(sql: SQLiteLedger.enrollmentsOfStudent),
                arguments: [ssid, center]
            ).map(SQLiteLedger.held(from:))
        }
    }

    public func attendance(recipientOrgId: String, date: String) async throws(LedgerError) -> [HeldRecord] {
        try await lookup("looking up attendance") { db in
            try Row.fetchAll(
                db.cachedStatement(sql: SQLiteLedger.attendanceOfDay),
                arguments: [recipientOrgId, date]
            ).map(SQLiteLedger.held(from:))
        }
    }

    public func heldRecords(_ type: ExchangeType, recipientOrgId: String, datedFrom from: String, through: String) async throws(LedgerError)
        -> [HeldRecord]
    {
        try await lookup("looking up held records") { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT * FROM held_record INDEXED BY held_by_recipient_day
                        WHERE type = ? AND recipient_org_id = ? AND record_date >= ? AND record_date <= ? ORDER BY record_date, natural_key
                        """),
                arguments: [type.code, recipientOrgId, from, through]
            ).map(SQLiteLedger.held(from:))
        }
    }

    public func waivers(center: String, schoolYear: Int) async throws(LedgerError) -> [WaiverRequest] {
        try await lookup("looking up waivers") { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT * FROM waiver_request WHERE center_org_id = ? AND school_year = ? ORDER BY rowid"),
                arguments: [center, schoolYear]
            ).map(SQLiteLedger.waiver(from:))
        }
    }

    public func backlogCounts(overdueBefore: Timestamp) async throws(LedgerError) -> BacklogCounts {
        try await read("counting the backlog") { db in
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT (SELECT count(*) FROM receipt WHERE state <> 'finished') AS receipts,
                        (SELECT count(*) FROM job_run WHERE state <> 'finished') AS runs,
                        (SELECT count(*) FROM delivery WHERE picked_up_at IS NULL) AS waiting,
                        (SELECT count(*) FROM delivery INDEXED BY delivery_pending WHERE picked_up_at IS NULL AND delivered_at <= ?) AS overdue
                    """, arguments: [overdueBefore.secondsSinceEpoch])!
            return BacklogCounts(
                receiptsInProgress: row["receipts"], jobRunsInProgress: row["runs"], deliveriesWaiting: row["waiting"],
                deliveriesOverdue: row["overdue"])
        }
    }

    public func heldState(for request: HeldStateRequest) async throws(LedgerError) -> HeldState {
        try await read("looking up held records") { db in
            var state = HeldState(answering: request)
            for (type, keys) in request.keys {
                for chunk in SQLiteLedger.chunks(of: keys.sorted()) {
                    let (marks, values) = SQLiteLedger.inList(chunk)
                    let rows = try Row.fetchAll(
                        db.cachedStatement(sql: "SELECT * FROM held_record WHERE type = ? AND natural_key IN (\(marks))"),
                        arguments: StatementArguments([type.code] + values))
                    for row in rows {
                        let record = try SQLiteLedger.held(from: row)
                        state.records[type, default: [:]][record.naturalKey] = record
                    }
                }
            }
            for (center, students) in Dictionary(grouping: request.students, by: \.center) {
                for chunk in SQLiteLedger.chunks(of: students.map(\.ssid).sorted()) {
                    // No ORDER BY: SQLite would walk the key index of every enrollment to avoid a sort. The
                    // lists are sorted below, in the byte order of the single lookup's ORDER BY.
                    let (marks, values) = SQLiteLedger.inList(chunk)
                    let rows = try Row.fetchAll(
                        db.cachedStatement(sql: "SELECT * FROM held_record WHERE type = 'ENR' AND center_org_id = ? AND ssid IN (\(marks))"),
                        arguments: StatementArguments([center] + values))
                    for row in rows {
                        let record = try SQLiteLedger.held(from: row)
                        state.enrollments[StudentAtCenter(ssid: row["ssid"], center: center), default: []].append(record)
                    }
                }
            }
            for (student, records) in state.enrollments where records.count > 1 {
                state.enrollments[student] = records.sorted { $0.naturalKey.utf8.lexicographicallyPrecedes($1.naturalKey.utf8) }
            }
            let centers = Set(request.centerYears.map(\.center)).sorted()
            for chunk in SQLiteLedger.chunks(of: centers) {
                let (marks, values) = SQLiteLedger.inList(chunk)
                let rows = try Row.fetchAll(
                    db.cachedStatement(sql: "SELECT * FROM waiver_request WHERE center_org_id IN (\(marks)) ORDER BY rowid"),
                    arguments: StatementArguments(values))
                for row in rows {
                    let waiver = try SQLiteLedger.waiver(from: row)
                    let key = CenterYear(center: waiver.centerOrgId, schoolYear: waiver.schoolYear)
                    if request.centerYears.contains(key) { state.waivers[key, default: []].append(waiver) }
                }
            }
            return state
        }
    }

    /// The placeholders and values of an `IN (...)` list of `values` (not empty), padded with the last value
    /// to a power of two: the statement then has one of ten texts, each compiled once per connection
    /// (`cachedStatement`). A text per count was compiled for every lookup, which cost more than the lookup
    /// (the rules make one for every file).
    static func inList(_ values: [String]) -> (marks: String, values: [String]) {
        var size = 1
        while size < values.count { size *= 2 }
        let padded = values + Array(repeating: values.last ?? "", count: size - values.count)
        return (databaseQuestionMarks(count: size), padded)
    }

    /// Values in groups small enough for one statement's parameters.
    private static func chunks(of values: [String], size: Int = 500) -> [[String]] {
        stride(from: 0, to: values.count, by: size).map { Array(values[$0..<min($0 + size, values.count)]) }
    }

    public func allWaivers() async throws(LedgerError) -> [WaiverRequest] {
        try await read("listing waivers") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM waiver_request ORDER BY rowid").map(SQLiteLedger.waiver(from:))
        }
    }

    // MARK: Job runs

    private static func jobRun(from row: Row) throws(LedgerError) -> JobRun {
        var run = JobRun(
            id: row["id"], job: try LedgerError.stored(row["job"] as String, in: "job_run.job"), runKey: row["run_key"],
            startedAt: Timestamp(secondsSinceEpoch: row["started_at"]), detail: row["detail"])
        run.state = try LedgerError.stored(row["state"] as String, in: "job_run.state")
        run.finishedAt = (row["finished_at"] as Int64?).map(Timestamp.init(secondsSinceEpoch:))
        run.files = row["files"]
        run.records = row["records"]
        return run
    }

    public func claimJobRun(_ run: JobRun, leasedTo owner: String?) async throws(LedgerError) -> Bool {
        try await write("claiming job run \(run.id)") { db in
            try db.execute(
                sql: """
                    INSERT INTO job_run (id, job, run_key, state, started_at, finished_at, detail, files, records)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job, run_key) DO NOTHING
                    """,
                arguments: [
                    run.id, run.job.rawValue, run.runKey, run.state.rawValue, run.startedAt.secondsSinceEpoch,
                    run.finishedAt?.secondsSinceEpoch, run.detail, run.files, run.records,
                ])
            guard db.changesCount > 0 else { return false }
            if let owner { _ = try self.lease("job_run", id: run.id, to: owner, db: db) }
            if run.job == .gradePosting {
                try db.execute(
                    sql: "UPDATE held_record SET posting_run = ? WHERE pending_posting = 1 AND posting_run IS NULL",
                    arguments: [run.id])
            }
            return true
        }
    }

    public func jobRun(_ job: JobKind, runKey: String) async throws(LedgerError) -> JobRun? {
        try await read("looking up a job run") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM job_run WHERE job = ? AND run_key = ?", arguments: [job.rawValue, runKey])
                .map(SQLiteLedger.jobRun(from:))
        }
    }

    public func jobRun(id: String) async throws(LedgerError) -> JobRun? {
        try await read("looking up a job run") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM job_run WHERE id = ?", arguments: [id]).map(SQLiteLedger.jobRun(from:))
        }
    }

    public func unfinishedJobRuns() async throws(LedgerError) -> [JobRun] {
        try await read("listing unfinished job runs") { db in
            // From the partial index, as unfinished receipts are.
            try Row.fetchAll(db, sql: SQLiteLedger.unfinishedJobRunsInOrder)
                .map(SQLiteLedger.jobRun(from:))
        }
    }

    public func latestRunKey(_ job: JobKind, prefix: String) async throws(LedgerError) -> String? {
        try await read("looking up the latest job run") { db in
            try String.fetchOne(
                db, sql: "SELECT max(run_key) FROM job_run WHERE job = ? AND run_key >= ? AND run_key < ?",
                arguments: [job.rawValue, prefix, prefix + "\u{10FFFF}"])
        }
    }

    public func jobRuns(_ job: JobKind) async throws(LedgerError) -> [JobRun] {
        try await read("listing job runs") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM job_run WHERE job = ? ORDER BY rowid", arguments: [job.rawValue])
                .map(SQLiteLedger.jobRun(from:))
        }
    }

    public func latestJobRun(_ job: JobKind) async throws(LedgerError) -> JobRun? {
        try await read("finding the latest job run") { db in
            // The last entry of the job's own index (job, then rowid), not the (job, key) index, which holds every
            // run of the job in key order.
            try Row.fetchOne(
                db, sql: "SELECT * FROM job_run INDEXED BY job_run_latest WHERE job = ? ORDER BY rowid DESC LIMIT 1", arguments: [job.rawValue])
                .map(SQLiteLedger.jobRun(from:))
        }
    }

    public func gradesClaimed(by runId: String) async throws(LedgerError) -> [GradeToPost] {
        try await read("listing claimed grades") { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM held_record WHERE posting_run = ? AND pending_posting = 1 ORDER BY recipient_org_id, natural_key",
                arguments: [runId]
            ).map { GradeToPost(grade: try SQLiteLedger.held(from: $0), postedBefore: $0["ever_posted"]) }
        }
    }

    public func updateJobRun(_ run: JobRun, recordingDeliveries deliveries: [Delivery], decision: WaiverRequest?) async throws(LedgerError) {
        let moved = try await write("updating job run \(run.id)") { db -> Bool in
            try db.execute(
                sql: "UPDATE job_run SET state = ?, finished_at = ?, files = ?, records = ?, detail = ? WHERE id = ? AND state = ?",
                arguments: [
                    run.state.rawValue, run.finishedAt?.secondsSinceEpoch, run.files, run.records, run.detail, run.id,
                    JobRun.predecessor(of: run.state)?.rawValue,
                ])
            guard db.changesCount == 1 else { return false }
            try SQLiteLedger.insert(deliveries, db)
            if run.state == .writing, run.job == .gradePosting {
                // A posted delete leaves nothing at the high school: a later add is posted as an add again.
                try db.execute(
                    sql: """
                        UPDATE held_record SET pending_posting = 0, ever_posted = CASE WHEN deleted THEN 0 ELSE 1 END,
                            posting_run = NULL WHERE posting_run = ? AND pending_posting = 1
                        """,
                    arguments: [run.id])
            }
            if let decision {
                try db.execute(
                    sql: "UPDATE waiver_request SET status = ?, decision_reason = ?, decided_at = ? WHERE id = ? AND status = 'pending'",
                    arguments: [decision.status.rawValue, decision.decisionReason, decision.decidedAt?.secondsSinceEpoch, decision.id])
                guard db.changesCount == 1 else { throw Rollback() }
            }
            return true
        }
        if !moved { throw LedgerError(.conflict, "job run \(run.id) is not \(JobRun.predecessor(of: run.state)?.rawValue ?? "new") any more") }
    }
}
