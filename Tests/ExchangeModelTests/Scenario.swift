import Foundation

/// One step of a world's timeline, on the injected clock.
enum TimelineStep: Sendable {
    /// Files dropped into their senders' `inbound/`, then `ktsx run --once` at that moment.
    case drop(LocalMoment, [DropFile])
    /// `ktsx post-grades` at that moment.
    case postGrades(LocalMoment)
    /// `ktsx sync-unknown-attendance --date day` at that moment.
    case syncUnknownAttendance(LocalMoment, day: CivilDate)
    /// `ktsx run --once` with nothing dropped: the scheduler runs what is due (a night's grade posting, the
    /// morning's sync, summaries) and catches up what was missed.
    case schedulerPass(LocalMoment)

    /// The moment of the step.
    var moment: LocalMoment {
        switch self {
        case .drop(let moment, _), .postGrades(let moment), .syncUnknownAttendance(let moment, _), .schedulerPass(let moment): return moment
        }
    }
}

/// A world played: its timeline and the model's predictions for it.
struct Scenario: Sendable {
    var world: World
    var steps: [TimelineStep]
    var model: ExchangeModel

    /// Every file dropped, in order.
    var files: [DropFile] { steps.flatMap { step -> [DropFile] in if case .drop(_, let files) = step { return files } else { return [] } } }
}

/// Plays a world day by day, deciding what each participant sends (from the model's view of what is on file) and
/// feeding each wave to the model as it goes.
///
/// A day: 05:30 the unknown-attendance sync of the day before (by hand, or left to the scheduler); 06:00 a pass of
/// the service with nothing dropped, in which the scheduler runs what is due or was missed; 07:00 high schools
/// send enrollments; 07:30 they resend files that were rejected, and sometimes the same bytes again; 16:30 centers
/// send attendance (one file with students of several high schools), grades and sometimes a waiver request;
/// 17:15 they resolve unknown absences, resend rejected files, repeat some; 22:00 grades are posted (by hand, or
/// by the scheduler at the next pass). Files of one wave do not depend on each other, so the order the service
/// takes them in cannot matter; nothing a night's job sends changes after the day's last wave, so whether the job
/// runs by hand or from the scheduler cannot matter either.
struct ScenarioBuilder {
    let world: World
    private var factory: RecordFactory
    private var random: SeededRandom
    private var model: ExchangeModel
    private var steps: [TimelineStep] = []
    private var sequence: [String: Int] = [:]
    /// Files rejected as a whole, to be fixed and sent again in the next wave.
    private var rejectedToResend: [DropFile] = []
    /// Files accepted in the last wave, candidates for a repeat of the same bytes.
    private var lastAccepted: [DropFile] = []
    /// Centers that asked for a waiver already.
    private var askedWaiver: Set<String> = []

    init(world: World) {
        self.world = world
        factory = RecordFactory(world: world, random: SeededRandom(seed: world.seed &+ 1))
        random = SeededRandom(seed: world.seed &+ 2)
        model = ExchangeModel(world: world)
    }

    /// Builds the whole timeline.
    static func build(_ world: World) -> Scenario {
        var builder = ScenarioBuilder(world: world)
        var pendingSync: CivilDate?
        var next = world.days.last!.adding(1)
        while next.isWeekend { next = next.adding(1) }
        for (index, day) in (world.days + [next]).enumerated() {
            if let syncDay = pendingSync, builder.random.chance(0.6) {
                builder.sync(day: syncDay, at: builder.moment(day, 5, 30))
            }
            pendingSync = nil
            builder.schedulerPass(at: builder.moment(day, 6, 0))
            guard index < world.days.count else { break }
            builder.highSchoolMorning(day: day, index: index)
            if world.isInstructional(day) {
                builder.centerAfternoon(day: day, index: index)
                pendingSync = day
            }
            if builder.random.chance(0.6) { builder.postGrades(at: builder.moment(day, 22, 0)) }
        }
        return Scenario(world: world, steps: builder.steps, model: builder.model)
    }

    /// A moment on the schedule's clock (Kentucky time).
    private func moment(_ day: CivilDate, _ hour: Int, _ minute: Int) -> LocalMoment {
        LocalMoment(date: day, hour: hour, minute: minute, timeZone: world.scheduleTimeZone)
    }

