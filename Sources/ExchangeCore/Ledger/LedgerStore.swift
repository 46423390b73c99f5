/// Where a received file is in its life.
public enum ReceiptState: String, Sendable, Codable {
    /// Renamed into the work area and recorded; not yet judged.
    case claimed
    /// Judged; its acknowledgement (and error file) are named and being written.
    case writing
    /// Acknowledged and filed (archived or quarantined).
    case finished
}

/// One received file, from claim to acknowledgement: the ledger's record of it.
public struct Receipt: Sendable, Equatable {
    /// Our id for the file, shown to the sender.
    public var id: String
    /// The sender: the folder the file was dropped in.
    public var senderOrgId: String
    /// The name it was dropped under.
    public var originalName: String
    /// Its size.
    public var sizeBytes: Int64
    /// SHA-256 of its bytes, lowercase hex.
    public var sha256: String
    /// Where it is in its life.
    public var state: ReceiptState
    /// When it was claimed.
    public var claimedAt: Timestamp
    /// The recognised type.
    public var fileType: ExchangeType?
    /// The recognised binding.
    public var binding: Binding?
    /// The outcome, once judged.
    public var outcome: FileOutcome?
    /// Records in the file.
    public var recordsReceived = 0
    /// Records accepted.
    public var recordsAccepted = 0
    /// Records rejected.
    public var recordsRejected = 0
    /// Errors found.
    public var errorCount = 0
    /// For a duplicate: the receipt of the accepted copy.
    public var duplicateOf: String?
    /// The acknowledgement's file name in the sender's `outbound/`.
    public var ackFile: String?
    /// The error file's name, when there is one.
    public var errorFile: String?
    /// When it was acknowledged.
    public var finishedAt: Timestamp?
    /// For a file judged again by `ktsx reprocess`: the receipt it was judged under before.
    public var reprocessOf: String?
    /// For a file judged again: why support asked, and who (recorded with the claim).
    public var reprocessReason: String?
    /// Whether this receipt judged only the records that failed under an earlier receipt of the same
    /// bytes (the file's other records were applied then), not the whole file.
    public var failedRecordsOnly = false

    /// A newly claimed file.
    public init(id: String, senderOrgId: String, originalName: String, sizeBytes: Int64, sha256: String, claimedAt: Timestamp) {
        self.id = id
        self.senderOrgId = senderOrgId
        self.originalName = originalName
        self.sizeBytes = sizeBytes
        self.sha256 = sha256
        self.state = .claimed
        self.claimedAt = claimedAt
    }

    /// Whether the file's records were applied (so the same bytes again are a duplicate).
    public var wasAccepted: Bool { outcome == .accepted || outcome == .acceptedWithErrors }
}

/// A file the processor put in a participant's `outbound/`, watched until the participant takes it.
public struct Delivery: Sendable, Equatable {
    /// The receipt that produced it.
    public var receiptId: String
    /// The participant whose folder it is in.
    public var recipientOrgId: String
    /// Its name in `outbound/`.
    public var fileName: String
    /// When it was written.
    public var deliveredAt: Timestamp
    /// When the participant removed it (picked it up), if they have.
    public var pickedUpAt: Timestamp?
    /// The records the file carries (its record trail), recorded with the delivery. Lists of deliveries
    /// read from the ledger leave it empty: `trail(claimedFrom:claimedBefore:)` reads the trail.
    public var records: [RecordReference] = []

    /// Hours since it was written, to the nearest hour (as support and the daily summary show it).
    public func hoursWaiting(at time: Timestamp) -> Int {
        Int((max(0, time.secondsSinceEpoch - deliveredAt.secondsSinceEpoch) + 1800) / 3600)
    }

    /// Whether it has waited `hours` or longer at `time`.
    public func hasWaited(hours: Int, at time: Timestamp) -> Bool {
        time.secondsSinceEpoch - deliveredAt.secondsSinceEpoch >= Int64(hours) * 3600
    }

