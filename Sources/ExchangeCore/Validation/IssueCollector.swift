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

    /// Takes back the issue found last, when it was kept and `matches` says so: a knock-on of what was
    /// found next (an element whose start tag the file ends inside).
    public mutating func withdrawLast(if matches: (ValidationIssue) -> Bool) {
        guard total == issues.count, let last = issues.last, matches(last) else { return }
        issues.removeLast()
        total -= 1
    }

    /// Adds issues that were found after the issues that follow them in the file (a repeated key found
    /// when spilled keys were merged), each where its `order` puts it: after the first `order` issues
    /// found in the file. Issues of the same order keep the order given. `alsoFound` counts late issues
    /// found but not given, each after at least `limit` of those given (so never kept).
    public mutating func insertLate(_ late: [(order: Int, issue: ValidationIssue)], alsoFound: Int = 0) {
        total += alsoFound
        guard !late.isEmpty else { return }
        let sorted = late.enumerated().sorted { ($0.element.order, $0.offset) < ($1.element.order, $1.offset) }.map(\.element)
        var merged: [ValidationIssue] = []
        var next = 0
        for (index, issue) in issues.enumerated() {
            while next < sorted.count, sorted[next].order <= index {
                merged.append(sorted[next].issue)
                next += 1
            }
            merged.append(issue)
        }
        merged += sorted[next...].map(\.issue)
        issues = Array(merged.prefix(limit))
        total += late.count
    }
}
