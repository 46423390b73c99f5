/// A school year retired from the ledger (or being retired): its held records, its record trail and its
/// receipts' details moved into an archive file (`ktsx retire`). Its receipts stay in the ledger with their
/// outcomes (duplicates are still found, `ktsx submissions` still lists them); rules refuse records of the
/// year from then on, so nothing of it is held again.
public struct RetiredYear: Sendable, Equatable {
    /// The school year (named by the year it ends: July 1 of the year before to June 30).
    public var schoolYear: Int
    /// Receipts claimed at or after this instant, and before `claimedBefore`, belong to the year: their
    /// details and record trail go with it (midnight of July 1 in Kentucky's Eastern time, each end).
    public var claimedFrom: Timestamp
    /// The end of the year's receipts (exclusive).
    public var claimedBefore: Timestamp
    /// The archive file the year went to, as the operator named it (or the default under the state
    /// directory).
    public var archiveFile: String
    /// When retiring began.
    public var startedAt: Timestamp
    /// When the last of the year's rows left the ledger; nil while it is being retired (an interrupted
    /// retirement is taken up again by the next `ktsx retire` of the year).
    public var finishedAt: Timestamp?

    /// Creates the record of a retirement.
    public init(
        schoolYear: Int, claimedFrom: Timestamp, claimedBefore: Timestamp, archiveFile: String, startedAt: Timestamp,
        finishedAt: Timestamp? = nil
    ) {
        self.schoolYear = schoolYear
        self.claimedFrom = claimedFrom
        self.claimedBefore = claimedBefore
        self.archiveFile = archiveFile
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }

    /// Whether a receipt claimed at `time` belongs to the year.
    public func contains(claimedAt time: Timestamp) -> Bool {
        time.secondsSinceEpoch >= claimedFrom.secondsSinceEpoch && time.secondsSinceEpoch < claimedBefore.secondsSinceEpoch
    }
}

/// What keeps a school year in the ledger: work of the year still in hand. Counted when retiring is to
/// begin; retiring begins only when every count is zero.
public struct RetirementBlockers: Sendable, Equatable {
    /// Receipts claimed in the year and not yet acknowledged.
    public var unfinishedReceipts: Int
    /// Grades of the year accepted and not yet posted to their high schools.
    public var gradesWaitingForPosting: Int
    /// Files in an `outbound/` that carry records of the year and wait for pickup: their record trail is
    /// what `ktsx audit` reads them back against, so it stays until they are taken.
    public var filesWaitingForPickup: Int
    /// The first of those files (up to `RetirementBlockers.filesListed`), oldest first, to tell the schools.
    public var waitingFiles: [OutboundName]
    /// How many waiting files are named.
    public static let filesListed = 20

    /// The counts.
    public init(unfinishedReceipts: Int, gradesWaitingForPosting: Int, filesWaitingForPickup: Int, waitingFiles: [OutboundName] = []) {
        self.unfinishedReceipts = unfinishedReceipts
        self.gradesWaitingForPosting = gradesWaitingForPosting
        self.filesWaitingForPickup = filesWaitingForPickup
        self.waitingFiles = waitingFiles
    }

    /// Whether nothing keeps the year.
    public var isEmpty: Bool { unfinishedReceipts == 0 && gradesWaitingForPosting == 0 && filesWaitingForPickup == 0 }
}

/// What the ledger answered when asked to begin retiring a year.
public enum RetirementStart: Sendable, Equatable {
    /// Retiring began (or, begun before and interrupted, goes on): the year as recorded.
    case retiring(RetiredYear)
    /// Work of the year is still in hand; nothing was recorded.
    case blocked(RetirementBlockers)
    /// The year was retired already.
    case retired(RetiredYear)
}

/// A value of a ledger row, as a retirement moves it.
public enum LedgerValue: Sendable, Hashable {
    /// No value (SQL NULL).
    case null
    /// A whole number (booleans are 0 and 1).
    case integer(Int64)
    /// Text.
    case text(String)
}

/// A column of a table a retirement moves.
public struct RetiredColumn: Sendable, Equatable {
    /// What a column holds.
    public enum Kind: Sendable, Equatable {
        /// Text.
        case text
        /// A whole number.
        case integer
        /// A yes or no (0 or 1 in the archive).
        case boolean
    }
    /// The column's name (the same in both ledgers and in the archive).
    public var name: String
    /// What it holds.
    public var kind: Kind
    /// Whether it is part of the row's identity (what the ledger deletes the row by).
    public var isKey: Bool
}

/// The ledger tables whose rows of a school year a retirement moves into the archive, and which rows.
public enum RetiredTable: String, Sendable, CaseIterable {
    /// Held records whose `school_year` is the year (none waiting for a grade posting).
    case heldRecord = "held_record"
    /// The record trail: what each receipt of the year accepted ...
    case acceptedRecord = "accepted_record"
    /// ... and which delivered file carried each of those records to whom.
    case deliveredRecord = "delivered_record"
    /// The receipts' records that failed the rules.
    case rejectedRecord = "rejected_record"
    /// The receipts' error-file issues.
    case receiptIssue = "receipt_issue"
    /// Deliveries written in the year and picked up (acknowledgements still waiting stay until they are
    /// taken; a waiting file that carries records of the year keeps the year, `RetirementBlockers`).
    case delivery