    /// Creates a delivery record.
    public init(
        receiptId: String, recipientOrgId: String, fileName: String, deliveredAt: Timestamp, pickedUpAt: Timestamp? = nil,
        records: [RecordReference] = []
    ) {
        self.receiptId = receiptId
        self.recipientOrgId = recipientOrgId
        self.fileName = fileName
        self.deliveredAt = deliveredAt
        self.pickedUpAt = pickedUpAt
        self.records = records
    }
}

/// A record of an accepted file that failed the rules: not applied, listed in the error file. (The
/// file's other records were accepted.)
public struct RejectedRecord: Sendable, Equatable {
    /// The receipt of the file.
    public var receiptId: String
    /// The line the record starts on.
    public var line: Int
    /// Its `recordId`, when it has one.
    public var recordKey: String?
    /// The rules it broke.
    public var codes: [String]

    /// Creates a record outcome.
    public init(receiptId: String, line: Int, recordKey: String?, codes: [String]) {
        self.receiptId = receiptId
        self.line = line
        self.recordKey = recordKey
        self.codes = codes
    }
}

/// What was found wrong with a file, as the ledger keeps it for support: the issues of its error file
/// and, for a file accepted with errors, which records failed the rules.
public struct ReceiptFindings: Sendable, Equatable {
    /// The issues written to the error file (the first ones, up to the file's limit).
    public var issues: [ValidationIssue]
    /// The records that failed the rules.
    public var rejectedRecords: [RejectedRecord]

    /// Findings of a file.
    public init(issues: [ValidationIssue] = [], rejectedRecords: [RejectedRecord] = []) {
        self.issues = issues
        self.rejectedRecords = rejectedRecords
    }
}

/// A ledger operation that failed; the message never carries student data.
public struct LedgerError: Error, Sendable, CustomStringConvertible {
    /// A stable classification.
    public enum Code: String, Sendable {
        /// The receipt id is already recorded.
        case duplicateReceipt = "ledger-duplicate-receipt"
        /// No such receipt.
        case unknownReceipt = "ledger-unknown-receipt"
        /// The database could not be opened, migrated, read or written.
        case storage = "ledger-storage"
        /// The database was written by a newer ktsx.
        case newerSchema = "ledger-newer-schema"
        /// A job run or waiver was not in the state the change expected (another process moved it on).
        case conflict = "ledger-conflict"
        /// A stored value this ktsx does not know (written by a newer one, or damaged): refused, never
        /// read as some default.
        case unknownStoredValue = "ledger-unknown-stored-value"
    }
    /// The classification.
    public var code: Code
    /// What happened.
    public var message: String
    /// The database driver's error behind this one, if any, for whoever debugs it. Not part of the
    /// description: a driver's error may carry a statement's values (student data), and logs print the
    /// description.
    public var cause: (any Error)?
    /// Creates an error.
    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }
    /// `code: message`.
    public var description: String { "\(code.rawValue): \(message)" }
}

extension LedgerError {
    /// A stored column's value as `T`; throws `unknownStoredValue` naming the column and the value when this
    /// ktsx has no such case (the ledgers decode every enumerated column through this).
    public static func stored<T: RawRepresentable>(_ raw: String, in column: String, as _: T.Type = T.self) throws(LedgerError) -> T
    where T.RawValue == String {
        guard let value = T(rawValue: raw) else {
            // An enumerated column holds codes, never student data; a damaged one is cut short all the same.
            throw LedgerError(.unknownStoredValue, "the ledger's \(column) holds '\(raw.prefix(40))', which this ktsx does not know")
        }
        return value
    }

    /// As `stored(_:in:as:)`, for a column that may be empty (NULL).
    public static func stored<T: RawRepresentable>(_ raw: String?, in column: String, as _: T.Type = T.self) throws(LedgerError) -> T?
    where T.RawValue == String {
        guard let raw else { return nil }
        let value: T = try stored(raw, in: column)
        return value
    }
}

/// How long a lease on work in progress lasts, and who may hold one.
public enum LedgerLease {
    /// Seconds a lease lasts unless renewed: a file's judgement renews it as it reads (every 64 MiB) and
    /// at each step; an instance that dies leaves its work to the others after this long.
    public static let seconds: Int64 = 300
}

