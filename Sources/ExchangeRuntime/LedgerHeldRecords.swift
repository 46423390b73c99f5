import ExchangeCore
import ExchangeRules
import Synchronization

/// The records the rules ask about, read from the ledger a batch at a time: before a batch of records is
/// judged, `prefetch` asks the ledger everything they may ask (`HeldStateRequest`) in a few queries, and
/// the rules' questions are answered from that snapshot, without IO (the rules are synchronous and pure).
///
/// A question outside the batch's request (a rule asking something its request does not name) cannot be
/// answered from the snapshot: it is answered "nothing held" and kept in `missed`, and the caller judges
/// the file again with those questions added to every batch (`FileProcessor`), so no verdict rests on an
/// answer that was not read.
final class LedgerHeldRecords: HeldRecords, Sendable {
    let ledger: any LedgerStore
    private let prefetched = Mutex(HeldState())
    private let missedQuestions = Mutex(HeldStateRequest())

    init(ledger: any LedgerStore) {
        self.ledger = ledger
    }

    /// The questions asked outside the prefetched batches so far.
    var missed: HeldStateRequest { missedQuestions.withLock { $0 } }

    /// Asks the ledger what `request` names; the answers replace the previous batch's.
    func prefetch(_ request: HeldStateRequest) async throws(LedgerError) {
        let state = try await ledger.heldState(for: request)
        prefetched.withLock { $0 = state }
    }

    func record(_ type: ExchangeType, key: String) -> HeldRecord? {
        let answer: HeldRecord?? = prefetched.withLock { state in
            state.askedKeys[type]?.contains(key) == true ? .some(state.records[type]?[key]) : .none
        }
        if let answer { return answer }
        missedQuestions.withLock { _ = $0.keys[type, default: []].insert(key) }
        return nil
    }

    func enrollments(ssid: String, center: String) -> [HeldRecord] {
        let student = StudentAtCenter(ssid: ssid, center: center)
        if let answer = prefetched.withLock({ $0.enrollments[student] }) { return answer }
        missedQuestions.withLock { _ = $0.students.insert(student) }
        return []
    }

    func waivers(center: String, schoolYear: Int) -> [WaiverRequest] {
        let centerYear = CenterYear(center: center, schoolYear: schoolYear)
        if let answer = prefetched.withLock({ $0.waivers[centerYear] }) { return answer }
        missedQuestions.withLock { _ = $0.centerYears.insert(centerYear) }
        return []
    }
}
