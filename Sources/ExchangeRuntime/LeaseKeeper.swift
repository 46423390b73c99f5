import ExchangeCore
import Synchronization

/// Holds the leases of the work this process has in hand, renewing one in the ledger only when a quarter
/// of its lease has passed since the last renewal: until the whole lease has run out nobody else can have
/// taken it, so checking more often would only cost a write per step.
final class LeaseKeeper: Sendable {
    let ledger: any LedgerStore
    let owner: String
    private let clock = ContinuousClock()
    /// When each lease was last granted to us, by receipt or job run id.
    private let granted = Mutex<[String: ContinuousClock.Instant]>([:])

    init(ledger: any LedgerStore, owner: String) {
        self.ledger = ledger
        self.owner = owner
    }

    /// Notes a lease granted with the work's record (`recordClaim(_:leasedTo:)`, `claimJobRun`).
    func noteGranted(_ id: String) {
        let now = clock.now
        granted.withLock { $0[id] = now }
    }

    /// Whether we (still) hold the receipt's lease, renewing it when due.
    func holdReceipt(_ id: String) async throws(LedgerError) -> Bool {
        try await hold(id) { () async throws(LedgerError) in try await ledger.lease(receiptId: id, to: owner) }
    }

    /// Whether we (still) hold the job run's lease, renewing it when due.
    func holdJobRun(_ id: String) async throws(LedgerError) -> Bool {
        try await hold(id) { () async throws(LedgerError) in try await ledger.lease(jobRunId: id, to: owner) }
    }

    private func hold(_ id: String, renew: () async throws(LedgerError) -> Bool) async throws(LedgerError) -> Bool {
        let now = clock.now
        let fresh = Duration.seconds(max(1, ledger.leaseSeconds) / 4)
        if let last = granted.withLock({ $0[id] }), now - last < fresh { return true }
        guard try await renew() else {
            granted.withLock { $0[id] = nil }
            return false
        }
        granted.withLock { entries in
            // Forget what is long done (a process that lives for months leases millions of ids).
            if entries.count > 10_000 { entries = entries.filter { now - $0.value < fresh } }
            entries[id] = now
        }
        return true
    }
}