/// The ledger: receipts, their outcomes and deliveries. Implemented on SQLite (embedded, the default; GRDB's
/// async access, on its own threads), on PostgreSQL (a `PostgresClient` pool) and in memory for tests;
/// every implementation passes the same contract tests. Every call is async: a caller awaits the ledger
/// and never blocks a thread on it.
public protocol LedgerStore: Sendable {
    /// Throws `.storage` when the ledger's storage is no longer where it was opened (its file removed or
    /// replaced under a running service): writing on would record into something nobody reads.
    func checkStorage() async throws(LedgerError)
    /// Records a newly claimed file, leased to `owner` (see `lease(receiptId:to:)`) unless nil.
    /// - Returns: What `firstAccepted(sender:sha256:)` answers for the file's bytes, asked in the same
    ///   round trip (a file with the bytes of an accepted one is a duplicate).
    /// - Throws: `LedgerError.duplicateReceipt` if the id is taken, or if the receipt judges again a file
    ///   that another receipt is judging again right now or judged again with records accepted.
    @discardableResult
    func recordClaim(_ receipt: Receipt, leasedTo owner: String?) async throws(LedgerError) -> Receipt?
    /// Takes or renews the lease of an unfinished receipt for `owner`, for `LedgerLease.seconds` on the
    /// ledger's own clock: granted when the receipt has no lease, `owner` holds it, or it has run out
    /// (its holder died or stalled). False, and nothing changed, when another owner holds it or the
    /// receipt is finished or unknown. Several instances on one ledger finish each other's work this way,
    /// never the same work at once.
    func lease(receiptId: String, to owner: String) async throws(LedgerError) -> Bool
    /// How long a lease lasts here, in seconds.
    var leaseSeconds: Int64 { get }
    /// Takes or renews the leases of senders' inbound folders for `owner`, as `lease(receiptId:to:)` does,
    /// all in one write: one instance at a time takes a sender's files, so they are judged in the order they
    /// came. Returns the senders leased (another instance holds the others).
    func lease(senders: [String], to owner: String) async throws(LedgerError) -> Set<String>
    /// Gives up `owner`'s leases of senders' folders (at the end of a pass), in one write, so another
    /// instance may take the senders' next files.
    func release(senders: [String], by owner: String) async throws(LedgerError)
    /// Holds `name` for as long as this process lives (released when it exits, however it dies); false
    /// when another live process holds it. Two running instances with one name would both hold the same
    /// leases: the second refuses to start.
    func holdInstanceName(_ name: String) async throws(LedgerError) -> Bool
    /// Replaces a receipt's record (same id) with `receipt` (its judgement, its outputs, its state) and
    /// records `deliveries` (with their record trails), what was found wrong (ignoring anything already
    /// recorded for the receipt) and the accepted records' changes (each also recorded as an
    /// `AcceptedRecord`), in one transaction. A delivery is one file for one recipient: `(source,
    /// recipient, file name)` is recorded once.
    func update(
        _ receipt: Receipt, recordingDeliveries deliveries: [Delivery], findings: ReceiptFindings, applying changes: LedgerChanges
    ) async throws(LedgerError)
    /// The records of a receipt that failed the rules, in line order.
    func rejectedRecords(receiptId: String) async throws(LedgerError) -> [RejectedRecord]
    /// The issues written to a receipt's error file (up to the file's limit), in the file's order.
    func issues(receiptId: String) async throws(LedgerError) -> [ValidationIssue]
    /// How many issues of each code the error files of the receipts matching `query` list (its limit is
    /// ignored): what the charts of the most frequent codes show.
    func issueCodeCounts(matching query: ReceiptQuery) async throws(LedgerError) -> [String: Int]
    /// Receipts that match `query`, newest first (by claim time).
    func receipts(matching query: ReceiptQuery) async throws(LedgerError) -> [Receipt]
    /// For each sender, its newest receipt that matches `query` (the query's limit is ignored; of two
    /// claimed in the same second, the one recorded last).
    func latestReceiptPerSender(matching query: ReceiptQuery) async throws(LedgerError) -> [Receipt]
    /// The receipt with this id.
    func receipt(id: String) async throws(LedgerError) -> Receipt?
    /// The first receipt from `sender` with these bytes whose records were applied.
    func firstAccepted(sender: String, sha256: String) async throws(LedgerError) -> Receipt?
    /// Receipts not yet finished (to be finished after a crash), in the order they were recorded.
    func unfinishedReceipts() async throws(LedgerError) -> [Receipt]
    /// All receipts, in the order they were recorded.
    func allReceipts() async throws(LedgerError) -> [Receipt]
    /// Deliveries not yet picked up, oldest first (by when written, then in the order recorded).
    func pendingDeliveries() async throws(LedgerError) -> [Delivery]
    /// Which of these names a file waits for pickup under, in its participant's `outbound/` (one question
    /// for all of a file's outputs).
    func pendingDeliveries(among names: [OutboundName]) async throws(LedgerError) -> Set<OutboundName>
    /// Marks a delivery as picked up; true when this call recorded it (false when another instance did
    /// first), so pickups are counted once.
    @discardableResult
    func markPickedUp(recipientOrgId: String, fileName: String, at time: Timestamp) async throws(LedgerError) -> Bool
    /// The deliveries a receipt or job run produced.
    func deliveries(sourceId: String) async throws(LedgerError) -> [Delivery]
    /// Every delivery written at or after `from` and before `before` (either bound may be nil), picked up
    /// or not, in the order recorded.
    func deliveries(deliveredFrom from: Timestamp?, before: Timestamp?) async throws(LedgerError) -> [Delivery]

