import Foundation

/// Writes a world's configuration directory: `ktsx.conf` and the reference data files, in the formats the
/// project README ("Reference data (for support)") gives.
enum ReferenceDataWriter {
    /// Writes every file into `config`; the drop tree and state directory go to `drop` and `state`.
    static func write(_ world: World, config: URL, drop: URL, state: URL) throws {
        try FileManager.default.createDirectory(at: config, withIntermediateDirectories: true)
        func put(_ name: String, _ lines: [String]) throws {
            try (lines.joined(separator: "\n") + "\n").write(to: config.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        try put("ktsx.conf", [
            "drop_root = \(drop.path)",
            "state_dir = \(state.path)",
            "quiet_period = 100ms",
            "poll_interval = 100ms",
            "review_address = off",
        ])
        try put("participants.csv", ["orgId,name,classification,timeZone,outputFormat,doneMarker,unknownSync"] + world.participants.map {
            "\($0.orgId),\($0.name),\($0.classification),\($0.timeZone),\($0.outputFormat),false,\($0.unknownSync)"
        })
        try put("catalog.csv", ["centerOrgId,schoolYear,ktsCourseNumber,sectionNumber,stateCourseCode,courseTitle,termCode,termBeginDate,termEndDate,credits,minutesPerDay"]
            + world.sections.map {
                "\($0.centerOrgId),\(world.schoolYear),\($0.course),\($0.section),\($0.stateCourseCode),\($0.title),\($0.termCode),\($0.termBegin.iso),\($0.termEnd.iso),\($0.credits),\($0.minutesPerDay)"
            })
        try put("attendance-codes.csv", ["centerOrgId,localCode,attendanceStatus,excuseStatus,description"] + world.codes.map {
            "\($0.centerOrgId),\($0.localCode),\($0.status),\($0.excuse ?? ""),\($0.status) \($0.excuse ?? "")"
        })
        try put("grading-scales.csv", ["scaleCode,letter,minimum,maximum,passing"] + world.scales.flatMap { scale in
            scale.bands.map { "\(scale.code),\($0.letter),\($0.minimum.map { "\($0)" } ?? ""),\($0.maximum.map { "\($0)" } ?? ""),\($0.passing)" }
        })
        try put("course-mappings.csv", ["centerOrgId,ktsCourseNumber,homeSchoolOrgId,homeCourseNumber,homeCourseTitle,homeGradingScaleCode"]
            + world.mappings.map { "\($0.centerOrgId),\($0.course),\($0.homeSchool),\($0.homeCourseNumber),\($0.homeTitle),\($0.homeScale)" })
        var calendar = ["orgId,schoolYear,kind,firstDate,lastDate,note"]
        for participant in world.participants {
            let id = participant.orgId
            calendar.append("\(id),\(world.schoolYear),instructional,\(World.yearBegin.iso),\(World.yearEnd.iso),school year")
            calendar.append("\(id),\(world.schoolYear),closed,\(World.winterBreak.lowerBound.iso),\(World.winterBreak.upperBound.iso),winter break")
            for day in world.closedDays { calendar.append("\(id),\(world.schoolYear),closed,\(day.iso),\(day.iso),closed") }
        }
        try put("calendars.csv", calendar)
        try put("schedule.conf", [
            "time_zone = \(world.scheduleTimeZone)",
            "grade_posting_time = 22:00",
            "unknown_sync_time = 05:30",
            "daily_summary_time = 06:00",
            "catch_up_days = 7",
            "waiver_window = 01-01..03-01",
            "max_credits = 3",
        ])
    }
}
