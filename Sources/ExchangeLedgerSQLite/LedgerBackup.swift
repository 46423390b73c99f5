import ExchangeCore
import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#endif

/// What a backup holds, read back from the copy itself.
public struct LedgerBackupSummary: Sendable, Equatable {
    /// Receipts in the copy.
    public var receipts: Int
    /// The latest claim among them (nil when there is none).
    public var lastClaimedAt: Timestamp?
    /// Job runs in the copy.
    public var jobRuns: Int
    /// The copy's last migration (the ktsx that can open it is this one or newer).
    public var lastMigration: String
    /// The copy's size in bytes.
    public var sizeBytes: Int64
}

extension SQLiteLedger {
    /// Copies the ledger at `path` to `destination` while it is in use (SQLite's online backup, one read
    /// transaction: the copy is the ledger as of one commit, whatever the service commits meanwhile). The
    /// copy is written beside `destination` under a temporary name, checked (`PRAGMA quick_check`), flushed,
    /// and renamed into place, so `destination` is either the previous file or a whole new copy. The source
    /// is opened read-only and never migrated. The copy is one file (its journal mode set back to DELETE),
    /// readable by its owner only (it holds student data).
    /// - Throws: `LedgerError` (`.storage`: unreadable source, a copy that fails its check, no room;
    ///   `.newerSchema`: a ledger this ktsx cannot read).
    public static func backup(ledgerAt path: String, to destination: String) throws(LedgerError) -> LedgerBackupSummary {
        let temporary = "\(destination).partial-\(getpid())"
        unlink(temporary)
        do {
            guard FileManager.default.fileExists(atPath: path) else {
                throw LedgerError(.storage, "there is no ledger at \(path) to back up")
            }
            var configuration = Configuration()
            configuration.readonly = true
            configuration.busyMode = .timeout(30)
            let source = try DatabasePool(path: path, configuration: configuration)
            let applied = try source.read { try migrator.appliedIdentifiers($0) }
            // A file the service has only begun to set up holds nothing to keep yet.
            guard !applied.isEmpty else {
                throw LedgerError(.storage, "the ledger at \(path) is not set up yet (ktsx run sets it up when it starts); back it up once the service runs")
            }
            if let unknown = applied.first(where: { !Set(migrator.migrations).contains($0) }) {
                throw LedgerError(.newerSchema, "the ledger at \(path) has migration '\(unknown)', which this ktsx does not know; use a newer ktsx")
            }
            // Student data: the copy is readable by its owner only, from its first byte.
            let created = open(temporary, O_CREAT | O_EXCL | O_WRONLY, 0o600)
            guard created >= 0 else {
                throw LedgerError(.storage, "cannot create \(temporary): \(String(cString: strerror(errno)))")
            }
            close(created)
            let copy = try DatabaseQueue(path: temporary)
            try source.backup(to: copy)
            let summary = try copy.writeWithoutTransaction { db -> LedgerBackupSummary in
                try db.execute(sql: "PRAGMA journal_mode = DELETE")
                let check = try String.fetchAll(db, sql: "PRAGMA quick_check")
                guard check == ["ok"] else {
                    throw LedgerError(.storage, "the copy of \(path) failed its check: \(check.prefix(3).joined(separator: "; "))")
                }
                let last = try Int64.fetchOne(db, sql: "SELECT MAX(claimed_at) FROM receipt")
                return LedgerBackupSummary(
                    receipts: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM receipt") ?? 0,
                    lastClaimedAt: last.map(Timestamp.init(secondsSinceEpoch:)),
                    jobRuns: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM job_run") ?? 0,
                    lastMigration: migrator.migrations.last { applied.contains($0) } ?? "", sizeBytes: 0)
            }
            try copy.close()
            try source.close()
            try flush(temporary)
            guard rename(temporary, destination) == 0 else {
                throw LedgerError(.storage, "cannot put the backup at \(destination): \(String(cString: strerror(errno)))")
            }
            try flush((destination as NSString).deletingLastPathComponent.isEmpty ? "." : (destination as NSString).deletingLastPathComponent)
            var info = stat()
            stat(destination, &info)
            var result = summary
            result.sizeBytes = Int64(info.st_size)
            return result
        } catch let error as LedgerError {
            unlink(temporary)
            throw error
        } catch {
            unlink(temporary)
            throw LedgerError(.storage, "cannot back up the ledger at \(path) to \(destination): \(error)", cause: error)
        }
    }

    /// `fsync` of a file or folder.
    private static func flush(_ path: String) throws(LedgerError) {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0, fsync(descriptor) == 0 else {
            if descriptor >= 0 { close(descriptor) }
            throw LedgerError(.storage, "cannot flush \(path) to disk: \(String(cString: strerror(errno)))")
        }
        close(descriptor)
    }
}

extension SQLiteLedger {
    /// Where a ledger file stands against this ktsx's migrations, read without changing it.
    public struct SchemaStatus: Sendable, Equatable {
        /// Migrations applied that this ktsx knows.
        public var applied: Int
        /// Migrations this ktsx would apply when it opens the file.
        public var pending: [String]
        /// Migrations applied that this ktsx does not know (the file is from a newer ktsx).
        public var unknown: [String]
    }

    /// Reads the migrations applied to the ledger at `path` (opened read-only; nothing migrated).
    public static func schemaStatus(ofLedgerAt path: String) throws(LedgerError) -> SchemaStatus {
        do {
            var configuration = Configuration()
            configuration.readonly = true
            let database = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? database.close() }
            let applied = try database.read { try migrator.appliedIdentifiers($0) }
            let known = migrator.migrations
            return SchemaStatus(
                applied: known.filter(applied.contains).count, pending: known.filter { !applied.contains($0) },
                unknown: applied.filter { !known.contains($0) }.sorted())
        } catch {
            throw LedgerError(.storage, "cannot read the ledger at \(path): \(error)", cause: error)
        }
    }
}