    // MARK: Conservation

    /// The records accepted from files claimed at or after `from` and before `before` (either bound may be
    /// nil), in the order recorded. Recorded with the receipt's judgement (`update`), one per held record
    /// change.
    func acceptedRecords(claimedFrom from: Timestamp?, before: Timestamp?) async throws(LedgerError) -> [AcceptedRecord]
    /// The record trail of the records received in files claimed at or after `from` and before `before`:
    /// which delivered file carried each of them to whom (routed files, grade postings, unknown syncs).
    func trail(claimedFrom from: Timestamp?, before: Timestamp?) async throws(LedgerError) -> [TrailEntry]
    /// The record trail of the files a receipt or job run delivered.
    func trail(sourceId: String) async throws(LedgerError) -> [TrailEntry]

    // MARK: Held records and waivers

    /// The record held under a natural key.
    func heldRecord(_ type: ExchangeType, key: String) async throws(LedgerError) -> HeldRecord?
    /// A student's enrollments at a center (deleted ones included).
    func enrollments(ssid: String, center: String) async throws(LedgerError) -> [HeldRecord]
    /// Held attendance for a high school on a day (deleted ones included).
    func attendance(recipientOrgId: String, date: String) async throws(LedgerError) -> [HeldRecord]
    /// The records held of `type` for `recipientOrgId` (a high school's attendance, a center's roster)
    /// whose record date (the type's `dateField`) lies from `from` through `through` (ISO dates, compared
    /// as text), deleted ones included, in date then key order.
    func heldRecords(_ type: ExchangeType, recipientOrgId: String, datedFrom from: String, through: String) async throws(LedgerError)
        -> [HeldRecord]
    /// Waiver requests of a center for a year, in the order they were recorded.
    func waivers(center: String, schoolYear: Int) async throws(LedgerError) -> [WaiverRequest]
    /// Every waiver request, in the order they were recorded.
    func allWaivers() async throws(LedgerError) -> [WaiverRequest]
    /// The work in hand and the files waiting, counted by the ledger (nothing is listed): what
    /// `/healthz`, `/metrics` and `ktsx status` show. Deliveries written at or before `overdueBefore`
    /// count as overdue.
    func backlogCounts(overdueBefore: Timestamp) async throws(LedgerError) -> BacklogCounts
    /// The answers to every question of `request` (held records by key, enrollments, waivers; each in
    /// the order the single lookups above give), in a few queries: what a batch of records is judged
    /// against. `answerOneByOne` is the reference the ledgers' batched answers are tested against.
    func heldState(for request: HeldStateRequest) async throws(LedgerError) -> HeldState

