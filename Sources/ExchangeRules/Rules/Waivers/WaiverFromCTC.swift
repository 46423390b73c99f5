import ExchangeCore

/// WVR-01: only a district-operated CTC (A2) may ask for a waiver; a state-operated ATC (C2) or any
/// other organisation is refused with the reason. The participant register decides, and the record's
/// centerClassification must agree with it.
public struct WaiverFromCTC: RecordRule {
    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .wvr01 }
    public var types: Set<ExchangeType> { [.waiver] }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        let registered = context.sender?.classification
        switch registered {
        case .a2?:
            guard record["centerClassification"] == "A2" else {
                return violation(
                    "centerClassification",
                    "centerClassification \(record["centerClassification"]) does not match the register, where \(context.senderOrgId) is A2 (CTC).")
            }
            return nil
        case .c2?:
            return violation(
                "centerClassification",
                "Area technology centers (ATCs, class C2) are operated by the state and may not request a waiver; only "
                    + "district-operated career and technical centers (CTCs, class A2) may.",
                noResendFixes: "only a district-operated CTC (class A2) may ask for a waiver; a state-operated ATC (C2) may not")
        default:
            let what = registered.map { "class \($0.rawValue)" } ?? "not a registered center"
            return violation(
                "centerClassification",
                "Only district-operated career and technical centers (CTCs, class A2) may request a waiver; \(context.senderOrgId) is \(what).",
                noResendFixes: "only a district-operated CTC (class A2) may ask for a waiver")
        }
    }
}