    // MARK: - Waves

    /// Drops a wave (nothing when `files` is empty): the model judges it, and it becomes a step of the timeline.
    private mutating func drop(_ files: [DropFile], at moment: LocalMoment) {
        model.process(files, now: moment.instant)
        let outcomes = Dictionary(model.files.suffix(files.count).map { ($0.file.name, $0.outcome) }, uniquingKeysWith: { a, _ in a })
        rejectedToResend = files.filter { $0.mistake != nil && $0.duplicateOf == nil }
        lastAccepted = files.filter { outcomes[$0.name] == "ACCEPTED" || outcomes[$0.name] == "ACCEPTED_WITH_ERRORS" }
        if !files.isEmpty { steps.append(.drop(moment, files)) }
    }

    /// `ktsx post-grades` by hand.
    private mutating func postGrades(at moment: LocalMoment) {
        model.postGrades(occasion: "grade posting at \(moment.isoWithOffset)")
        steps.append(.postGrades(moment))
    }

    /// `ktsx sync-unknown-attendance --date day` by hand.
    private mutating func sync(day: CivilDate, at moment: LocalMoment) {
        model.syncUnknownAttendance(day: day, occasion: "unknown-attendance sync of \(day), by hand at \(moment.isoWithOffset)")
        steps.append(.syncUnknownAttendance(moment, day: day))
    }

    /// A pass with nothing dropped: the scheduler posts the grades of a night not yet posted and sends the sync of
    /// each instructional day before today not yet sent.
    private mutating func schedulerPass(at moment: LocalMoment) {
        model.postGrades(occasion: "nightly posting, by the scheduler at \(moment.isoWithOffset)")
        for day in world.days where day < moment.date && world.isInstructional(day) {
            model.syncUnknownAttendance(day: day, occasion: "unknown-attendance sync of \(day), by the scheduler at \(moment.isoWithOffset)")
        }
        steps.append(.schedulerPass(moment))
    }

    /// The second wave of a morning or an afternoon: rejected files fixed and sent again, some accepted ones
    /// repeated byte for byte, and any extra files.
    private mutating func followUp(extra: [DropFile], at moment: LocalMoment) {
        var files = extra
        for rejected in rejectedToResend {
            if random.chance(0.3) {
                // The same bad bytes again first: a rejected file is no DUPLICATE, it is judged (and rejected) again.
                var again = rejected
                again.name = fileName(type: rejected.type, sender: rejected.sender, at: moment, binding: rejected.binding)
                again.duplicateOf = rejected.name
                files.append(again)
            }
            files.append(makeFile(type: rejected.type, sender: rejected.sender, binding: rejected.binding, records: rejected.records,
                                  at: moment, allowFileMistake: false, respell: false))
        }
        for accepted in lastAccepted where random.chance(0.1) {
            var copy = accepted
            copy.name = fileName(type: accepted.type, sender: accepted.sender, at: moment, binding: accepted.binding)
            copy.duplicateOf = accepted.name
            files.append(copy)
        }
        drop(files, at: moment)
    }

    // MARK: - High schools

    /// 07:00: each high school's enrollments of the day (the roster on the first day, late starters, students who
    /// left a section or changed schools), with planted mistakes; 07:30 the follow-up wave.
    private mutating func highSchoolMorning(day: CivilDate, index: Int) {
        var files: [DropFile] = []
        let transfers = index > 0 && world.highSchools.count > 1 && random.chance(0.3) ? transfer(day: day) : []
        let transferred = Set(transfers.map { $0["ssid"]! })
        for school in world.highSchools {
            var records: [ModelRecord] = transfers.filter { $0["homeSchoolOrgId"] == school.orgId }
            for planned in world.plannedEnrollments where planned.student.homeSchool == school.orgId && planned.sendDay == day {
                records.append(factory.enrollment(planned, sentOn: day))
            }
            // Some students leave a section: an update with the exit date and reason.
            if index > 0, random.chance(0.5) {
                let leaving = model.roster.values.filter {
                    $0["homeSchoolOrgId"] == school.orgId && $0["exitDate"] == nil && CivilDate(iso: $0["entryDate"]!)! <= world.days[index - 1]
                        && !transferred.contains($0["ssid"]!)
                }.sorted { $0.recordId < $1.recordId }
                for enrollment in leaving.shuffled(using: &random).prefix(Int.random(in: 1...2, using: &random)) {
                    records.append(factory.exit(enrollment, on: world.days[index - 1], sentOn: day))
                }
            }
            guard !records.isEmpty else { continue }
            let clean = records
            for _ in 0..<mistakeCount(records.count) {
                records.append(factory.enrollmentMistake(from: clean.filter { $0["action"] == "add" }.randomElement(using: &random) ?? clean[0]))
            }
            files.append(makeFile(type: .enrollment, sender: school.orgId, binding: nil, records: records, at: moment(day, 7, 0)))
        }
        drop(files, at: moment(day, 7, 0))
        followUp(extra: [], at: moment(day, 7, 30))
    }