    // MARK: Notifications

    /// Records the notifications not recorded yet: an event is recorded once for each contact, however
    /// often it is offered (after a restart, or by several instances). Returns how many were new.
    @discardableResult
    func recordNotifications(_ notifications: [PartnerNotification]) async throws(LedgerError) -> Int
    /// Takes up to `limit` pending notifications due at `now` for `owner`, oldest first, each leased to it
    /// for `leaseSeconds` (from `now`): no other instance takes them meanwhile, and one whose holder died is
    /// taken again after that.
    func takeDueNotifications(at now: Timestamp, owner: String, limit: Int) async throws(LedgerError) -> [PartnerNotification]
    /// Records the end of an attempt: the notification's state, attempts, next attempt, sent time and error
    /// (matched by event and contact), its lease released.
    func finishNotificationAttempt(_ notification: PartnerNotification) async throws(LedgerError)
    /// The notifications of `orgId` (nil: every participant's), newest first, at most `limit`.
    func notifications(orgId: String?, limit: Int) async throws(LedgerError) -> [PartnerNotification]

    // MARK: Job runs

    /// Records a new run, leased to `owner` unless nil; false (and nothing recorded) when `(job, runKey)`
    /// has a run already. A grade posting run claims every grade waiting for posting, in the same
    /// transaction.
    func claimJobRun(_ run: JobRun, leasedTo owner: String?) async throws(LedgerError) -> Bool
    /// Takes or renews the lease of an unfinished job run for `owner`, as `lease(receiptId:to:)` does.
    func lease(jobRunId: String, to owner: String) async throws(LedgerError) -> Bool
    /// The run of a job for a key.
    func jobRun(_ job: JobKind, runKey: String) async throws(LedgerError) -> JobRun?
    /// The run with this id.
    func jobRun(id: String) async throws(LedgerError) -> JobRun?
    /// Runs not finished, in the order they were recorded.
    func unfinishedJobRuns() async throws(LedgerError) -> [JobRun]
    /// The greatest run key of a job that starts with `prefix` (keys compare as text: `night:` keys are
    /// ISO dates), if any.
    func latestRunKey(_ job: JobKind, prefix: String) async throws(LedgerError) -> String?
    /// Every run of a job, in the order they were recorded.
    func jobRuns(_ job: JobKind) async throws(LedgerError) -> [JobRun]
    /// The run of a job recorded last, if any (without reading every run: a year holds tens of thousands).
    func latestJobRun(_ job: JobKind) async throws(LedgerError) -> JobRun?
    /// The school years retired (`RetiringLedger`) or being retired, oldest first: their records are
    /// refused from the moment retiring begins.
    func retiredYears() async throws(LedgerError) -> [RetiredYear]

    /// The grades a posting run claimed.
    func gradesClaimed(by runId: String) async throws(LedgerError) -> [GradeToPost]
    /// Updates a run; moving to `writing` records its deliveries, marks the grades it claimed as posted,
    /// and records a waiver decision, all in one transaction. Runs only move forward (`claimed` →
    /// `writing` → `finished`) and a decision is recorded only on a pending request; anything else throws
    /// `.conflict` and changes nothing.
    func updateJobRun(_ run: JobRun, recordingDeliveries deliveries: [Delivery], decision: WaiverRequest?) async throws(LedgerError)

}

extension LedgerStore {
    /// Records a newly claimed file, leased to nobody.
    @discardableResult
    public func recordClaim(_ receipt: Receipt) async throws(LedgerError) -> Receipt? {
        try await recordClaim(receipt, leasedTo: nil)
    }

    /// Records a new run, leased to nobody.
    public func claimJobRun(_ run: JobRun) async throws(LedgerError) -> Bool {
        try await claimJobRun(run, leasedTo: nil)
    }

    /// Replaces a receipt's record (same id) with `receipt`.
    public func update(_ receipt: Receipt) async throws(LedgerError) {
        try await update(receipt, recordingDeliveries: [], findings: ReceiptFindings(), applying: .none)
    }

