import ExchangeCore
import GRDB

/// The ledger in an SQLite file (embedded: `ktsx run` needs nothing else). Created on first use and
/// migrated by versioned migrations, which are never edited once shipped; a database written by a newer
/// `ktsx` is refused rather than misread. The database enforces the invariants: a receipt id once, and
/// the same bytes from the same sender accepted at most once.
public final class SQLiteLedger: LedgerStore {
    private let queue: DatabaseQueue

    /// Opens (creating and migrating as needed) the ledger at `path`.
    /// - Throws: `LedgerError` (`.storage`, or `.newerSchema` when the file is from a newer ktsx).
    public init(path: String) throws(LedgerError) {
        do {
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            queue = try DatabaseQueue(path: path, configuration: configuration)
            let migrator = SQLiteLedger.migrator
            let applied = try queue.read { try migrator.appliedIdentifiers($0) }
            let known = Set(migrator.migrations)
            if let unknown = applied.first(where: { !known.contains($0) }) {
                throw LedgerError(.newerSchema, "the ledger at \(path) has migration '\(unknown)', which this ktsx does not know; use a newer ktsx")
            }
            try migrator.migrate(queue)
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(.storage, "cannot open the ledger at \(path): \(error)")
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
        return migrator
    }

    private static let receiptColumns = """
        id, sender_org_id, original_name, size_bytes, sha256, state, claimed_at, file_type, binding, outcome, \
        records_received, records_accepted, records_rejected, error_count, duplicate_of, ack_file, error_file, finished_at
        """

    private static func arguments(_ receipt: Receipt) -> StatementArguments {
        [
            receipt.id, receipt.senderOrgId, receipt.originalName, receipt.sizeBytes, receipt.sha256,
            receipt.state.rawValue, receipt.claimedAt.secondsSinceEpoch, receipt.fileType?.code, receipt.binding?.rawValue,
            receipt.outcome?.rawValue, receipt.recordsReceived, receipt.recordsAccepted, receipt.recordsRejected,
            receipt.errorCount, receipt.duplicateOf, receipt.ackFile, receipt.errorFile,
            receipt.finishedAt?.secondsSinceEpoch,
        ]
    }

    private static func receipt(from row: Row) -> Receipt {
        var receipt = Receipt(
            id: row["id"], senderOrgId: row["sender_org_id"], originalName: row["original_name"],
            sizeBytes: row["size_bytes"], sha256: row["sha256"],
            claimedAt: Timestamp(secondsSinceEpoch: row["claimed_at"]))
        receipt.state = ReceiptState(rawValue: row["state"]) ?? .claimed
        receipt.fileType = (row["file_type"] as String?).flatMap(ExchangeType.init(rawValue:))
        receipt.binding = (row["binding"] as String?).flatMap(Binding.init(rawValue:))
        receipt.outcome = (row["outcome"] as String?).flatMap(FileOutcome.init(rawValue:))
        receipt.recordsReceived = row["records_received"]
        receipt.recordsAccepted = row["records_accepted"]
        receipt.recordsRejected = row["records_rejected"]
        receipt.errorCount = row["error_count"]
        receipt.duplicateOf = row["duplicate_of"]
        receipt.ackFile = row["ack_file"]
        receipt.errorFile = row["error_file"]
        receipt.finishedAt = (row["finished_at"] as Int64?).map(Timestamp.init(secondsSinceEpoch:))
        return receipt
    }

    private func write<T>(_ what: String, _ body: (Database) throws -> T) throws(LedgerError) -> T {
        do {
            return try queue.write(body)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw LedgerError(.duplicateReceipt, "\(what): \(error.message ?? "constraint violated")")
        } catch {
            throw LedgerError(.storage, "\(what): \(error)")
        }
    }

    private func read<T>(_ what: String, _ body: (Database) throws -> T) throws(LedgerError) -> T {
        do {
            return try queue.read(body)
        } catch {
            throw LedgerError(.storage, "\(what): \(error)")
        }
    }

    public func recordClaim(_ receipt: Receipt) throws(LedgerError) {
        try write("recording receipt \(receipt.id)") { db in
            try db.execute(
                sql: "INSERT INTO receipt (\(SQLiteLedger.receiptColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: SQLiteLedger.arguments(receipt))
        }
    }

    public func update(_ receipt: Receipt, recordingDeliveries deliveries: [Delivery], rejectedRecords: [RejectedRecord])
        throws(LedgerError)
    {
        let changed = try write("updating receipt \(receipt.id)") { db -> Int in
            try db.execute(
                sql: """
                    UPDATE receipt SET id = ?, sender_org_id = ?, original_name = ?, size_bytes = ?, sha256 = ?, state = ?,
                    claimed_at = ?, file_type = ?, binding = ?, outcome = ?, records_received = ?, records_accepted = ?,
                    records_rejected = ?, error_count = ?, duplicate_of = ?, ack_file = ?, error_file = ?, finished_at = ?
                    WHERE id = ?
                    """,
                arguments: SQLiteLedger.arguments(receipt) + [receipt.id])
            let changed = db.changesCount
            guard changed > 0 else { return 0 }
            for delivery in deliveries {
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO delivery (receipt_id, recipient_org_id, file_name, delivered_at, picked_up_at)
                        VALUES (?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        delivery.receiptId, delivery.recipientOrgId, delivery.fileName,
                        delivery.deliveredAt.secondsSinceEpoch, delivery.pickedUpAt?.secondsSinceEpoch,
                    ])
            }
            for record in rejectedRecords {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO rejected_record (receipt_id, line, record_key, codes) VALUES (?, ?, ?, ?)",
                    arguments: [record.receiptId, record.line, record.recordKey, record.codes.joined(separator: ",")])
            }
            return changed
        }
        if changed == 0 { throw LedgerError(.unknownReceipt, "no receipt \(receipt.id)") }
    }

