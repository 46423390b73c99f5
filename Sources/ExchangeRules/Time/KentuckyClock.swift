import ExchangeCore

/// Local time in Kentucky's two zones, computed from the United States daylight-saving rule in force
/// since 2007 (second Sunday of March to first Sunday of November, changing at 2:00 local time). Pure:
/// it reads no clock and no time-zone database.
public enum KentuckyZone: String, Sendable, CaseIterable {
    /// Eastern time (Frankfort, Louisville, Lexington).
    case eastern
    /// Central time (western Kentucky).
    case central

    /// The zone an IANA name stands for; nil for a name outside Kentucky.
    public init?(ianaName: String) {
        switch ianaName {
        case "America/New_York", "America/Kentucky/Louisville", "America/Louisville", "America/Kentucky/Monticello":
            self = .eastern
        case "America/Chicago":
            self = .central
        default:
            return nil
        }
    }

    private var standardOffsetSeconds: Int64 { self == .eastern ? -5 * 3600 : -6 * 3600 }

    /// Seconds to add to UTC to get local time at `time`.
    public func offsetSeconds(at time: Timestamp) -> Int64 {
        let standard = standardOffsetSeconds
        let year = LocalDate(utcDateOf: Timestamp(secondsSinceEpoch: time.secondsSinceEpoch + standard)).components.year
        // Daylight time starts at 2:00 standard time on the second Sunday of March and ends at 2:00
        // daylight time (1:00 standard) on the first Sunday of November.
        let march = KentuckyZone.nthSunday(2, month: 3, year: year)
        let november = KentuckyZone.nthSunday(1, month: 11, year: year)
        let start = march.dayNumber * 86_400 + 2 * 3600 - standard
        let end = november.dayNumber * 86_400 + 1 * 3600 - standard
        let t = time.secondsSinceEpoch
        return t >= start && t < end ? standard + 3600 : standard
    }

    /// `time` as people here read it: `2026-01-16 10:15 ET` (or `CT`).
    public func shown(_ time: Timestamp) -> String {
        let (date, minutes) = local(time)
        let hours = minutes / 60, rest = minutes % 60
        return "\(date) \(hours < 10 ? "0" : "")\(hours):\(rest < 10 ? "0" : "")\(rest) \(self == .eastern ? "ET" : "CT")"
    }

    /// The local date and the minutes after local midnight at `time`.
    public func local(_ time: Timestamp) -> (date: LocalDate, minutes: Int) {
        let local = time.secondsSinceEpoch + offsetSeconds(at: time)
        let date = LocalDate(utcDateOf: Timestamp(secondsSinceEpoch: local))
        return (date, Int((local - date.dayNumber * 86_400) / 60))
    }

    /// The instant when the local clock shows `time` on `date`. A time skipped by the spring change is
    /// taken an hour later; a time repeated in the autumn is taken the first time.
    public func instant(of date: LocalDate, at time: TimeOfDay) -> Timestamp {
        let wall = date.dayNumber * 86_400 + Int64(time.minutes) * 60
        let daylight = Timestamp(secondsSinceEpoch: wall - (standardOffsetSeconds + 3600))
        if offsetSeconds(at: daylight) == standardOffsetSeconds + 3600 { return daylight }
        return Timestamp(secondsSinceEpoch: wall - standardOffsetSeconds)
    }

    /// The instants of a local day: from its midnight to the next (23 or 25 hours on the days the clocks
    /// change).
    public func span(of date: LocalDate) -> Range<Timestamp> {
        let midnight = TimeOfDay("00:00")!
        return instant(of: date, at: midnight)..<instant(of: date.adding(days: 1), at: midnight)
    }

    static func nthSunday(_ n: Int, month: Int, year: Int) -> LocalDate {
        let first = LocalDate(year: year, month: month, day: 1)!
        let toSunday = (7 - first.isoWeekday) % 7
        return first.adding(days: toSunday + 7 * (n - 1))
    }
}
