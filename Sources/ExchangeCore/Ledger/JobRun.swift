/// The jobs the exchange runs besides judging files.
public enum JobKind: String, Sendable, CaseIterable, Codable {
    /// Nightly: one grade file per high school with the grades accepted since its last posting.
    case gradePosting = "grade-posting"
    /// Nightly: the previous instructional day's unknown absences, for high schools that opted in.
    case unknownSync = "unknown-sync"
    /// Support's decision on a waiver request, sent to the center.
    case waiverDecision = "waiver-decision"
    /// Each morning: each participant's summary of the day before (files received, files waiting).
    case dailySummary = "daily-summary"
}

/// One run of a job, recorded in the ledger so that a run is done once: `(job, runKey)` is unique (the
/// night for nightly jobs, the waiver id for a decision). Like a receipt, a run is `claimed`, then
/// `writing` once its files are prepared and recorded, then `finished` once they are in place; a run
/// left unfinished by a crash is finished at the next start.
public struct JobRun: Sendable, Equatable {
    /// The run's id (also the source id of its deliveries).
    public var id: String
    /// The job.
    public var job: JobKind
    /// What makes the run unique for its job: a night (`2026-02-03`), a school and day, a waiver id.
    public var runKey: String
    /// Progress.
    public var state: ReceiptState
    /// When it started.
    public var startedAt: Timestamp
    /// When it finished.
    public var finishedAt: Timestamp?
    /// What the run needs to be redone after a crash (a decision and its reason), as text.
    public var detail: String
    /// Files written.
    public var files = 0
    /// Records written.
    public var records = 0

    /// The state a run must be in to move to `state`.
    public static func predecessor(of state: ReceiptState) -> ReceiptState? {
        switch state {
        case .claimed: nil
        case .writing: .claimed
        case .finished: .writing
        }
    }

    /// Creates a run in the `claimed` state.
    public init(id: String, job: JobKind, runKey: String, startedAt: Timestamp, detail: String = "") {
        self.id = id
        self.job = job
        self.runKey = runKey
        self.state = .claimed
        self.startedAt = startedAt
        self.detail = detail
    }
}

/// What an accepted file changes besides its receipt: held records and waiver requests. Committed in
/// the same transaction as the receipt's judgement.
public struct LedgerChanges: Sendable, Equatable {
    /// New versions of held records (upserted by type and natural key, in order).
    public var held: [HeldRecord]
    /// New or changed waiver requests.
    public var waivers: [WaiverRequest]

    /// Changes.
    public init(held: [HeldRecord] = [], waivers: [WaiverRequest] = []) {
        self.held = held
        self.waivers = waivers
    }

    /// No changes.
    public static let none = LedgerChanges()
}

/// A staged grade claimed by a posting run, and whether an earlier version was posted before (so the
/// posting says `update` rather than `add`).
public struct GradeToPost: Sendable, Equatable {
    /// The grade as held.
    public var grade: HeldRecord
    /// Whether the high school has received a version of it before.
    public var postedBefore: Bool

    /// Creates one.
    public init(grade: HeldRecord, postedBefore: Bool) {
        self.grade = grade
        self.postedBefore = postedBefore
    }
}
