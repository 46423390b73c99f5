/// The chores a pass does besides taking files, each on its own timer: which are due at a moment of our
/// monotonic clock. Pure: `due(at:)` says what to run and notes it as run; nothing here does IO or reads a
/// clock.
public struct ChoreSchedule: Sendable, Equatable {
    /// A chore of the pass.
    public enum Chore: String, Sendable, CaseIterable {
        /// Takes up unfinished receipts and orphaned claims (after a failure, or a dead instance).
        case retryUnfinished = "retry-unfinished"
        /// Records as picked up the deliveries whose files are gone from `outbound/`.
        case pickups
        /// Writes the heartbeat `ktsx status` reads.
        case heartbeat
        /// Removes originals past their retention.
        case retention
    }

    /// How often each chore runs.
    public let intervals: [Chore: Duration]
    /// When each chore last ran; a chore that never ran is due at once.
    private var lastRun: [Chore: Duration] = [:]

    /// The intervals the service uses: unfinished work every 15 s, pickups every second (each looks for
    /// every waiting delivery on disk), the heartbeat every 5 s, retention hourly.
    public static let standard: [Chore: Duration] = [
        .retryUnfinished: .seconds(15), .pickups: .seconds(1), .heartbeat: .seconds(5), .retention: .seconds(3600),
    ]

    /// Longer intervals for some chores while a backlog drains (the last pass left ready files): pickups
    /// every 10 s, as each looks at every delivery still waiting (thousands, while a backlog drains) and
    /// lists every recipient's folder. A pickup recorded up to ten seconds later changes at most the name
    /// of an output meanwhile written under the same name (it takes its receipt's name instead).
    public let whileBacklogDrains: [Chore: Duration]
    /// The longer intervals the service uses while a backlog drains.
    public static let standardWhileBacklogDrains: [Chore: Duration] = [.pickups: .seconds(10)]

    /// A schedule with the given intervals (a chore without one never runs).
    public init(intervals: [Chore: Duration] = ChoreSchedule.standard, whileBacklogDrains: [Chore: Duration] = ChoreSchedule.standardWhileBacklogDrains) {
        self.intervals = intervals
        self.whileBacklogDrains = whileBacklogDrains
    }

    /// The chores due at `now`, in `Chore` order; each is noted as run at `now`.
    /// - Parameter backlog: Whether a backlog drains (the chores of `whileBacklogDrains` wait longer).
    public mutating func due(at now: Duration, backlog: Bool = false) -> [Chore] {
        Chore.allCases.filter { chore in
            guard let interval = (backlog ? whileBacklogDrains[chore] : nil) ?? intervals[chore] else { return false }
            if let last = lastRun[chore], now - last < interval { return false }
            lastRun[chore] = now
            return true
        }
    }
}
