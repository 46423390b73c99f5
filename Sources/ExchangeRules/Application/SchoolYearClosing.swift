import ExchangeCore

/// When a school year may leave the ledger, and which receipts go with it. Pure.
///
/// A year runs from July 1 to June 30 (named by the year it ends) and may be retired from the first of July
/// after it, in Kentucky's Eastern time: before that, centers still send its records. Its receipts are
/// those claimed inside it, midnight to midnight Eastern; records of the year sent later (a final grade in
/// July) stay in the ledger with their receipts, which belong to the next year.
public enum SchoolYearClosing {
    /// Why a year cannot be retired now.
    public enum Refusal: Error, Equatable, CustomStringConvertible {
        /// The year has not ended: it ends on `lastDay`.
        case stillOpen(lastDay: LocalDate)
        /// Not a school year the exchange knows (2000 to 2099).
        case unknownYear(Int)

        /// What to tell the operator.
        public var description: String {
            switch self {
            case .stillOpen(let lastDay):
                "school year \(lastDay.schoolYear) is still open: it runs to \(lastDay) and can be retired from the day after, Kentucky time"
            case .unknownYear(let year): "\(year) is not a school year (give the year it ends, 2000 to 2099: 2026 for July 2025 to June 2026)"
            }
        }
    }

    /// The retirement of `schoolYear` to `archiveFile`, beginning `now`, or why it cannot begin.
    public static func plan(schoolYear: Int, archiveFile: String, now: Timestamp) -> Result<RetiredYear, Refusal> {
        guard (2000...2099).contains(schoolYear) else { return .failure(.unknownYear(schoolYear)) }
        let bounds = LocalDate.schoolYearBounds(schoolYear)
        let zone = KentuckyZone.eastern
        guard zone.local(now).date > bounds.upperBound else { return .failure(.stillOpen(lastDay: bounds.upperBound)) }
        return .success(
            RetiredYear(
                schoolYear: schoolYear, claimedFrom: zone.span(of: bounds.lowerBound).lowerBound,
                claimedBefore: zone.span(of: bounds.upperBound).upperBound, archiveFile: archiveFile, startedAt: now))
    }

    /// The school year a `keep_school_years = count` setting no longer keeps at `now`: the one before the
    /// `count` latest (the current one counts), so from each July 1 a year falls out.
    public static func yearPastKeeping(_ count: Int, now: Timestamp) -> Int {
        KentuckyZone.eastern.local(now).date.schoolYear - count
    }
}
