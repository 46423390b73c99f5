import ExchangeCore

/// A technical center that has sent no accepted attendance for at least the policy's number of its
/// instructional days.
public struct QuietCenter: Sendable, Equatable {
    /// The center.
    public var orgId: String
    /// Its name.
    public var name: String
    /// The local date (in its own zone) of its last accepted attendance file, if it sent one.
    public var lastAttendance: LocalDate?
    /// Its instructional days since then (since the school year began, if never), its today not counted.
    public var missedDays: Int
}

/// Finds the technical centers that went quiet: pure, from the reference data, each center's last
/// accepted attendance and the waivers approved.
public enum QuietCenters {
    /// The centers with no accepted attendance for `reference.policy.quietDays` instructional days or
    /// more before their today (each center's days in its own zone), excluding those with an approved
    /// waiver for their current school year, by orgId.
    /// - Parameters:
    ///   - lastAttendance: When each center's last accepted attendance file came.
    ///   - approvedWaivers: (center, school year) of every approved waiver.
    public static func find(
        reference: ReferenceData, lastAttendance: [String: Timestamp], approvedWaivers: [(String, Int)], now: Timestamp
    ) -> [QuietCenter] {
        let waived = Set(approvedWaivers.map { "\($0.0)|\($0.1)" })
        var quiet: [QuietCenter] = []
        for center in reference.participants.values.sorted(by: { $0.orgId < $1.orgId }) where center.classification.isTechnicalCenter {
            let zone = reference.zone(of: center.orgId)
            let today = zone.local(now).date
            guard !waived.contains("\(center.orgId)|\(today.schoolYear)") else { continue }
            let yearStart = LocalDate.schoolYearBounds(today.schoolYear).lowerBound
            let last = lastAttendance[center.orgId].map { zone.local($0).date }
            var day = max(last.map { $0.adding(days: 1) } ?? yearStart, yearStart)
            var missed = 0
            while day < today {
                if reference.isInstructional(day, at: center.orgId) { missed += 1 }
                day = day.adding(days: 1)
            }
            if missed >= reference.policy.quietDays {
                quiet.append(QuietCenter(orgId: center.orgId, name: center.name, lastAttendance: last, missedDays: missed))
            }
        }
        return quiet
    }
}
