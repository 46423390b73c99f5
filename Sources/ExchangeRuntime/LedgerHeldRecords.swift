import ExchangeCore
import ExchangeRules
import Synchronization

/// The records the rules ask about, read from the ledger. The rules cannot throw, so the first ledger
/// error is kept and the file's judgement is abandoned by the caller (`rethrow()`), to be retried.
final class LedgerHeldRecords: HeldRecords, Sendable {
    let ledger: any LedgerStore
    private let failure = Mutex<LedgerError?>(nil)

    init(ledger: any LedgerStore) {
        self.ledger = ledger
    }

    private func attempt<T>(_ fallback: T, _ body: () throws(LedgerError) -> T) -> T {
        do {
            return try body()
        } catch {
            failure.withLock { if $0 == nil { $0 = error } }
            return fallback
        }
    }

    func record(_ type: ExchangeType, key: String) -> HeldRecord? {
        attempt(nil) { () throws(LedgerError) in try ledger.heldRecord(type, key: key) }
    }

    func enrollments(ssid: String, center: String) -> [HeldRecord] {
        attempt([]) { () throws(LedgerError) in try ledger.enrollments(ssid: ssid, center: center) }
    }

    func waivers(center: String, schoolYear: Int) -> [WaiverRequest] {
        attempt([]) { () throws(LedgerError) in try ledger.waivers(center: center, schoolYear: schoolYear) }
    }

    /// Throws the first ledger error a lookup met, if any.
    func rethrow() throws(LedgerError) {
        if let error = failure.withLock({ $0 }) { throw error }
    }
}
