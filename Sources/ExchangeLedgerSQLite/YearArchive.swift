import ExchangeCore
import Foundation
import GRDB

/// A retired school year's rows in an SQLite file of their own, whichever ledger they left: the tables
/// under the ledger's names and columns (`RetiredTable`), and `retired_year`, what the file holds. Readable
/// with the `sqlite3` shell; readable by its owner only (it holds student data). Each batch is one
/// transaction, flushed (synchronous FULL) before the ledger lets go of its rows.
public final class YearArchive: RetiredYearArchive {
    private let queue: DatabaseQueue
    /// The file.
    public let path: String

    /// Opens the archive of `year` at `path`, creating it (mode 600, in a folder of mode 700 if its folder
    /// is not there) if it is not there. A file that is not an archive, or the archive of another year, is
    /// refused.
    public init(path: String, for year: RetiredYear) throws(LedgerError) {
        self.path = path
        do {
            let created = !FileManager.default.fileExists(atPath: path)
            if created {
                let folder = (path as NSString).deletingLastPathComponent
                guard mkdir(folder, 0o700) == 0 || errno == EEXIST else {
                    throw LedgerError(.storage, "cannot create the folder \(folder): \(String(cString: strerror(errno)))")
                }
                let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                guard descriptor >= 0 else {
                    throw LedgerError(.storage, "cannot create the archive \(path): \(String(cString: strerror(errno)))")
                }
                close(descriptor)
            }
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            try queue.write { db in
                let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
                if !created, !tables.isEmpty, !tables.contains("retired_year") {
                    throw LedgerError(.storage, "\(path) is not the archive of a school year; name another file")
                }
                try db.execute(
                    sql: """
                        CREATE TABLE IF NOT EXISTS retired_year (
                            school_year INTEGER PRIMARY KEY NOT NULL,
                            claimed_from INTEGER NOT NULL,
                            claimed_before INTEGER NOT NULL,
                            started_at INTEGER NOT NULL,
                            finished_at INTEGER
                        )
                        """)
                let years = try Int.fetchAll(db, sql: "SELECT school_year FROM retired_year")
                if let other = years.first(where: { $0 != year.schoolYear }) {
                    throw LedgerError(.storage, "\(path) is the archive of school year \(other), not \(year.schoolYear); name another file")
                }
                if years.isEmpty {
                    try db.execute(
                        sql: "INSERT INTO retired_year (school_year, claimed_from, claimed_before, started_at) VALUES (?, ?, ?, ?)",
                        arguments: [
                            year.schoolYear, year.claimedFrom.secondsSinceEpoch, year.claimedBefore.secondsSinceEpoch,
                            year.startedAt.secondsSinceEpoch,
                        ])
                }
                for table in RetiredTable.allCases {
                    let columns = table.columns.map { column in
                        "\(column.name) \(column.kind == .text ? "TEXT" : "INTEGER")\(column.isKey ? " NOT NULL" : "")"
                    }
                    let key = table.keyColumns.map(\.name).joined(separator: ", ")
                    try db.execute(sql: "CREATE TABLE IF NOT EXISTS \(table.rawValue) (\(columns.joined(separator: ", ")), PRIMARY KEY (\(key)))")
                }
            }
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(.storage, "cannot open the archive \(path): \(error)", cause: error)
        }
    }

    public func store(_ rows: RetiredRows) throws(LedgerError) {
        guard !rows.rows.isEmpty else { return }
        let names = rows.table.columns.map(\.name)
        let sql = "INSERT OR REPLACE INTO \(rows.table.rawValue) (\(names.joined(separator: ", "))) VALUES (\(names.map { _ in "?" }.joined(separator: ", ")))"
        do {
            try queue.write { db in
                let statement = try db.cachedStatement(sql: sql)
                for row in rows.rows { try statement.execute(arguments: StatementArguments(row.map(\.databaseValue))) }
            }
        } catch {
            throw LedgerError(.storage, "cannot write \(rows.rows.count) \(rows.table.rawValue) rows to the archive \(path): \(error)", cause: error)
        }
    }

    public func finish(_ year: RetiredYear) throws(LedgerError) {
        do {
            try queue.write { db in
                try db.execute(
                    sql: "UPDATE retired_year SET finished_at = ? WHERE school_year = ?",
                    arguments: [year.finishedAt?.secondsSinceEpoch, year.schoolYear])
            }
        } catch {
            throw LedgerError(.storage, "cannot record school year \(year.schoolYear) as whole in \(path): \(error)", cause: error)
        }
    }

    /// How many rows of each table the archive holds.
    public func counts() throws(LedgerError) -> [RetiredTable: Int] {
        do {
            return try queue.read { db in
                var counts: [RetiredTable: Int] = [:]
                for table in RetiredTable.allCases { counts[table] = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table.rawValue)") ?? 0 }
                return counts
            }
        } catch {
            throw LedgerError(.storage, "cannot count the rows of the archive \(path): \(error)", cause: error)
        }
    }

    /// Every row of `table`, in key order (for tests and for reading an archive back).
    public func rows(_ table: RetiredTable) throws(LedgerError) -> RetiredRows {
        let columns = table.columns
        let order = table.keyColumns.map(\.name).joined(separator: ", ")
        do {
            return try queue.read { db in
                let rows = try Row.fetchAll(
                    db, sql: "SELECT \(columns.map(\.name).joined(separator: ", ")) FROM \(table.rawValue) ORDER BY \(order)"
                ).map(SQLiteLedger.ledgerValues)
                return RetiredRows(table: table, rows: rows)
            }
        } catch {
            throw LedgerError(.storage, "cannot read \(table.rawValue) from the archive \(path): \(error)", cause: error)
        }
    }
}
