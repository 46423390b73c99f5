import ExchangeCore
import ExchangeRules
import Synchronization

/// The records the rules ask about, read from the ledger a batch at a time: before a batch of records is
/// judged, `prefetch` asks the ledger everything they may ask (`HeldStateRequest`) in a few queries, and
/// the rules' questions are answered from that. A question outside the batch's request (a rule asking
/// something new) is still answered, by a single lookup, and counted in `singleLookups`.
///
/// The rules cannot throw, so the first ledger error is kept and the file's judgement is abandoned by
/// the caller (`rethrow()`), to be retried.
final class LedgerHeldRecords: HeldRecords, Sendable {
    let ledger: any LedgerStore
    private let failure = Mutex<LedgerError?>(nil)
    private let prefetched = Mutex(HeldState())
    private let lookups = Atomic<Int>(0)

    init(ledger: any LedgerStore) {
        self.ledger = ledger
    }

    /// Questions answered by a single lookup because no prefetch had asked them.
    var singleLookups: Int { lookups.load(ordering: .relaxed) }

    /// Asks the ledger what `request` names; the answers replace the previous batch's.
    func prefetch(_ request: HeldStateRequest) {
        let state = attempt(HeldState()) { () throws(LedgerError) in try ledger.heldState(for: request) }
        prefetched.withLock { $0 = state }
    }

    private func attempt<T>(_ fallback: T, _ body: () throws(LedgerError) -> T) -> T {
        do {
            return try body()
        } catch {
            failure.withLock { if $0 == nil { $0 = error } }
            return fallback
        }
    }

    private func single<T>(_ fallback: T, _ body: () throws(LedgerError) -> T) -> T {
        lookups.add(1, ordering: .relaxed)
        return attempt(fallback, body)
    }

    func record(_ type: ExchangeType, key: String) -> HeldRecord? {
        let answer: HeldRecord?? = prefetched.withLock { state in
            state.askedKeys[type]?.contains(key) == true ? .some(state.records[type]?[key]) : .none
        }
        if let answer { return answer }
        return single(nil) { () throws(LedgerError) in try ledger.heldRecord(type, key: key) }
    }

    func enrollments(ssid: String, center: String) -> [HeldRecord] {
        if let answer = prefetched.withLock({ $0.enrollments[StudentAtCenter(ssid: ssid, center: center)] }) { return answer }
        return single([]) { () throws(LedgerError) in try ledger.enrollments(ssid: ssid, center: center) }
    }

    func waivers(center: String, schoolYear: Int) -> [WaiverRequest] {
        if let answer = prefetched.withLock({ $0.waivers[CenterYear(center: center, schoolYear: schoolYear)] }) { return answer }
        return single([]) { () throws(LedgerError) in try ledger.waivers(center: center, schoolYear: schoolYear) }
    }

    /// Throws the first ledger error a lookup met, if any.
    func rethrow() throws(LedgerError) {
        if let error = failure.withLock({ $0 }) { throw error }
    }
}
