import ExchangeCore

/// WVR-04: one waiver per center per school year: a new request while another is pending or approved is
/// refused; amend and withdraw name that request in priorWaiverId (amend only while it is pending); a
/// request's recordId is never reused.
public struct WaiverOnePerYear: RecordRule {
    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .wvr04 }
    public var types: Set<ExchangeType> { [.waiver] }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        guard let year = record.schoolYear else { return nil }
        let requests = context.held.waivers(center: context.senderOrgId, schoolYear: year)
        let active = requests.filter(\.isActive)
        if record["action"] != "withdraw", requests.contains(where: { $0.id.lowercased() == record["recordId"].lowercased() }) {
            return violation(
                "recordId",
                "recordId \(record["recordId"]) was used by an earlier request. To change that request, send action amend (or "
                    + "withdraw) with its id in priorWaiverId and a new recordId; for a new request, give it a new recordId: a UUID "
                    + "(such as 3f2b8c1e-5d4a-4e6b-9c7d-0a1b2c3d4e5f) from your student system, or from any UUID generator.")
        }
        switch record["action"] {
        case "submit":
            guard let existing = active.first else { return nil }
            return violation(
                "action",
                existing.status == .pending
                    ? "A waiver request for \(year) is already pending (id \(existing.id)); a center may have one per school year. "
                        + "To change it, send action amend with priorWaiverId \(existing.id)."
                    : "The center's waiver for \(year) is already \(existing.status.rawValue) (id \(existing.id)); nothing more is "
                        + "needed. To change an approved waiver, ask KTS support.",
                noResendFixes: existing.status == .pending ? nil : "the center's waiver for the year is already decided: ask KTS support to change it")
        default:
            let prior = record["priorWaiverId"]
            guard !prior.isEmpty else {
                return violation("priorWaiverId", "To \(record["action"]) a request, give its id in priorWaiverId.")
            }
            guard let request = requests.first(where: { $0.id.lowercased() == prior.lowercased() }), request.isActive else {
                return violation("priorWaiverId", "There is no pending or approved waiver request \(prior) of this center for \(year).")
            }
            if record["action"] == "amend", request.status != .pending {
                return violation(
                    "action", "Request \(prior) was already \(request.status.rawValue) and can no longer be amended; withdraw it instead.")
            }
            return nil
        }
    }
}