    /// A student who moved to another high school: the new school adds the student's enrollments on file (same
    /// natural keys), which "takes the student over" (ENR-07); from then on the student's attendance goes to the new
    /// school only. Students with enrollments still to come from their old school are left alone.
    private mutating func transfer(day: CivilDate) -> [ModelRecord] {
        let later = Set(world.plannedEnrollments.filter { $0.sendDay >= day }.map(\.student.ssid))
        let bySsid = Dictionary(grouping: model.roster.values.filter { $0["exitDate"] == nil }, by: { $0["ssid"]! })
        let candidates = bySsid.filter { !later.contains($0.key) && Set($0.value.map { $0["homeSchoolOrgId"]! }).count == 1 }.keys.sorted()
        guard let ssid = candidates.randomElement(using: &random) else { return [] }
        let enrollments = bySsid[ssid]!.sorted { $0.naturalKey < $1.naturalKey }
        let newSchool = factory.other(than: enrollments[0]["homeSchoolOrgId"]!, classification: ["A1"])
        return enrollments.map { onFile in
            var record = onFile
            record["recordId"] = factory.uuid()
            record["action"] = "add"
            record["homeSchoolOrgId"] = newSchool
            record["lastModified"] = LocalMoment(date: day, hour: 6, minute: 50, timeZone: world.participant(newSchool)!.timeZone).isoWithOffset
            record.spellings = [:]
            return record
        }
    }

    // MARK: - Centers

