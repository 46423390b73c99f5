/// An instant, as seconds since 1970-01-01T00:00:00Z. The core never reads a clock: callers pass these in.
public struct Timestamp: Sendable, Hashable, Comparable, Codable {
    /// Seconds since the Unix epoch.
    public var secondsSinceEpoch: Int64

    /// Wraps a number of seconds since the epoch.
    public init(secondsSinceEpoch: Int64) {
        self.secondsSinceEpoch = secondsSinceEpoch
    }

    /// Orders instants.
    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.secondsSinceEpoch < rhs.secondsSinceEpoch }

    /// ISO 8601 in UTC: `2026-11-29T04:40:00Z` (valid as `xs:dateTime` and Table Schema `datetime`).
    public var iso8601: String {
        let date = LocalDate(utcDateOf: self)
        let seconds = secondsSinceEpoch - date.dayNumber * 86_400
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(date)T\(two(seconds / 3600)):\(two(seconds % 3600 / 60)):\(two(seconds % 60))Z"
    }

    /// `yyyymmddThhmmss` in UTC, for file names.
    public var compact: String {
        iso8601.filter { $0 != "-" && $0 != ":" && $0 != "Z" }
    }
}
