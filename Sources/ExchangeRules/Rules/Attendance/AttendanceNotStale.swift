import ExchangeCore

/// ATT-07 (supersession): a newer record for the same student, day and period replaces the older one;
/// a record older than the one on file (by recordedDateTime) is refused as stale.
public struct AttendanceNotStale: RecordRule {
    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .att07 }
    public var types: Set<ExchangeType> { [.attendance] }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        guard let held = context.held.record(.attendance, key: record.naturalKey), !held.deleted,
            let incoming = DateTimeValue(record["recordedDateTime"]), let onFile = DateTimeValue(held["recordedDateTime"])
        else { return nil }
        let offset = Int(context.reference.zone(of: context.senderOrgId).offsetSeconds(at: context.receivedAt) / 60)
        guard incoming.instant(defaultOffsetMinutes: offset) < onFile.instant(defaultOffsetMinutes: offset) else { return nil }
        return violation(
            "recordedDateTime",
            "A newer record for this student, day and period is already on file (recorded \(onFile.canonical)); this one, "
                + "recorded \(incoming.canonical), is older and was not applied. If it is the correction, send it as an update "
                + "with the recordedDateTime of when it was corrected.")
    }
}