    /// 16:30: each center's attendance, grades and sometimes a waiver request; 17:15 corrections and the follow-up
    /// wave; 23:30 Central time, late corrections from Central centers.
    private mutating func centerAfternoon(day: CivilDate, index: Int) {
        var files: [DropFile] = []
        let at = moment(day, 16, 30)
        for center in world.centers {
            files += attendanceFiles(center: center, day: day, at: at)
            if random.chance(0.6), let grades = gradeFile(center: center, day: day, first: index == 0, at: at) { files.append(grades) }
            if !askedWaiver.contains(center.orgId), random.chance(0.3) {
                askedWaiver.insert(center.orgId)
                files.append(makeFile(type: .waiver, sender: center.orgId, binding: nil, records: [factory.waiver(center: center, day: day)], at: at))
            }
        }
        drop(files, at: at)
        // Later that afternoon: unknown absences resolved, and some corrections that must be refused.
        let later = moment(day, 17, 15)
        var corrections: [DropFile] = []
        for center in world.centers {
            var records: [ModelRecord] = []
            let today: [ModelRecord] = model.attendance.values.map(\.record).filter { record in
                record["techCenterOrgId"] == center.orgId && record["attendanceDate"] == day.iso
            }.sorted { $0.recordId < $1.recordId }
            for record in today where record["excuseStatus"] == "UK" && random.chance(0.5) {
                records.append(factory.resolution(of: record, center: center, day: day))
            }
            if let present = today.filter({ $0["attendanceStatus"] == "P" }).randomElement(using: &random), random.chance(0.2) {
                // A record sent by mistake, taken back.
                var delete = factory.resolution(of: present, center: center, day: day)
                delete["action"] = "delete"
                delete["excuseStatus"] = nil
                delete["localAttendanceCode"] = present["localAttendanceCode"]
                records.append(delete)
            }
            if let any = today.randomElement(using: &random), random.chance(0.4) {
                // An update older than the record on file is stale (ATT-07).
                var stale = factory.resolution(of: any, center: center, day: day)
                let old = LocalMoment(date: day, hour: 8, minute: 0, timeZone: center.timeZone).isoWithOffset
                stale["recordedDateTime"] = old
                stale["lastModified"] = old
                stale.plantedRule = "ATT-07"
                records.append(stale)
                // An update of attendance never sent (ATT-07).
                var unsent = factory.resolution(of: any, center: center, day: day)
                unsent["ssid"] = factory.strangerSsid()
                unsent.plantedRule = "ATT-07"
                records.append(unsent)
            }
            if !records.isEmpty {
                corrections.append(makeFile(type: .attendance, sender: center.orgId, binding: nil, records: records, at: later))
            }
        }
        followUp(extra: corrections, at: later)
        // 23:30 in Chicago, already tomorrow in Kentucky's Eastern time: a Central center's late corrections, and a
        // record dated tomorrow, which is still the future on the center's own clock (ATT-03).
        let late = LocalMoment(date: day, hour: 23, minute: 30, timeZone: "America/Chicago")
        var lateFiles: [DropFile] = []
        for center in world.centers where center.timeZone == "America/Chicago" && random.chance(0.5) {
            let today = model.attendance.values.map(\.record).filter { $0["techCenterOrgId"] == center.orgId && $0["attendanceDate"] == day.iso }
                .sorted { $0.recordId < $1.recordId }
            var records: [ModelRecord] = []
            for record in today where record["excuseStatus"] == "UK" && random.chance(0.5) {
                var resolved = factory.resolution(of: record, center: center, day: day)
                let recorded = LocalMoment(date: day, hour: 23, minute: 10, timeZone: center.timeZone).isoWithOffset
                resolved["recordedDateTime"] = recorded
                resolved["lastModified"] = recorded
                records.append(resolved)
            }
            if let any = today.randomElement(using: &random) {
                var tomorrow = factory.copy(any, planting: "ATT-03")
                tomorrow["action"] = "add"
                tomorrow["attendanceDate"] = day.adding(1).iso
                records.append(tomorrow)
            }
            if !records.isEmpty { lateFiles.append(makeFile(type: .attendance, sender: center.orgId, binding: nil, records: records, at: late)) }
        }
        drop(lateFiles, at: late)
    }

