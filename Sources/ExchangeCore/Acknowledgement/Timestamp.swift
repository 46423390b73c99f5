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
        let days = secondsSinceEpoch >= 0 ? secondsSinceEpoch / 86_400 : (secondsSinceEpoch - 86_399) / 86_400
        let seconds = secondsSinceEpoch - days * 86_400
        let (year, month, day) = Timestamp.civil(fromDays: days)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(seconds / 3600)):\(two(seconds % 3600 / 60)):\(two(seconds % 60))Z"
    }

    /// `yyyymmddThhmmss` in UTC, for file names.
    public var compact: String {
        iso8601.filter { $0 != "-" && $0 != ":" && $0 != "Z" }
    }

    /// The calendar date of a day number (days since 1970-01-01), by Howard Hinnant's algorithm.
    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
