import ExchangeCore

/// WVR-02: waiver requests (and amendments and withdrawals) are received from January 1 to March 1,
/// Kentucky time (the configured window and zone).
public struct WaiverInsideWindow: RecordRule {
    /// Creates the rule.
    public init() {}

    public var code: RuleCode { .wvr02 }
    public var types: Set<ExchangeType> { [.waiver] }

    public func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation? {
        let policy = context.reference.policy
        let today = policy.timeZone.local(context.receivedAt).date
        let (_, month, day) = today.components
        let received = MonthDay(month: month, day: day)
        guard !policy.waiverWindow.contains(received) else { return nil }
        return violation(
            nil,
            "Waiver requests are received from \(WaiverInsideWindow.name(policy.waiverWindow.lowerBound)) to "
                + "\(WaiverInsideWindow.name(policy.waiverWindow.upperBound)) (Kentucky time); this one arrived on \(today). "
                + "Send it again inside the window.")
    }

    static let months = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
    ]

    static func name(_ day: MonthDay) -> String { "\(months[day.month - 1]) \(day.day)" }
}