    /// The columns moved, in the archive's order.
    public var columns: [RetiredColumn] {
        func key(_ name: String, _ kind: RetiredColumn.Kind = .text) -> RetiredColumn { RetiredColumn(name: name, kind: kind, isKey: true) }
        func value(_ name: String, _ kind: RetiredColumn.Kind = .text) -> RetiredColumn { RetiredColumn(name: name, kind: kind, isKey: false) }
        switch self {
        case .heldRecord:
            return [
                key("type"), key("natural_key"), value("sender_org_id"), value("recipient_org_id"), value("school_year", .integer),
                value("ssid"), value("center_org_id"), value("record_date"), value("fields"), value("receipt_id"),
                value("accepted_at", .integer), value("deleted", .boolean), value("pending_posting", .boolean), value("posting_run"),
                value("ever_posted", .boolean),
            ]
        case .acceptedRecord:
            return [key("receipt_id"), key("record_id"), value("type"), value("natural_key"), value("recipient_org_id"), value("deleted", .boolean)]
        case .deliveredRecord:
            return [key("source_id"), key("recipient_org_id"), key("file_name"), key("receipt_id"), key("record_id")]
        case .rejectedRecord:
            return [key("receipt_id"), key("line", .integer), value("record_key"), value("codes")]
        case .receiptIssue:
            return [
                key("receipt_id"), key("position", .integer), value("code"), value("message"), value("line", .integer),
                value("column_number", .integer), value("path"), value("field"), value("row_number", .integer), value("record_key"),
            ]
        case .delivery:
            return [
                key("receipt_id"), key("recipient_org_id"), key("file_name"), value("delivered_at", .integer), value("picked_up_at", .integer),
            ]
        }
    }

    /// The columns that identify a row.
    public var keyColumns: [RetiredColumn] { columns.filter(\.isKey) }

    /// The order a retirement reads the table in, and its cursor: the key, led by the columns of the index
    /// the year's rows are found by (the record trail by its record, deliveries by time), so that each batch
    /// is a range of that index; by the key alone, a batch of the record trail sorted every row of the year.
    public var orderColumns: [RetiredColumn] {
        let lead: [String]
        switch self {
        case .deliveredRecord: lead = ["receipt_id", "record_id"]
        case .delivery: lead = ["delivered_at"]
        case .heldRecord, .acceptedRecord, .rejectedRecord, .receiptIssue: lead = []
        }
        let first = lead.compactMap { name in columns.first { $0.name == name } }
        return first + keyColumns.filter { !lead.contains($0.name) }
    }

    /// What a row of the table is, for people (plural).
    public var rowsName: String {
        switch self {
        case .heldRecord: "held records"
        case .acceptedRecord: "accepted records"
        case .deliveredRecord: "record trail entries"
        case .rejectedRecord: "failing records"
        case .receiptIssue: "error-file entries"
        case .delivery: "delivered files"
        }
    }
}

/// Rows of one table on their way from the ledger to a year's archive, each in `table.columns` order.
public struct RetiredRows: Sendable, Equatable {
    /// Their table.
    public var table: RetiredTable
    /// The rows.
    public var rows: [[LedgerValue]]

    /// Rows of `table`.
    public init(table: RetiredTable, rows: [[LedgerValue]]) {
        self.table = table
        self.rows = rows
    }

    /// Each row's identity: its key columns' values, in `table.keyColumns` order.
    public var keys: [[LedgerValue]] { rows.map(key(of:)) }

    /// The identity of `row`.
    public func key(of row: [LedgerValue]) -> [LedgerValue] {
        table.columns.indices.filter { table.columns[$0].isKey }.map { row[$0] }
    }

    /// Where `row` stands in the order a retirement reads the table (`RetiredTable.orderColumns`).
    public func cursor(of row: [LedgerValue]) -> [LedgerValue] {
        table.orderColumns.compactMap { column in table.columns.firstIndex(of: column).map { row[$0] } }
    }
}

/// A ledger that can move a school year out into an archive: the SQLite and PostgreSQL ledgers. The
/// year's rows are moved a batch at a time (`rowsToRetire`, written to the archive, then `removeRetired`),
/// so the service goes on while a year leaves, and an interrupted retirement leaves every row in the
/// ledger, the archive, or both (never neither); the next run takes it up again.
public protocol RetiringLedger: LedgerStore {
    /// Records that retiring `year` begins, unless work of the year is in hand (counted in the same
    /// transaction) or the year is being or was retired (then answers what was recorded).
    func startRetiring(_ year: RetiredYear) async throws(LedgerError) -> RetirementStart
    /// Up to `limit` of the year's rows of `table` still in the ledger, in `table.orderColumns` order after
    /// the row whose cursor (`RetiredRows.cursor(of:)`) is `after` (from the first when nil); none when no
    /// more are left. Read in order from a cursor, each batch resumes where the last ended: deleted rows are
    /// never walked again (PostgreSQL keeps them in its tables until a vacuum).
    func rowsToRetire(_ table: RetiredTable, of year: RetiredYear, after: [LedgerValue]?, limit: Int) async throws(LedgerError) -> RetiredRows
    /// Deletes the rows (by their keys) from the ledger: called once they are safe in the archive.
    func removeRetired(_ rows: RetiredRows) async throws(LedgerError)
    /// Records the year as retired at `time`.
    func finishRetiring(_ year: RetiredYear, at time: Timestamp) async throws(LedgerError)
}

/// Where a retired year's rows are kept: a file of their own (`YearArchive`, SQLite), or memory in tests.
/// A row stored twice (a retirement interrupted after storing and before the ledger let go of it) is kept
/// once, as stored last.
public protocol RetiredYearArchive: Sendable {
    /// Stores `rows` durably (flushed before it returns): the ledger deletes them next.
    func store(_ rows: RetiredRows) throws(LedgerError)
    /// Records that the year is whole in the archive.
    func finish(_ year: RetiredYear) throws(LedgerError)
}
