import ExchangeCore

/// ATT-08: a local attendance code, when given, is in the center's code map and means the same status
/// and excuse as the record.
public struct AttendanceLocalCodeMapped: RecordRule {
    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .att08 }
    public var types: Set<ExchangeType> { [.attendance] }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        let local = record["localAttendanceCode"]
        guard !local.isEmpty, record["action"] != "delete" else { return nil }
        guard let meaning = context.reference.attendanceCodes[context.senderOrgId]?[local] else {
            return violation(
                "localAttendanceCode",
                "Local attendance code \(local) is not in the center's code map. Leave it empty, or ask support to add it.")
        }
        if meaning.status != record["attendanceStatus"] || meaning.excuse != record["excuseStatus"] {
            let excuse = meaning.excuse.isEmpty ? "no excuse" : "excuse \(meaning.excuse)"
            return violation(
                "localAttendanceCode",
                "Local code \(local) means status \(meaning.status) with \(excuse), but the record says status "
                    + "\(record["attendanceStatus"]) with excuse \(record["excuseStatus"].isEmpty ? "none" : record["excuseStatus"]).")
        }
        return nil
    }
}
