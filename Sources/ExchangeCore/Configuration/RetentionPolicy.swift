/// Which monthly folders of archived and quarantined originals have outlived the retention period.
/// Originals are filed by the month they were received (`yyyy-mm`); a month goes once its last day is
/// more than `retentionDays` ago, so every original is kept at least that long.
public enum RetentionPolicy {
    /// The folder names among `months` that may be removed at `now`. Names that are not `yyyy-mm` are
    /// never removed.
    public static func expiredMonths(_ months: [String], now: Timestamp, retentionDays: Int) -> [String] {
        months.filter { name in
            let parts = name.split(separator: "-")
            guard name.count == 7, parts.count == 2, let year = Int64(parts[0]), let month = Int64(parts[1]),
                (1...12).contains(month)
            else { return false }
            // The first instant of the next month, in days since the epoch.
            let (nextYear, nextMonth) = month == 12 ? (year + 1, Int64(1)) : (year, month + 1)
            let monthEnd = Timestamp.days(fromCivil: nextYear, nextMonth, 1) * 86_400
            return now.secondsSinceEpoch - monthEnd >= Int64(retentionDays) * 86_400
        }
    }
}

extension Timestamp {
    /// Days since 1970-01-01 of a calendar date (Howard Hinnant's algorithm).
    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