    /// A center's attendance of the day: every student enrolled that day, students of several high schools in one
    /// file (sometimes split in two files, one per binding), with planted mistakes.
    private mutating func attendanceFiles(center: Participant, day: CivilDate, at: LocalMoment) -> [DropFile] {
        let active = model.roster.values.filter { enrollment in
            guard enrollment["techCenterOrgId"] == center.orgId else { return false }
            let exit = enrollment["exitDate"].flatMap { CivilDate(iso: $0) } ?? CivilDate(9999, 1, 1)
            return CivilDate(iso: enrollment["entryDate"]!)! <= day && day <= exit
        }.sorted { $0.naturalKey < $1.naturalKey }
        guard !active.isEmpty else { return [] }
        let byPeriod = random.chance(0.5)
        var records: [ModelRecord] = []
        if byPeriod {
            for enrollment in active {
                let section = world.section(center: center.orgId, course: enrollment["ktsCourseNumber"]!, section: enrollment["sectionNumber"]!)!
                records.append(factory.attendance(ssid: enrollment["ssid"]!, home: enrollment["homeSchoolOrgId"]!, center: center, day: day,
                                                  section: section, minute: records.count / 6))
            }
        } else {
            var seen = Set<String>()
            for enrollment in active where seen.insert(enrollment["ssid"]!).inserted {
                records.append(factory.attendance(ssid: enrollment["ssid"]!, home: enrollment["homeSchoolOrgId"]!, center: center, day: day,
                                                  section: nil, minute: records.count / 6))
            }
        }
        // Planted mistakes, each a copy of a clean record, kept in the same file as (and after) the record it copies.
        var plants: [(original: Int, record: ModelRecord)] = []
        for _ in 0..<mistakeCount(records.count) {
            let original = Int.random(in: 0..<records.count, using: &random)
            plants.append((original, factory.attendanceMistake(from: records[original], center: center, day: day)))
        }
        // Yesterday's unknown absences, some resolved today by an update (after yesterday's sync went out).
        let yesterday = model.attendance.values.map(\.record).filter { record in
            record["techCenterOrgId"] == center.orgId && record["excuseStatus"] == "UK" && record["attendanceDate"] != day.iso
        }.sorted { $0.recordId < $1.recordId }
        for record in yesterday where random.chance(0.4) {
            // Not for a student who changed schools since: the old school's record is never re-routed (ATT-02).
            let resolved = factory.resolution(of: record, center: center, day: day)
            if model.attendanceRuleCodes(resolved, sender: center.orgId, now: at.instant).isEmpty { records.append(resolved) }
        }
        // A student who left a section still marked present there (ATT-01), when no other enrollment covers the day.
        let exited = model.roster.values.filter { enrollment in
            guard enrollment["techCenterOrgId"] == center.orgId, let exit = enrollment["exitDate"].flatMap({ CivilDate(iso: $0) }) else { return false }
            return exit < day && exit >= CivilDate(2026, 1, 1)
        }.sorted { $0.naturalKey < $1.naturalKey }
        if let gone = exited.randomElement(using: &random) {
            let section = world.section(center: center.orgId, course: gone["ktsCourseNumber"]!, section: gone["sectionNumber"]!)!
            var record = factory.attendance(ssid: gone["ssid"]!, home: gone["homeSchoolOrgId"]!, center: center, day: day,
                                            section: byPeriod ? section : nil, minute: 70)
            record.plantedRule = "ATT-01"
            if model.attendanceRuleCodes(record, sender: center.orgId, now: at.instant).contains("ATT-01") { plants.append((records.count - 1, record)) }
        }
        // One file most days; sometimes two, one in each binding, students split between them.
        let cut = records.count > 4 && random.chance(0.3) ? records.count / 2 : records.count
        let first = Array(records[..<cut]) + plants.filter { $0.original < cut }.map(\.record)
        let second = Array(records[cut...]) + plants.filter { $0.original >= cut }.map(\.record)
        if second.isEmpty {
            return [makeFile(type: .attendance, sender: center.orgId, binding: nil, records: first, at: at)]
        }
        return [makeFile(type: .attendance, sender: center.orgId, binding: .xml, records: first, at: at),
                makeFile(type: .attendance, sender: center.orgId, binding: .csv, records: second, at: at)]
    }

    /// A center's grades of the day: progress grades (updates when a grade of the same key is on file), and on the
    /// first day the finals of the first semester and second-quarter grades.
    private mutating func gradeFile(center: Participant, day: CivilDate, first: Bool, at: LocalMoment) -> DropFile? {
        var records: [ModelRecord] = []
        let enrollments = model.roster.values.filter { $0["techCenterOrgId"] == center.orgId }.sorted { $0.naturalKey < $1.naturalKey }
        for enrollment in enrollments {
            let section = world.section(center: center.orgId, course: enrollment["ktsCourseNumber"]!, section: enrollment["sectionNumber"]!)!
            let entry = CivilDate(iso: enrollment["entryDate"]!)!
            let exit = enrollment["exitDate"].flatMap { CivilDate(iso: $0) }
            let q3 = (CivilDate(2026, 1, 5), CivilDate(2026, 3, 13)), q2 = (CivilDate(2025, 10, 13), CivilDate(2025, 12, 19))
            if section.termCode != "S1", entry <= day, exit.map({ $0 >= q3.0 }) ?? true, random.chance(0.5) {
                let key = [enrollment["ssid"]!, center.orgId, section.course, section.section, "PROGRESS", "Q3"].joined(separator: "|")
                records.append(factory.grade(of: enrollment, section: section, type: "PROGRESS", period: "Q3", begin: q3.0, end: q3.1, asOf: day,
                                             action: model.grades[key] == nil ? "add" : "update", center: center, day: day))
            }
            if first, section.termCode == "S1", random.chance(0.7) {
                records.append(factory.grade(of: enrollment, section: section, type: random.chance(0.8) ? "FINAL" : "SEMESTER", period: "S1",
                                             begin: section.termBegin, end: section.termEnd, asOf: section.termEnd, action: "add", center: center, day: day))
            }
            if first, section.termCode == "FY", entry <= q2.1, random.chance(0.3) {
                records.append(factory.grade(of: enrollment, section: section, type: "GRADING_PERIOD", period: "Q2", begin: q2.0, end: q2.1,
                                             asOf: q2.1, action: "add", center: center, day: day))
            }
        }
        // A grade posted on an earlier night, taken back: posted again as a delete.
        let usedKeys = Set(records.map(\.naturalKey))
        let earlier = model.grades.values.filter { grade in
            grade["techCenterOrgId"] == center.orgId && !usedKeys.contains(grade.naturalKey)
                && (parseInstant(grade["postedDateTime"]!).map { $0 < LocalMoment(date: day, hour: 0, minute: 0, timeZone: center.timeZone).instant } ?? false)
        }.sorted { $0.recordId < $1.recordId }
        if let taken = earlier.randomElement(using: &random), random.chance(0.3) {
            var delete = taken
            delete["recordId"] = factory.uuid()
            delete["action"] = "delete"
            delete.spellings = [:]
            records.append(delete)
        }
        guard !records.isEmpty else { return nil }
        let clean = records.filter { $0["action"] == "add" }
        for _ in 0..<(clean.isEmpty ? 0 : mistakeCount(clean.count)) {
            records.append(factory.gradeMistake(from: clean.randomElement(using: &random)!, center: center, day: day))
        }
        return makeFile(type: .grade, sender: center.orgId, binding: nil, records: records, at: at)
    }

