import ExchangeCore

/// `update` and `delete` must name a record the exchange holds (by natural key), and `add` must not
/// name one it already holds: ENR-07, ATT-07, GRD-11 (the descriptor's `keyRule`). An enrollment is on file only for the high school
/// that sent it: another school's is neither revealed nor changed. (A record exactly as on file, sent
/// again, never reaches the rules: `RecordApplier` accepts it as on file already.)
public struct KeyMustBeHeld: RecordRule {

    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .enr07 }
    public var types: Set<ExchangeType> { KeyMustBeHeld.judged }
    /// The types whose descriptor names a key rule (computed once: `types` is asked for every record).
    static let judged = Set(ExchangeType.partnerTypes.filter { $0.descriptor?.keyRule != nil })

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        guard let code = record.type.descriptor?.keyRule else { return nil }
        // An enrollment counts as on file only for the high school that sent it: another school's is
        // neither revealed nor changeable (an add takes the student over, as when a student moves).
        let held = context.held.record(record.type, key: record.naturalKey).flatMap {
            $0.deleted || (record.type == .enrollment && $0.senderOrgId != context.senderOrgId) ? nil : $0
        }
        let keyFields = NaturalKey.fields(of: record.type).filter { $0 != "ssid" }.joined(separator: ", ")
        let what = record.type.displayName
        switch record["action"] {
        case "add":
            guard held != nil else { return nil }
            return RuleViolation(
                code: code, field: "action",
                message: "This \(what) (same student, \(keyFields)) is already on file. Send it with action update to change it.")
        case "update", "delete":
            guard held != nil else {
                return RuleViolation(
                    code: code, field: "action",
                    message: "There is no \(what) on file for this student with the same \(keyFields), so it cannot be "
                        + "\(record["action"] == "update" ? "updated" : "deleted"). Check those fields, or send it with action add.")
            }
            return nil
        default:
            return nil
        }
    }
}
