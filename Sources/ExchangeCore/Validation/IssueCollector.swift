/// Keeps the first `limit` issues of a file and counts the rest, so a file with millions of errors is
/// judged in bounded memory.
public struct IssueCollector: Sendable {
    /// The default number of issues kept per file.
    public static let defaultLimit = 1000

    /// The most issues kept.
    public let limit: Int
    /// The issues kept, in the order found.
    public private(set) var issues: [ValidationIssue] = []
    /// Every issue found, kept or not.
    public private(set) var total = 0

    /// Creates an empty collector that keeps at most `limit` issues.
    public init(limit: Int = IssueCollector.defaultLimit) {
        self.limit = max(0, limit)
    }

    /// Whether some issues were counted but not kept.
    public var truncated: Bool { total > issues.count }

    /// Whether nothing is wrong so far.
    public var isEmpty: Bool { total == 0 }

    /// Records an issue.
    public mutating func add(_ issue: ValidationIssue) {
        total += 1
        if issues.count < limit { issues.append(issue) }
    }
}
