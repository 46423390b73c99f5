import ExchangeCore
import PostgresNIO

extension PostgresLedger: RetiringLedger {
    public func retiredYears() async throws(LedgerError) -> [RetiredYear] {
        try await decoded("listing retired school years", "SELECT * FROM retired_year ORDER BY school_year", PostgresLedger.retiredYear(from:))
    }

    public func startRetiring(_ year: RetiredYear) async throws(LedgerError) -> RetirementStart {
        try await write("beginning to retire school year \(year.schoolYear)") { connection in
            // Two commands at once: the second waits on the first's row, then finds it.
            try await execute("LOCK TABLE retired_year IN SHARE ROW EXCLUSIVE MODE", on: connection)
            let recorded = try await sessions.run("SELECT * FROM retired_year WHERE school_year = \(year.schoolYear)", on: connection)
            for row in recorded {
                let known = try PostgresLedger.retiredYear(from: Columns(row))
                return known.finishedAt == nil ? RetirementStart.retiring(known) : .retired(known)
            }
            let (from, before) = (year.claimedFrom.secondsSinceEpoch, year.claimedBefore.secondsSinceEpoch)
            let waiting = """
                FROM delivery d WHERE d.picked_up_at IS NULL AND EXISTS (
                    SELECT 1 FROM delivered_record r JOIN receipt c ON c.id = r.receipt_id
                    WHERE r.source_id = d.receipt_id AND r.recipient_org_id = d.recipient_org_id AND r.file_name = d.file_name
                    AND c.claimed_at >= $1 AND c.claimed_at < $2)
                """
            var span = PostgresBindings()
            span.append(from)
            span.append(before)
            var counting = span
            counting.append(Int64(year.schoolYear))
            let counts = try await sessions.run(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT (SELECT count(*) FROM receipt WHERE state <> 'finished' AND claimed_at >= $1 AND claimed_at < $2) AS receipts,
                            (SELECT count(*) FROM held_record WHERE pending_posting AND school_year = $3) AS grades,
                            (SELECT count(*) \(waiting)) AS files
                        """, binds: counting), on: connection)
            var blockers = RetirementBlockers(unfinishedReceipts: 0, gradesWaitingForPosting: 0, filesWaitingForPickup: 0)
            for row in counts {
                let columns = Columns(row)
                blockers = RetirementBlockers(
                    unfinishedReceipts: try columns.int("receipts"), gradesWaitingForPosting: try columns.int("grades"),
                    filesWaitingForPickup: try columns.int("files"))
            }
            if blockers.filesWaitingForPickup > 0 {
                span.append(Int64(RetirementBlockers.filesListed))
                for row in try await sessions.run(
                    PostgresQuery(unsafeSQL: "SELECT d.recipient_org_id, d.file_name \(waiting) ORDER BY d.delivered_at, d.seq LIMIT $3", binds: span),
                    on: connection)
                {
                    let columns = Columns(row)
                    blockers.waitingFiles.append(OutboundName(recipientOrgId: try columns.string("recipient_org_id"), fileName: try columns.string("file_name")))
                }
            }
            guard blockers.isEmpty else { return .blocked(blockers) }
            try await execute(
                """
                INSERT INTO retired_year (school_year, claimed_from, claimed_before, archive_file, started_at)
                VALUES (\(year.schoolYear), \(from), \(before), \(year.archiveFile), \(year.startedAt.secondsSinceEpoch))
                """, on: connection)
            return .retiring(year)
        }
    }

    public func rowsToRetire(
        _ table: RetiredTable, of year: RetiredYear, after: [LedgerValue]?, limit: Int
    ) async throws(LedgerError) -> RetiredRows {
        var bind = StatementBinder()
        var condition: String
        switch table {
        case .heldRecord:
            condition = "school_year = \(bind(Int64(year.schoolYear))) AND NOT pending_posting"
        case .acceptedRecord, .deliveredRecord, .rejectedRecord, .receiptIssue:
            condition = """
                receipt_id IN (SELECT id FROM receipt WHERE claimed_at >= \(bind(year.claimedFrom.secondsSinceEpoch)) \
                AND claimed_at < \(bind(year.claimedBefore.secondsSinceEpoch)))
                """
        case .delivery:
            condition = """
                picked_up_at IS NOT NULL AND delivered_at >= \(bind(year.claimedFrom.secondsSinceEpoch)) \
                AND delivered_at < \(bind(year.claimedBefore.secondsSinceEpoch))
                """
        }
        let keys = table.orderColumns.map(\.name).joined(separator: ", ")
        if let after {
            let values = after.map { value -> String in
                switch value {
                case .text(let text): bind(text)
                case .integer(let number): bind(number)
                case .null: "NULL"
                }
            }
            condition += " AND (\(keys)) > (\(values.joined(separator: ", ")))"
        }
        let columns = table.columns
        // Every column read as text and turned back into its kind: one decoding for every table.
        let sql = """
            SELECT \(columns.map { "\($0.name)::text" }.joined(separator: ", ")) FROM \(table.rawValue) \
            WHERE \(condition) ORDER BY \(keys) LIMIT \(max(1, limit))
            """
        let rows = try await decoded("reading \(table.rawValue) rows of school year \(year.schoolYear)", bind.query(sql)) { row in
            var values: [LedgerValue] = []
            for (index, column) in columns.enumerated() {
                guard let text = try row.row[index].decode(String?.self) else {
                    values.append(.null)
                    continue
                }
                switch column.kind {
                case .text: values.append(.text(text))
                case .integer:
                    guard let number = Int64(text) else { throw LedgerError(.storage, "\(table.rawValue).\(column.name) is not a number") }
                    values.append(.integer(number))
                case .boolean: values.append(.integer(text == "true" || text == "t" ? 1 : 0))
                }
            }
            return values
        }
        return RetiredRows(table: table, rows: rows)
    }

    public func removeRetired(_ rows: RetiredRows) async throws(LedgerError) {
        guard !rows.rows.isEmpty else { return }
        var bind = StatementBinder()
        let keyColumns = rows.table.keyColumns
        let keys = rows.keys
        var arrays: [String] = []
        var matches: [String] = []
        for (index, column) in keyColumns.enumerated() {
            // Key columns are never NULL.
            let texts = keys.map { key -> String in
                switch key[index] {
                case .text(let text): text
                case .integer(let number): String(number)
                case .null: ""
                }
            }
            arrays.append("\(bind(texts))::text[]")
            matches.append("t.\(column.name) = k.c\(index)\(column.kind == .text ? "" : "::bigint")")
        }
        let names = keyColumns.indices.map { "c\($0)" }.joined(separator: ", ")
        let sql = """
            DELETE FROM \(rows.table.rawValue) AS t USING unnest(\(arrays.joined(separator: ", "))) AS k(\(names)) \
            WHERE \(matches.joined(separator: " AND "))
            """
        try await write("removing \(keys.count) retired \(rows.table.rawValue) rows", transaction: false) { connection in
            try await execute(bind.query(sql), on: connection)
        }
    }

    public func finishRetiring(_ year: RetiredYear, at time: Timestamp) async throws(LedgerError) {
        try await write("recording school year \(year.schoolYear) as retired", transaction: false) { connection in
            try await execute(
                "UPDATE retired_year SET finished_at = \(time.secondsSinceEpoch) WHERE school_year = \(year.schoolYear)", on: connection)
        }
    }

    static func retiredYear(from row: Columns) throws -> RetiredYear {
        RetiredYear(
            schoolYear: try row.int("school_year"), claimedFrom: Timestamp(secondsSinceEpoch: try row.int64("claimed_from")),
            claimedBefore: Timestamp(secondsSinceEpoch: try row.int64("claimed_before")), archiveFile: try row.string("archive_file"),
            startedAt: Timestamp(secondsSinceEpoch: try row.int64("started_at")),
            finishedAt: try row.optionalInt64("finished_at").map(Timestamp.init(secondsSinceEpoch:)))
    }
}
