import Foundation

/// A calendar day without a time zone (a school day, a term boundary), counted as days since 1970-01-01.
struct CivilDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Days since 1970-01-01.
    var ordinal: Int

    /// The day `year-month-day` (proleptic Gregorian; Howard Hinnant's days-from-civil).
    init(_ year: Int, _ month: Int, _ day: Int) {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        ordinal = era * 146_097 + doe - 719_468
    }

    init(ordinal: Int) { self.ordinal = ordinal }

    /// Parses `YYYY-MM-DD` (also with one-digit month or day, as the CSV binding tolerates).
    init?(iso text: String) {
        let parts = text.split(separator: "-").map { Int($0) }
        guard parts.count == 3, let y = parts[0], let m = parts[1], let d = parts[2], (1...12).contains(m), (1...31).contains(d)
        else { return nil }
        self.init(y, m, d)
    }

    /// Year, month and day.
    var components: (year: Int, month: Int, day: Int) {
        let z = ordinal + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp + (mp < 10 ? 3 : -9)
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// The canonical spelling, `YYYY-MM-DD`.
    var iso: String {
        let c = components
        return String(format: "%04d-%02d-%02d", c.year, c.month, c.day)
    }

    /// The tolerated CSV spelling with one-digit month and day where possible (`2026-1-5`).
    var unpadded: String {
        let c = components
        return "\(c.year)-\(c.month)-\(c.day)"
    }

    /// `yyyymmdd`, for file names.
    var compact: String { iso.replacingOccurrences(of: "-", with: "") }

    var description: String { iso }

    /// Monday = 1 … Sunday = 7.
    var isoWeekday: Int { ((ordinal % 7) + 7 + 3) % 7 + 1 }

    /// Saturday or Sunday.
    var isWeekend: Bool { isoWeekday >= 6 }

    /// The day `n` days later.
    func adding(_ n: Int) -> CivilDate { CivilDate(ordinal: ordinal + n) }

    static func < (a: CivilDate, b: CivilDate) -> Bool { a.ordinal < b.ordinal }

    /// The school year (named by its end year) the day belongs to: July 1 – June 30.
    var schoolYear: Int { components.month >= 7 ? components.year + 1 : components.year }

    /// The first and last day of school year `year`.
    static func schoolYearBounds(_ year: Int) -> ClosedRange<CivilDate> { CivilDate(year - 1, 7, 1)...CivilDate(year, 6, 30) }
}

/// A local wall-clock moment in a participant's time zone, turned into the texts the exchange uses.
struct LocalMoment: Sendable {
    /// The day.
    var date: CivilDate
    /// Hour, minute, second on the wall clock.
    var hour: Int, minute: Int, second: Int = 0
    /// The IANA time zone (America/New_York or America/Chicago).
    var timeZone: String

    /// The instant.
    var instant: Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timeZone)!
        let c = date.components
        return calendar.date(from: DateComponents(year: c.year, month: c.month, day: c.day, hour: hour, minute: minute, second: second))!
    }

    /// ISO 8601 with the zone's offset (`2026-01-12T16:30:00-05:00`), as partners are asked to send.
    var isoWithOffset: String {
        let seconds = TimeZone(identifier: timeZone)!.secondsFromGMT(for: instant)
        let sign = seconds < 0 ? "-" : "+"
        let offset = String(format: "%@%02d:%02d", sign, abs(seconds) / 3600, (abs(seconds) % 3600) / 60)
        return String(format: "%@T%02d:%02d:%02d", date.iso, hour, minute, second) + offset
    }

    /// The instant in UTC, `2026-01-12T21:30:00Z`: the form `KTSX_CLOCK_START` takes.
    var utc: String { utcText(instant) }
}

/// An instant as `YYYY-MM-DDTHH:MM:SSZ`.
func utcText(_ instant: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    formatter.timeZone = TimeZone(identifier: "UTC")
    return formatter.string(from: instant)
}

/// Parses an ISO 8601 date-time with an offset or `Z` (and optional fractional seconds); nil otherwise.
func parseInstant(_ text: String) -> Date? {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    if let date = formatter.date(from: text) { return date }
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.date(from: text)
}
