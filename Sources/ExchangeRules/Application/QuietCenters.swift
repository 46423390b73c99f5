import ExchangeCore

/// A technical center that has sent no accepted attendance for at least the policy's number of its
/// instructional days.
public struct QuietCenter: Sendable, Equatable {
    /// The center.
    public var orgId: String
    /// Its name.
    public var name: String
    /// The local date of its last accepted attendance file, if it ever sent one.
    public var lastAttendance: LocalDate?
    /// Its instructional days since then (since the school year began, if never), today not counted.
    public var missedDays: Int
}

/// Finds the technical centers that went quiet: pure, from the reference data, each center's last
/// accepted attendance and the waivers approved.
public enum QuietCenters {
    /// The centers with no accepted attendance for `reference.policy.quietDays` instructional days or
    /// more before `today`, excluding those with an approved waiver for today's school year, by orgId.
    /// - Parameters:
    ///   - lastAttendance: Each center's last accepted attendance file, as a local date.
    ///   - waived: Centers with an approved waiver for today's school year.
    public static func find(
        reference: ReferenceData, lastAttendance: [String: LocalDate], waived: Set<String>, today: LocalDate
    ) -> [QuietCenter] {
        let yearStart = LocalDate.schoolYearBounds(today.schoolYear).lowerBound
        var quiet: [QuietCenter] = []
        for center in reference.participants.values.sorted(by: { $0.orgId < $1.orgId })
        where center.classification.isTechnicalCenter && !waived.contains(center.orgId) {
            let last = lastAttendance[center.orgId]
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
