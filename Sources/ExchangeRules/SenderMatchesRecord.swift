import ExchangeCore

/// A record's sending organisation is the folder the file was dropped in: an enrollment's home high
/// school (ENR-01), an attendance or grade record's technical center (ATT-10, GRD-10), a waiver's center
/// (WVR-07). A record for another organisation is rejected, never re-routed.
public struct SenderMatchesRecord: RecordRule {
    /// The sending field and rule code of each type.
    static let senderField: [ExchangeType: (field: String, code: String)] = [
        .enrollment: ("homeSchoolOrgId", "ENR-01"), .attendance: ("techCenterOrgId", "ATT-10"),
        .grades: ("techCenterOrgId", "GRD-10"), .waiver: ("centerOrgId", "WVR-07"),
    ]

    /// Creates the rule.
    public init() {}

    public var code: String { "ENR-01" }
    public var types: Set<ExchangeType> { Set(SenderMatchesRecord.senderField.keys) }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        guard let (field, code) = SenderMatchesRecord.senderField[record.type],
            let value = record.values[field], value != context.senderOrgId
        else { return nil }
        return RuleViolation(
            code: code, field: field,
            message: "\(field) is \(value), but the file came from the folder of \(context.senderOrgId). Each "
                + "organisation sends its own records; send this record from \(value)'s folder, or correct \(field).")
    }
}
