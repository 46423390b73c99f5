import ExchangeCore

/// A record's sending organisation is the folder the file was dropped in: an enrollment's home high
/// school (ENR-01), an attendance or grade record's technical center (ATT-10, GRD-10), a waiver's center
/// (WVR-07). A record for another organisation is rejected, never re-routed. The sending field is the
/// type's descriptor's `senderField`.
public struct SenderMatchesRecord: RecordRule {
    /// The rule code of each type.
    static let codes: [ExchangeType: RuleCode] = [.enrollment: .enr01, .attendance: .att10, .grades: .grd10, .waiver: .wvr07]

    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .enr01 }
    public var types: Set<ExchangeType> { Set(SenderMatchesRecord.codes.keys) }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        guard let code = SenderMatchesRecord.codes[record.type], let field = record.type.descriptor?.senderField,
            let value = record.values[field], value != context.senderOrgId
        else { return nil }
        return RuleViolation(
            code: code, field: field,
            message: "\(field) is \(value), but the file came from the folder of \(context.senderOrgId). Each "
                + "organisation sends its own records; send this record from \(value)'s folder, or correct \(field).")
    }
}
