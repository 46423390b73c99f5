import ExchangeCore

/// A record's sending organisation is the folder the file was dropped in: an enrollment's home high
/// school (ENR-01), an attendance or grade record's technical center (ATT-10, GRD-10), a waiver's center
/// (WVR-07). A record for another organisation is rejected, never re-routed, with this code alone. The
/// sending field and the code are the type's descriptor's `senderField` and `senderRule`.
public struct SenderMatchesRecord: RecordRule {

    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .enr01 }
    public var types: Set<ExchangeType> { SenderMatchesRecord.judged }
    /// A record of another organisation is judged no further: the other rules would judge it against that
    /// organisation's roster and records, and their errors would only follow from this one.
    public var isDecisive: Bool { true }
    /// Every type partners send (computed once: `types` is asked for every record).
    static let judged = Set(ExchangeType.partnerTypes)

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        guard let descriptor = record.type.descriptor, let value = record.values[descriptor.senderField], value != context.senderOrgId
        else { return nil }
        let field = descriptor.senderField
        return RuleViolation(
            code: descriptor.senderRule, field: field,
            message: "\(field) is \(value), but the file came from the folder of \(context.senderOrgId). Each "
                + "organisation sends its own records; send this record from \(value)'s folder, or correct \(field).")
    }
}