    /// Replaces a receipt's record and records deliveries.
    public func update(_ receipt: Receipt, recordingDeliveries deliveries: [Delivery]) async throws(LedgerError) {
        try await update(receipt, recordingDeliveries: deliveries, findings: ReceiptFindings(), applying: .none)
    }

    /// Whether the receipt or job run `sourceId` is finished (false when unknown or in progress).
    public func isFinished(sourceId: String) async throws(LedgerError) -> Bool {
        if let receipt = try await receipt(id: sourceId) { return receipt.state == .finished }
        if let run = try await jobRun(id: sourceId) { return run.state == .finished }
        return false
    }

    /// `backlogCounts` from the lists (the in-memory ledger's answer, and the reference for the counts).
    public func countByListing(overdueBefore: Timestamp) async throws(LedgerError) -> BacklogCounts {
        let pending = try await pendingDeliveries()
        return BacklogCounts(
            receiptsInProgress: try await unfinishedReceipts().count, jobRunsInProgress: try await unfinishedJobRuns().count,
            deliveriesWaiting: pending.count,
            deliveriesOverdue: pending.filter { $0.deliveredAt.secondsSinceEpoch <= overdueBefore.secondsSinceEpoch }.count)
    }

    /// The answers to `request` by the single lookups, one question at a time (the in-memory ledger's
    /// answer, and the reference for the batched ones).
    public func answerOneByOne(_ request: HeldStateRequest) async throws(LedgerError) -> HeldState {
        var state = HeldState(answering: request)
        for (type, keys) in request.keys {
            for key in keys {
                if let record = try await heldRecord(type, key: key) { state.records[type, default: [:]][key] = record }
            }
        }
        for student in request.students { state.enrollments[student] = try await enrollments(ssid: student.ssid, center: student.center) }
        for centerYear in request.centerYears {
            state.waivers[centerYear] = try await waivers(center: centerYear.center, schoolYear: centerYear.schoolYear)
        }
        return state
    }

    /// Records an output written to a participant's `outbound/` (ignored if already recorded).
    public func recordDelivery(_ delivery: Delivery) async throws(LedgerError) {
        guard let receipt = try await receipt(id: delivery.receiptId) else {
            throw LedgerError(.unknownReceipt, "no receipt \(delivery.receiptId)")
        }
        try await update(receipt, recordingDeliveries: [delivery])
    }
}

/// The work in hand and the files waiting, as counted by the ledger.
public struct BacklogCounts: Sendable, Equatable {
    /// Receipts claimed but not yet acknowledged.
    public var receiptsInProgress: Int
    /// Job runs not yet finished.
    public var jobRunsInProgress: Int
    /// Outbound files not yet picked up.
    public var deliveriesWaiting: Int
    /// Of those, the ones written at or before the threshold asked.
    public var deliveriesOverdue: Int

    /// Creates the counts.
    public init(receiptsInProgress: Int, jobRunsInProgress: Int, deliveriesWaiting: Int, deliveriesOverdue: Int) {
        self.receiptsInProgress = receiptsInProgress
        self.jobRunsInProgress = jobRunsInProgress
        self.deliveriesWaiting = deliveriesWaiting
        self.deliveriesOverdue = deliveriesOverdue
    }
}

/// A file's name in a participant's `outbound/`.
public struct OutboundName: Sendable, Hashable {
    /// Whose `outbound/`.
    public var recipientOrgId: String
    /// The file's name there.
    public var fileName: String

    /// A name in `recipientOrgId`'s `outbound/`.
    public init(recipientOrgId: String, fileName: String) {
        self.recipientOrgId = recipientOrgId
        self.fileName = fileName
    }
}

extension LedgerStore {
    /// Whether a file of this name waits for pickup in this participant's `outbound/`.
    public func isPendingDelivery(recipientOrgId: String, fileName: String) async throws(LedgerError) -> Bool {
        let name = OutboundName(recipientOrgId: recipientOrgId, fileName: fileName)
        return try await pendingDeliveries(among: [name]).contains(name)
    }
}
