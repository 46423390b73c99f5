import ExchangeCore
import GRDB

extension SQLiteLedger: RetiringLedger {
    public func retiredYears() async throws(LedgerError) -> [RetiredYear] {
        try await read("listing retired school years") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM retired_year ORDER BY school_year").map(SQLiteLedger.retiredYear(from:))
        }
    }

    public func startRetiring(_ year: RetiredYear) async throws(LedgerError) -> RetirementStart {
        try await write("beginning to retire school year \(year.schoolYear)") { db in
            if let recorded = try Row.fetchOne(db, sql: "SELECT * FROM retired_year WHERE school_year = ?", arguments: [year.schoolYear]) {
                let known = SQLiteLedger.retiredYear(from: recorded)
                return known.finishedAt == nil ? .retiring(known) : .retired(known)
            }
            let span: StatementArguments = [year.claimedFrom.secondsSinceEpoch, year.claimedBefore.secondsSinceEpoch]
            let blockers = RetirementBlockers(
                unfinishedReceipts: try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM receipt WHERE state <> 'finished' AND claimed_at >= ? AND claimed_at < ?", arguments: span) ?? 0,
                gradesWaitingForPosting: try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM held_record WHERE pending_posting = 1 AND school_year = ?", arguments: [year.schoolYear]) ?? 0,
                filesWaitingForPickup: try Int.fetchOne(db, sql: "SELECT count(*) \(SQLiteLedger.waitingFilesOfTheYear)", arguments: span) ?? 0,
                waitingFiles: try Row.fetchAll(
                    db,
                    sql: """
                        SELECT d.recipient_org_id, d.file_name \(SQLiteLedger.waitingFilesOfTheYear)
                        ORDER BY d.delivered_at, d.rowid LIMIT \(RetirementBlockers.filesListed)
                        """, arguments: span
                ).map { OutboundName(recipientOrgId: $0["recipient_org_id"], fileName: $0["file_name"]) })
            guard blockers.isEmpty else { return .blocked(blockers) }
            try db.execute(
                sql: "INSERT INTO retired_year (school_year, claimed_from, claimed_before, archive_file, started_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [
                    year.schoolYear, year.claimedFrom.secondsSinceEpoch, year.claimedBefore.secondsSinceEpoch, year.archiveFile,
                    year.startedAt.secondsSinceEpoch,
                ])
            return .retiring(year)
        }
    }

    public func rowsToRetire(
        _ table: RetiredTable, of year: RetiredYear, after: [LedgerValue]?, limit: Int
    ) async throws(LedgerError) -> RetiredRows {
        let (sql, bound) = SQLiteLedger.retiringBatch(table, of: year, after: after, limit: limit)
        return try await read("reading \(table.rawValue) rows of school year \(year.schoolYear)") { db in
            let rows = try Row.fetchAll(db, sql: sql, arguments: bound).map(SQLiteLedger.ledgerValues)
            return RetiredRows(table: table, rows: rows)
        }
    }

    public func removeRetired(_ rows: RetiredRows) async throws(LedgerError) {
        guard !rows.rows.isEmpty else { return }
        let keyColumns = rows.table.keyColumns
        let sql = "DELETE FROM \(rows.table.rawValue) WHERE \(keyColumns.map { "\($0.name) = ?" }.joined(separator: " AND "))"
        let keys = rows.keys
        try await write("removing \(keys.count) retired \(rows.table.rawValue) rows") { db in
            let statement = try db.cachedStatement(sql: sql)
            for key in keys { try statement.execute(arguments: StatementArguments(key.map(\.databaseValue))) }
        }
    }

    public func finishRetiring(_ year: RetiredYear, at time: Timestamp) async throws(LedgerError) {
        try await write("recording school year \(year.schoolYear) as retired") { db in
            try db.execute(
                sql: "UPDATE retired_year SET finished_at = ? WHERE school_year = ?", arguments: [time.secondsSinceEpoch, year.schoolYear])
        }
    }

    /// Files waiting for pickup that carry records received in the year (claimed from `?` to before `?`):
    /// the FROM and WHERE of a query.
    static let waitingFilesOfTheYear = """
        FROM delivery d INDEXED BY delivery_pending WHERE d.picked_up_at IS NULL AND EXISTS (
            SELECT 1 FROM delivered_record r JOIN receipt c ON c.id = r.receipt_id
            WHERE r.source_id = d.receipt_id AND r.recipient_org_id = d.recipient_org_id AND r.file_name = d.file_name
            AND c.claimed_at >= ? AND c.claimed_at < ?)
        """

    /// The query of a batch of `rowsToRetire`, and its arguments.
    static func retiringBatch(
        _ table: RetiredTable, of year: RetiredYear, after: [LedgerValue]?, limit: Int
    ) -> (String, StatementArguments) {
        var (condition, arguments) = SQLiteLedger.retiring(table, of: year)
        let order = table.orderColumns.map(\.name).joined(separator: ", ")
        if let after {
            condition += " AND (\(order)) > (\(after.map { _ in "?" }.joined(separator: ", ")))"
            arguments += StatementArguments(after.map(\.databaseValue))
        }
        let sql = """
            SELECT \(table.columns.map(\.name).joined(separator: ", ")) FROM \(table.rawValue) WHERE \(condition) \
            ORDER BY \(order) LIMIT \(max(1, limit))
            """
        return (sql, arguments)
    }

    /// Which rows of `table` belong to `year`, as an SQL condition and its arguments.
    static func retiring(_ table: RetiredTable, of year: RetiredYear) -> (String, StatementArguments) {
        let span: StatementArguments = [year.claimedFrom.secondsSinceEpoch, year.claimedBefore.secondsSinceEpoch]
        switch table {
        case .heldRecord:
            return ("school_year = ? AND pending_posting = 0", [year.schoolYear])
        case .acceptedRecord, .deliveredRecord, .rejectedRecord, .receiptIssue:
            return ("receipt_id IN (SELECT id FROM receipt WHERE claimed_at >= ? AND claimed_at < ?)", span)
        case .delivery:
            return ("picked_up_at IS NOT NULL AND delivered_at >= ? AND delivered_at < ?", span)
        }
    }

    /// A row's values, in its columns' order.
    static func ledgerValues(_ row: Row) -> [LedgerValue] {
        row.databaseValues.map { value in
            switch value.storage {
            case .null: .null
            case .int64(let number): .integer(number)
            case .double(let number): .integer(Int64(number))
            case .string(let text): .text(text)
            case .blob(let data): .text(String(decoding: data, as: UTF8.self))
            }
        }
    }

    static func retiredYear(from row: Row) -> RetiredYear {
        RetiredYear(
            schoolYear: row["school_year"], claimedFrom: Timestamp(secondsSinceEpoch: row["claimed_from"]),
            claimedBefore: Timestamp(secondsSinceEpoch: row["claimed_before"]), archiveFile: row["archive_file"],
            startedAt: Timestamp(secondsSinceEpoch: row["started_at"]),
            finishedAt: (row["finished_at"] as Int64?).map(Timestamp.init(secondsSinceEpoch:)))
    }
}

extension LedgerValue {
    /// The value as GRDB binds it.
    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let number): number.databaseValue
        case .text(let text): text.databaseValue
        }
    }
}
