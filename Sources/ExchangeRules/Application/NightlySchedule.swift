import ExchangeCore

/// When the nightly jobs are due (pure; a state machine over the clock and the runs recorded).
///
/// Each job runs once per night, at its configured local time. A night is named by its local date. A
/// night whose time has passed without a run is due; after downtime the nights missed since the job's
/// last run are caught up once each, oldest first: at most the latest `catchUpDays` nights. A job that never ran
/// starts with the latest night whose time has passed (a new installation does not invent older ones).
public struct NightlySchedule: Sendable {
    /// Times, zone and catch-up window.
    public var policy: ExchangePolicy

    /// A schedule with `policy`.
    public init(policy: ExchangePolicy) {
        self.policy = policy
    }

    /// The local time of a job.
    public func time(of job: JobKind) -> TimeOfDay {
        switch job {
        case .gradePosting: policy.gradePostingTime
        case .dailySummary: policy.dailySummaryTime
        case .unknownSync, .waiverDecision: policy.unknownSyncTime
        }
    }

    /// The nights of `job` due at `now`, oldest first.
    /// - Parameter lastNight: The latest night the job ran for, if it ever ran.
    public func dueNights(of job: JobKind, now: Timestamp, lastNight: LocalDate?) -> [LocalDate] {
        let today = policy.timeZone.local(now).date
        let latestDue = policy.timeZone.instant(of: today, at: time(of: job)) <= now ? today : today.adding(days: -1)
        var first = lastNight.map { $0.adding(days: 1) } ?? latestDue
        first = max(first, latestDue.adding(days: -max(0, policy.catchUpDays - 1)))
        guard first <= latestDue else { return [] }
        return (0...Int(latestDue.dayNumber - first.dayNumber)).map { first.adding(days: $0) }
    }

    /// When `job` is next due after `now` (for the scheduler's sleep).
    public func nextTime(of job: JobKind, after now: Timestamp) -> Timestamp {
        let today = policy.timeZone.local(now).date
        let tonight = policy.timeZone.instant(of: today, at: time(of: job))
        return tonight > now ? tonight : policy.timeZone.instant(of: today.adding(days: 1), at: time(of: job))
    }

    /// What every night's run key starts with.
    public static let nightKeyPrefix = "night:"

    /// The run key of a scheduled night.
    public static func nightKey(_ night: LocalDate) -> String { nightKeyPrefix + night.description }

    /// The night of a run key made by `nightKey`.
    public static func night(ofKey key: String) -> LocalDate? {
        key.hasPrefix(nightKeyPrefix) ? LocalDate(String(key.dropFirst(nightKeyPrefix.count))) : nil
    }
}