    public func receipt(id: String) throws(LedgerError) -> Receipt? {
        try read("reading receipt \(id)") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM receipt WHERE id = ?", arguments: [id]).map(SQLiteLedger.receipt(from:))
        }
    }

    public func firstAccepted(sender: String, sha256: String) throws(LedgerError) -> Receipt? {
        try read("looking for an accepted copy") { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT * FROM receipt WHERE sender_org_id = ? AND sha256 = ?
                    AND outcome IN ('ACCEPTED', 'ACCEPTED_WITH_ERRORS') ORDER BY claimed_at, rowid LIMIT 1
                    """,
                arguments: [sender, sha256]
            ).map(SQLiteLedger.receipt(from:))
        }
    }

    public func unfinishedReceipts() throws(LedgerError) -> [Receipt] {
        try read("listing unfinished receipts") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM receipt WHERE state <> 'finished' ORDER BY claimed_at, rowid")
                .map(SQLiteLedger.receipt(from:))
        }
    }

    public func allReceipts() throws(LedgerError) -> [Receipt] {
        try read("listing receipts") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM receipt ORDER BY claimed_at, rowid").map(SQLiteLedger.receipt(from:))
        }
    }

    public func pendingDeliveries() throws(LedgerError) -> [Delivery] {
        try read("listing pending deliveries") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM delivery WHERE picked_up_at IS NULL ORDER BY delivered_at, rowid").map {
                Delivery(
                    receiptId: $0["receipt_id"], recipientOrgId: $0["recipient_org_id"], fileName: $0["file_name"],
                    deliveredAt: Timestamp(secondsSinceEpoch: $0["delivered_at"]))
            }
        }
    }

    public func isPendingDelivery(recipientOrgId: String, fileName: String) throws(LedgerError) -> Bool {
        try read("looking up a delivery") { db in
            try Bool.fetchOne(
                db,
                sql: "SELECT EXISTS (SELECT 1 FROM delivery WHERE recipient_org_id = ? AND file_name = ? AND picked_up_at IS NULL)",
                arguments: [recipientOrgId, fileName]) ?? false
        }
    }

    public func rejectedRecords(receiptId: String) throws(LedgerError) -> [RejectedRecord] {
        try read("listing rejected records") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM rejected_record WHERE receipt_id = ? ORDER BY line", arguments: [receiptId]).map {
                RejectedRecord(
                    receiptId: $0["receipt_id"], line: $0["line"], recordKey: $0["record_key"],
                    codes: ($0["codes"] as String).split(separator: ",").map(String.init))
            }
        }
    }

    public func markPickedUp(recipientOrgId: String, fileName: String, at time: Timestamp) throws(LedgerError) {
        try write("recording a pickup") { db in
            try db.execute(
                sql: "UPDATE delivery SET picked_up_at = ? WHERE recipient_org_id = ? AND file_name = ? AND picked_up_at IS NULL",
                arguments: [time.secondsSinceEpoch, recipientOrgId, fileName])
        }
    }
}
