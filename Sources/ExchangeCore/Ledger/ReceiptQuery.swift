/// Which receipts a review asks for: every condition that is set must hold.
public struct ReceiptQuery: Sendable, Equatable {
    /// Senders (orgIds); empty means any.
    public var senders: Set<String> = []
    /// File types; empty means any (a file of no recognised type matches only an empty set).
    public var types: Set<ExchangeType> = []
    /// Outcomes; empty means any (an unfinished receipt has none and matches only an empty set).
    public var outcomes: Set<FileOutcome> = []
    /// Claimed at or after this instant.
    public var claimedFrom: Timestamp?
    /// Claimed before this instant.
    public var claimedBefore: Timestamp?
    /// Only files judged again from this receipt.
    public var reprocessOf: String?
    /// Leave out receipts made by `ktsx reprocess` (files the participant sent, only).
    public var sentOnly = false
    /// At most this many (the newest).
    public var limit: Int?

    /// Every receipt.
    public init(
        senders: Set<String> = [], types: Set<ExchangeType> = [], outcomes: Set<FileOutcome> = [],
        claimedFrom: Timestamp? = nil, claimedBefore: Timestamp? = nil, reprocessOf: String? = nil, sentOnly: Bool = false,
        limit: Int? = nil
    ) {
        self.senders = senders
        self.types = types
        self.outcomes = outcomes
        self.claimedFrom = claimedFrom
        self.claimedBefore = claimedBefore
        self.reprocessOf = reprocessOf
        self.sentOnly = sentOnly
        self.limit = limit
    }

    /// Whether `receipt` meets every condition (the limit aside).
    public func matches(_ receipt: Receipt) -> Bool {
        if !senders.isEmpty, !senders.contains(receipt.senderOrgId) { return false }
        if !types.isEmpty, !(receipt.fileType.map(types.contains) ?? false) { return false }
        if !outcomes.isEmpty, !(receipt.outcome.map(outcomes.contains) ?? false) { return false }
        if let claimedFrom, receipt.claimedAt < claimedFrom { return false }
        if let claimedBefore, !(receipt.claimedAt < claimedBefore) { return false }
        if let reprocessOf, receipt.reprocessOf != reprocessOf { return false }
        if sentOnly, receipt.reprocessOf != nil { return false }
        return true
    }
}
