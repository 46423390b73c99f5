import ExchangeCore
import ExchangeRules

/// A submissions search as people type it, on the command line or in the review page's form: orgIds,
/// type codes, outcomes (`rejected`, `accepted-with-errors`, ...) and Kentucky dates. Empty values mean
/// "any".
public struct SubmissionFilter: Sendable, Equatable {
    /// Senders.
    public var participants: [String]
    /// Type codes: ENR, ATT, GRD, WVR (any case).
    public var types: [String]
    /// Outcomes, with dashes or underscores, any case.
    public var outcomes: [String]
    /// First day, `YYYY-MM-DD`.
    public var from: String?
    /// Last day (included), `YYYY-MM-DD`.
    public var to: String?
    /// At most this many.
    public var limit: Int

    /// A filter.
    public init(
        participants: [String] = [], types: [String] = [], outcomes: [String] = [], from: String? = nil, to: String? = nil, limit: Int = 100
    ) {
        self.participants = participants
        self.types = types
        self.outcomes = outcomes
        self.from = from
        self.to = to
        self.limit = limit
    }

    /// The ledger query, days taken in `zone`.
    /// - Throws: `SupportError(.badFilter)` naming the value not understood.
    public func query(zone: KentuckyZone) throws(SupportError) -> ReceiptQuery {
        var query = ReceiptQuery(senders: Set(participants.filter { !$0.isEmpty }), limit: max(1, limit))
        for type in types where !type.isEmpty {
            guard let parsed = ExchangeType(rawValue: type.uppercased()), ExchangeType.partnerTypes.contains(parsed) else {
                throw SupportError(.badFilter, "type must be ENR, ATT, GRD or WVR, not '\(type)'")
            }
            query.types.insert(parsed)
        }
        for outcome in outcomes where !outcome.isEmpty {
            guard let parsed = FileOutcome(rawValue: outcome.uppercased().split(separator: "-", omittingEmptySubsequences: false).joined(separator: "_")) else {
                throw SupportError(.badFilter, "outcome must be accepted, accepted-with-errors, rejected or duplicate, not '\(outcome)'")
            }
            query.outcomes.insert(parsed)
        }
        if let from, !from.isEmpty {
            guard let date = LocalDate(from) else { throw SupportError(.badFilter, "from must be a date YYYY-MM-DD, not '\(from)'") }
            query.claimedFrom = zone.span(of: date).lowerBound
        }
        if let to, !to.isEmpty {
            guard let date = LocalDate(to) else { throw SupportError(.badFilter, "to must be a date YYYY-MM-DD, not '\(to)'") }
            query.claimedBefore = zone.span(of: date).upperBound
        }
        return query
    }
}
