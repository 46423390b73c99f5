import ExchangeCore
import ExchangeRules
import Logging
import ServiceLifecycle

/// The `keep_school_years` setting at work inside `ktsx run`: every `checkInterval` it asks which school
/// year the setting no longer keeps (`SchoolYearClosing.yearPastKeeping`) and, unless that year was
/// retired already, retires it into `<state_dir>/retired/school-year-YEAR.sqlite` beside the passes, a batch
/// at a time, stopping between batches on a graceful shutdown (the next start goes on). A year kept by work
/// in hand is tried again at the next check (logged once a day).
public struct SchoolYearRetirer: Service {
    private let ledger: any RetiringLedger
    private let keep: Int
    private let archiveFolder: String
    private let openArchive: @Sendable (RetiredYear) throws(LedgerError) -> any RetiredYearArchive
    private let now: @Sendable () -> Timestamp
    private let checkInterval: Duration
    private let logger: Logger

    /// A retirer keeping `keep` school years of `ledger`, writing archives into `archiveFolder` (opened by
    /// `openArchive`).
    public init(
        ledger: any RetiringLedger, keep: Int, archiveFolder: String,
        openArchive: @escaping @Sendable (RetiredYear) throws(LedgerError) -> any RetiredYearArchive, now: @escaping @Sendable () -> Timestamp,
        checkInterval: Duration = .seconds(3600), logger: Logger
    ) {
        self.ledger = ledger
        self.keep = keep
        self.archiveFolder = archiveFolder
        self.openArchive = openArchive
        self.now = now
        self.checkInterval = checkInterval
        self.logger = logger
    }

    /// Checks until shut down.
    public func run() async throws {
        var lastWarned: LocalDate?
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let outcome = await retireDue()
            if case .blocked(let blockers)? = outcome {
                let today = KentuckyZone.eastern.local(now()).date
                if lastWarned != today {
                    lastWarned = today
                    logger.warning(
                        "a school year past keep_school_years waits for its work in hand before it is retired (`ktsx retire --school-year` with it lists the files waiting)",
                        metadata: [
                            "exchange.school_year": "\(SchoolYearClosing.yearPastKeeping(keep, now: now()))",
                            "exchange.unfinished_receipts": "\(blockers.unfinishedReceipts)",
                            "exchange.grades_waiting": "\(blockers.gradesWaitingForPosting)",
                            "exchange.files_waiting": "\(blockers.filesWaitingForPickup)",
                        ])
                }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: checkInterval) }
        }
    }

    /// One check: retires the year the setting no longer keeps, if it was not retired; nil when there was
    /// nothing to do or the ledger could not be asked (logged).
    public func retireDue() async -> SchoolYearRetirement.Outcome? {
        let year = SchoolYearClosing.yearPastKeeping(keep, now: now())
        do {
            if try await ledger.retiredYears().contains(where: { $0.schoolYear == year && $0.finishedAt != nil }) { return nil }
            guard case .success(let plan) = SchoolYearClosing.plan(
                schoolYear: year, archiveFile: "\(archiveFolder)/school-year-\(year).sqlite", now: now())
            else { return nil }
            let retirement = SchoolYearRetirement(ledger: ledger, openArchive: openArchive)
            let outcome = try await retirement.run(plan, now: now, stop: { Task.isShuttingDownGracefully || Task.isCancelled })
            if case .retired(let retired, let moved) = outcome {
                logger.notice(
                    "school year retired",
                    metadata: [
                        "exchange.school_year": "\(retired.schoolYear)", "exchange.archive": "\(retired.archiveFile)",
                        "exchange.rows": "\(moved.values.reduce(0, +))",
                    ])
            }
            return outcome
        } catch {
            logger.error("retiring a school year failed; tried again at the next check", metadata: ["exchange.error": "\(error)"])
            return nil
        }
    }
}
