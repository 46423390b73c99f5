import ExchangeCore
import ExchangeRules

/// Moves a closed school year out of the ledger into its archive, a batch at a time, while the service
/// runs: each batch is read from the ledger, stored durably in the archive, then deleted from the ledger,
/// so a retirement interrupted at any point leaves every row in one place or both, and running it again
/// finishes it. Once retiring has begun, the rules refuse the year's records (`RecordYearRetired`): nothing
/// of it is held again.
public struct SchoolYearRetirement: Sendable {
    /// The ledger the year leaves.
    public let ledger: any RetiringLedger
    /// Opens the archive the year's rows go to (at the year's `archiveFile`), once retiring has begun: a
    /// retirement taken up again goes on in the archive it began.
    public let openArchive: @Sendable (RetiredYear) throws(LedgerError) -> any RetiredYearArchive
    /// Rows a batch moves (one ledger write, one archive transaction).
    public var batchSize: Int

    /// A retirement from `ledger` into the archive `openArchive` opens.
    public init(
        ledger: any RetiringLedger, batchSize: Int = 5_000, openArchive: @escaping @Sendable (RetiredYear) throws(LedgerError) -> any RetiredYearArchive
    ) {
        self.ledger = ledger
        self.openArchive = openArchive
        self.batchSize = batchSize
    }

    /// What a retirement came to.
    public enum Outcome: Sendable, Equatable {
        /// The year left the ledger: the rows moved now, by table.
        case retired(RetiredYear, moved: [RetiredTable: Int])
        /// The year was retired before: nothing to do.
        case retiredBefore(RetiredYear)
        /// Stopped between batches (`stop` said so): the year is being retired, and the next run goes on.
        case stopped(RetiredYear, moved: [RetiredTable: Int])
        /// Work of the year is still in hand: nothing was moved.
        case blocked(RetirementBlockers)
    }

    /// Retires `year` (as `SchoolYearClosing.plan` gave it): begins (or takes up again) its retirement,
    /// moves its rows, and records it as retired. `progress` hears each batch's table and the rows that
    /// table has moved so far; `stop`, asked before each batch, ends the run early (a service shutting down).
    public func run(
        _ year: RetiredYear, now: @Sendable () -> Timestamp, stop: () -> Bool = { false }, progress: (RetiredTable, Int) -> Void = { _, _ in }
    ) async throws(LedgerError) -> Outcome {
        var year = year
        switch try await ledger.startRetiring(year) {
        case .blocked(let blockers): return .blocked(blockers)
        case .retired(let recorded): return .retiredBefore(recorded)
        case .retiring(let recorded): year = recorded
        }
        let archive = try openArchive(year)
        var moved: [RetiredTable: Int] = [:]
        // Until a whole pass finds nothing: a file judged before retiring began may commit a record of the
        // year after its table was passed.
        var movedInPass = 1
        while movedInPass > 0 {
            movedInPass = 0
            for table in RetiredTable.allCases {
                var after: [LedgerValue]?
                while true {
                    if stop() { return .stopped(year, moved: moved) }
                    let rows = try await ledger.rowsToRetire(table, of: year, after: after, limit: batchSize)
                    guard let last = rows.rows.last else { break }
                    after = rows.cursor(of: last)
                    // The archive's write waits for a flush of the disk: on a thread of its own.
                    let stored = await BlockingWork.run {
                        Result<Void, LedgerError>(catching: { () throws(LedgerError) in try archive.store(rows) })
                    }
                    try stored.get()
                    try await ledger.removeRetired(rows)
                    moved[table, default: 0] += rows.rows.count
                    movedInPass += rows.rows.count
                    progress(table, moved[table, default: 0])
                }
            }
        }
        let finished = now()
        year.finishedAt = finished
        try archive.finish(year)
        try await ledger.finishRetiring(year, at: finished)
        return .retired(year, moved: moved)
    }
}