    // MARK: - Files

    /// How many mistakes to plant in a file of `count` clean records: none in about half the files.
    private mutating func mistakeCount(_ count: Int) -> Int {
        guard count > 0, random.chance(0.5) else { return 0 }
        return Int.random(in: 1...max(1, min(4, count / 4)), using: &random)
    }

    /// `KTSX_<TYPE>_<orgId>_<yyyymmddThhmmss>_<seq>.<ext>`, as the specification recommends.
    private mutating func fileName(type: RecordType, sender: String, at moment: LocalMoment, binding: Binding) -> String {
        sequence[sender, default: 0] += 1
        let local = String(format: "%02d%02d%02d", moment.hour, moment.minute, moment.second)
        return String(format: "KTSX_%@_%@_%@T%@_%04d.%@", type.rawValue, sender, moment.date.compact, local, sequence[sender]!, binding.fileExtension)
    }

    /// Renders a file: a random binding unless given, tolerated spellings in its records, and (when allowed)
    /// sometimes a whole-file mistake.
    private mutating func makeFile(type: RecordType, sender: String, binding: Binding?, records: [ModelRecord], at moment: LocalMoment,
                                   allowFileMistake: Bool = true, respell: Bool = true) -> DropFile {
        let binding = binding ?? (random.chance(0.5) ? .xml : .csv)
        var records = records
        if respell { for index in records.indices where records[index].plantedRule == nil { factory.respell(&records[index], binding: binding) } }
        let chosen: FileMistake?
        if allowFileMistake, random.chance(0.12) {
            let options: [FileMistake] = binding == .xml ? [.schemaInvalid, .senderMismatch, .badEncoding, .recordCountMismatch] : [.schemaInvalid, .badEncoding]
            chosen = options.randomElement(using: &random)!
        } else {
            chosen = nil
        }
        let headerSender = chosen == .senderMismatch ? factory.other(than: sender, classification: ["A1", "A2", "C2"]) : sender
        let created = LocalMoment(date: moment.date, hour: moment.hour, minute: moment.minute, timeZone: world.participant(sender)!.timeZone).isoWithOffset
        let bytes = DropFileRenderer.render(
            type: type, binding: binding, records: records, headerSender: headerSender,
            schoolYear: world.schoolYear, created: created, mistake: chosen, byteOrderMark: random.chance(0.15), crlf: random.chance(0.3),
            random: &random)
        return DropFile(name: fileName(type: type, sender: sender, at: moment, binding: binding), sender: sender, type: type, binding: binding,
                        records: records, mistake: chosen, duplicateOf: nil, bytes: bytes)
    }
}
