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
        let window = "Waiver requests are received from \(WaiverInsideWindow.name(policy.waiverWindow.lowerBound)) to "
            + "\(WaiverInsideWindow.name(policy.waiverWindow.upperBound)) (Kentucky time); this one arrived on \(today)"
        // From July 1 a new school year runs and the next window is ahead; before it, this year's has closed.
        if month >= 7 || received < policy.waiverWindow.lowerBound {
            return violation(nil, window + ", before the window opens. Send it again inside the window.")
        }
        return violation(
            nil, window + ", after this year's window closed. Ask KTS support.",
            noResendFixes: "waiver requests for the next school year are received only until \(WaiverInsideWindow.name(policy.waiverWindow.upperBound))")
    }

    static let months = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
    ]

    static func name(_ day: MonthDay) -> String { "\(months[day.month - 1]) \(day.day)" }
}
