import ExchangeCore
import ExchangeRules
import ExchangeRuntime
import ExchangeSchemas
import Foundation
import Hummingbird
import HummingbirdAuth
import Logging

/// The limits of a file uploaded to "check a file before sending".
enum FileUpload {
    /// The largest file judged on the page (larger ones: `ktsx validate`, or send it).
    static let maxBytes = 10 << 20
    /// Checks an organisation may run in `window`.
    static let checksPerWindow = 60
    /// The window the checks are counted in.
    static let window: Duration = .seconds(3600)
}

/// Judges an uploaded file as the exchange would if `orgId` sent it now (`FilePreCheck`), keeping nothing.
public typealias UploadedFileCheck = @Sendable (_ bytes: [UInt8], _ displayName: String, _ orgId: String) async throws -> PreCheckedFile

/// Judges a receipt's file again for support, with the reason recorded (`FileProcessor.reprocess`).
public typealias ReprocessFile = @Sendable (_ receiptId: String, _ reason: String, _ logger: Logger) async throws -> Receipt

/// A participant's pages, for its clerks under `/my` and for support under `/participants/ORGID` (the
/// participant's activity as the participant sees it, for the phone call): its home, its submissions
/// with each error beside its row, its `outbound/` folder with downloads, and a check of a file before
/// sending. Every page is answered through a `ParticipantDesk` of the one organisation.
extension ReviewSite {
    /// Where an organisation's pages are, and who looks at them.
    struct Scope {
        /// What the organisation may see.
        var desk: ParticipantDesk
        /// The pages' path prefix: `/my` or `/participants/ORGID`.
        var base: String
        /// Whether support is looking (the pages are read-only then, but for a pre-check).
        var bySupport: Bool
    }

    /// The pages' paths under a prefix, with their handlers.
    func addOrganisationPages(
        to router: Router<ReviewContext>, get: (RouterPath, @escaping @Sendable (Request, ReviewContext) async throws -> Response) -> Void
    ) {
        for (prefix, bySupport) in [("/my", false), ("/participants/{org}", true)] {
            func scoped(_ handler: @escaping @Sendable (Request, ReviewContext, Scope) async throws -> Response)
                -> @Sendable (Request, ReviewContext) async throws -> Response
            {
                { request, context in
                    guard let scope = self.scope(context, bySupport: bySupport) else { return ReviewGate.notFound() }
                    return try await handler(request, context, scope)
                }
            }
            get(RouterPath(prefix), scoped { _, context, scope in try await self.home(context: context, scope: scope) })
            get(RouterPath(prefix + "/submissions"), scoped { request, context, scope in try await self.ownSubmissions(request: request, context: context, scope: scope) })
            get(RouterPath(prefix + "/receipts/{id}"), scoped { _, context, scope in try await self.ownReceipt(context: context, scope: scope) })
            get(RouterPath(prefix + "/outbound"), scoped { _, context, scope in try await self.outbound(context: context, scope: scope) })
            get(RouterPath(prefix + "/outbound/{name}"), scoped { _, context, scope in try await self.download(context: context, scope: scope) })
            router.post(RouterPath(prefix + "/outbound/{name}/taken"), use: scoped { _, context, scope in try await self.take(context: context, scope: scope) })
            get(RouterPath(prefix + "/attendance"), scoped { request, context, scope in try await self.attendance(request: request, context: context, scope: scope) })
            get(RouterPath(prefix + "/attendance.csv"), scoped { request, context, scope in try await self.attendanceExport(request: request, context: context, scope: scope) })
            get(RouterPath(prefix + "/roster"), scoped { request, context, scope in try await self.roster(request: request, context: context, scope: scope) })
            get(RouterPath(prefix + "/check"), scoped { _, context, scope in self.checkPage(context: context, scope: scope, values: [:]) })
            router.post(RouterPath(prefix + "/check"), use: scoped { request, context, scope in try await self.check(request: request, context: context, scope: scope) })
        }
    }

    /// The organisation a request may see: the clerk's own under `/my`, the one in the path for support.
    /// Nil (not found) for anyone else, or an organisation that is not a participant.
    private func scope(_ context: ReviewContext, bySupport: Bool) -> Scope? {
        guard let session = context.sessions.session else { return nil }
        let orgId: String
        if bySupport {
            guard session.orgId == nil, let named = context.parameters.get("org") else { return nil }
            orgId = named
        } else {
            guard let own = session.orgId else { return nil }
            orgId = own
        }
        guard let desk = ParticipantDesk(orgId: orgId, desk: self.desk) else { return nil }
        return Scope(desk: desk, base: bySupport ? "/participants/\(orgId)" : "/my", bySupport: bySupport)
    }

    /// A page of the organisation's: the layout with the organisation's navigation.
    private func organisationPage(
        _ template: String, title: String, context: ReviewContext, scope: Scope, tab: String, values: [String: Any] = [:],
        status: HTTPResponse.Status = .ok
    ) -> Response {
        var values = values
        values["base"] = scope.base
        values["organisation"] = [
            "orgId": scope.desk.orgId, "name": scope.desk.participant.name, "base": scope.base, "bySupport": scope.bySupport,
            "isCenter": scope.desk.isTechnicalCenter,
        ] as [String: Any]
        return page(template, title: title, context: context, tab: tab, values: values, status: status)
    }

    private func organisationMessage(_ text: String, context: ReviewContext, scope: Scope, status: HTTPResponse.Status, back: String)
        -> Response
    {
        organisationPage(
            "message", title: "Not possible", context: context, scope: scope, tab: "", values: ["message": text, "back": scope.base + back],
            status: status)
    }

    /// A receipt as its sender's pages show it, with links under `base`.
    private func ownReceiptView(_ receipt: Receipt, scope: Scope) -> [String: Any] {
        var view = SupportViews.receipt(receipt, reference: scope.desk.referenceData)
        view["href"] = "\(scope.base)/receipts/\(ReviewGate.percentEncoded(receipt.id))"
        return view
    }

    // MARK: Home

    private func home(context: ReviewContext, scope: Scope) async throws -> Response {
        let desk = scope.desk
        // The last 30 days (files sent, what waits) are the charts' figures, read once.
        let activity = try await self.desk.activity(of: desk.orgId)
        let latest = try await desk.submissions(SubmissionFilter(limit: 10))
        let values: [String: Any] = [
            "receipts": latest.map { ownReceiptView($0, scope: scope) },
            "month": [
                "files": activity.days.reduce(0) { $0 + $1.files }, "rejected": activity.days.reduce(0) { $0 + $1.rejected },
                "partly": activity.days.reduce(0) { $0 + $1.partly },
            ],
            "waiting": activity.waitingHours.count, "overdue": activity.overdue == 0 ? nil : activity.overdue,
            "threshold": desk.referenceData.policy.pickupThresholdHours, "charts": Charts.activity(activity, whose: "you sent"),
        ]
        return organisationPage("organisationHome", title: "\(desk.participant.name)", context: context, scope: scope, tab: "Home", values: values)
    }

    // MARK: Submissions

    private func ownSubmissions(request: Request, context: ReviewContext, scope: Scope) async throws -> Response {
        let (filter, form) = SubmissionsForm.read(request, participants: [scope.desk.orgId])
        var values = form.values(action: "\(scope.base)/submissions")
        var receipts: [Receipt] = []
        do {
            receipts = try await scope.desk.submissions(filter)
        } catch let error as SupportError {
            values["problem"] = error.message
        }
        values.merge(SubmissionsForm.list(receipts, limit: filter.limit) { ownReceiptView($0, scope: scope) }) { $1 }
        return organisationPage("submissions", title: "Files you sent", context: context, scope: scope, tab: "Submissions", values: values)
    }

    private func ownReceipt(context: ReviewContext, scope: Scope) async throws -> Response {
        let story: ReceiptStory
        do {
            story = try await scope.desk.story(of: context.parameters.get("id") ?? "")
        } catch let error as SupportError {
            return organisationMessage(error.message, context: context, scope: scope, status: .notFound, back: "/submissions")
        }
        let reference = scope.desk.referenceData
        var receipt = SupportViews.story(story, reference: reference)
        receipt["href"] = "\(scope.base)/receipts/\(ReviewGate.percentEncoded(story.receipt.id))"
        for key in ["duplicateOf", "reprocessOf"] {
            if let id = receipt[key] as? String { receipt[key + "Href"] = "\(scope.base)/receipts/\(ReviewGate.percentEncoded(id))" }
        }
        var values: [String: Any] = ["receipt": receipt]
        let desk = scope.desk
        let table = await errorTable(issues: story.issues, binding: story.receipt.binding, errorCount: story.receipt.errorCount) { wanted in
            await self.onOriginalsThread { desk.originalLines(of: story.receipt, wanted: wanted) }
        }
        values.merge(table) { $1 }
        return organisationPage("organisationReceipt", title: story.receipt.originalName, context: context, scope: scope, tab: "Submissions", values: values)
    }

    // MARK: Outbound

    private func outbound(context: ReviewContext, scope: Scope) async throws -> Response {
        let folder = try await scope.desk.outbound()
        let reference = scope.desk.referenceData
        func view(_ delivery: Delivery) -> [String: Any] {
            var view = SupportViews.delivery(delivery, reference: reference, hoursWaiting: delivery.hoursWaiting(at: folder.now))
            view["href"] = "\(scope.base)/outbound/\(ReviewGate.percentEncoded(delivery.fileName))"
            view["overdue"] = delivery.hasWaited(hours: folder.pickupThresholdHours, at: folder.now)
            return view
        }
        var values: [String: Any] = [
            "waiting": folder.waiting.map(view), "taken": folder.taken.map(view), "threshold": folder.pickupThresholdHours,
            "takenDays": folder.takenWithinDays, "mayTake": !scope.bySupport,
        ]
        values["csrf"] = context.sessions.session?.csrf
        return organisationPage("organisationOutbound", title: "Your outbound folder", context: context, scope: scope, tab: "Outbound", values: values)
    }

    private func download(context: ReviewContext, scope: Scope) async throws -> Response {
        let name = context.parameters.get("name") ?? ""
        guard transfers.enter(client: context.client) else {
            var busy = organisationMessage(
                "Too many files are being downloaded right now. Try again in a minute.", context: context, scope: scope, status: .serviceUnavailable,
                back: "/outbound")
            busy.headers[.retryAfter] = "60"
            return busy
        }
        defer { transfers.leave(client: context.client) }
        let bytes: [UInt8]
        do {
            bytes = try await scope.desk.outboundFile(named: name)
        } catch let error as SupportError {
            return organisationMessage(error.message, context: context, scope: scope, status: error.code == .tooLargeForPage ? .contentTooLarge : .notFound, back: "/outbound")
        }
        logger.info(
            "review page: outbound file downloaded",
            metadata: ["exchange.user": "\(context.sessions.session?.user ?? "")", "exchange.participant": "\(scope.desk.orgId)", "exchange.bytes": "\(bytes.count)"])
        // Our own names (letters, digits, `_`, `.`, `-`): safe in the header as they are.
        let type = name.hasSuffix(".csv") ? "text/csv; charset=utf-8" : name.hasSuffix(".xml") ? "application/xml" : "application/octet-stream"
        return Response(
            status: .ok,
            headers: [.contentType: type, .contentDisposition: "attachment; filename=\"\(name.filter { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) })\""],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    private func take(context: ReviewContext, scope: Scope) async throws -> Response {
        // Taking a file is the participant's to say; support does not take files for it.
        guard !scope.bySupport else {
            return organisationMessage("Only the participant's own clerks can take a file.", context: context, scope: scope, status: .forbidden, back: "/outbound")
        }
        do {
            try await scope.desk.take(named: context.parameters.get("name") ?? "")
        } catch let error as SupportError {
            return organisationMessage(error.message, context: context, scope: scope, status: .notFound, back: "/outbound")
        }
        logger.info(
            "review page: outbound file taken",
            metadata: ["exchange.user": "\(context.sessions.session?.user ?? "")", "exchange.participant": "\(scope.desk.orgId)"])
        return .redirect(to: "\(scope.base)/outbound")
    }

    // MARK: Reports

    /// The date range a report asks for (`from`, `to`): this week so far by default, at most
    /// `ParticipantDesk.maxReportDays` days; or what is wrong with it.
    private func reportRange(_ request: Request, scope: Scope) -> Result<(from: LocalDate, to: LocalDate), SupportError> {
        let parameters = request.uri.queryParameters
        let today = scope.desk.today
        func date(_ name: String, default value: LocalDate) -> LocalDate? {
            guard let text = parameters[name[...]].map(String.init), !text.isEmpty else { return value }
            return LocalDate(text)
        }
        let monday = today.adding(days: 1 - today.isoWeekday)
        guard let from = date("from", default: monday), let to = date("to", default: today) else {
            return .failure(SupportError(.badFilter, "Give the dates as YYYY-MM-DD, for example \(today)."))
        }
        guard from <= to else { return .failure(SupportError(.badFilter, "The first day \(from) is after the last day \(to).")) }
        guard to.dayNumber - from.dayNumber < Int64(ParticipantDesk.maxReportDays) else {
            return .failure(SupportError(.badFilter, "Choose at most \(ParticipantDesk.maxReportDays) days at a time."))
        }
        return .success((from, to))
    }

    private func attendance(request: Request, context: ReviewContext, scope: Scope) async throws -> Response {
        // A center has a roster; the attendance report is a high school's.
        guard !scope.desk.isTechnicalCenter else { return ReviewGate.notFound() }
        let bySection = request.uri.queryParameters["view"] == "section"
        var values: [String: Any] = ["bySection": bySection]
        let range: (from: LocalDate, to: LocalDate)
        switch reportRange(request, scope: scope) {
        case .failure(let error):
            values["problem"] = error.message
            let today = scope.desk.today
            range = (today, today)
        case .success(let asked):
            range = asked
        }
        values["from"] = range.from.description
        values["to"] = range.to.description
        let reference = scope.desk.referenceData
        if values["problem"] == nil {
            let report = try await scope.desk.attendanceReport(from: range.from, through: range.to)
            func entry(_ entry: AttendanceReport.Entry, student: Bool) -> [String: Any] {
                var view: [String: Any] = [
                    "date": entry.date, "center": entry.centerOrgId, "centerName": reference.participants[entry.centerOrgId]?.name ?? "",
                    "course": entry.course, "section": entry.section, "period": entry.period, "status": entry.status, "excuse": entry.excuse,
                    "minutes": entry.absentMinutes, "arrival": entry.arrivalTime, "departure": entry.departureTime,
                    "unknown": entry.unknown == .open, "resolved": entry.unknown == .resolved,
                ]
                if student {
                    let named = report.student(of: entry)
                    view["ssid"] = entry.ssid
                    view["studentName"] = [named.lastName, named.firstName].filter { !$0.isEmpty }.joined(separator: ", ")
                }
                return view
            }
            func totals(_ totals: AttendanceReport.Totals) -> [String: Any] {
                [
                    "present": totals.present, "absent": totals.absent, "tardy": totals.tardy, "early": totals.earlyDeparture,
                    "unknown": totals.unknown, "resolved": totals.resolved,
                ]
            }
            values["students"] = report.byStudent.map { group -> [String: Any] in
                [
                    "ssid": group.student.ssid, "name": [group.student.lastName, group.student.firstName].filter { !$0.isEmpty }.joined(separator: ", "),
                    "localNumber": group.student.localStudentNumber.isEmpty ? nil : group.student.localStudentNumber,
                    "entries": group.entries.map { entry($0, student: false) },
                    "totals": totals(group.totals),
                ]
            }
            values["sections"] = report.bySection.map { group -> [String: Any] in
                [
                    "center": group.centerOrgId, "centerName": reference.participants[group.centerOrgId]?.name ?? "", "course": group.course,
                    "section": group.section, "wholeDay": group.course.isEmpty && group.section.isEmpty,
                    "entries": group.entries.map { entry($0, student: true) }, "totals": totals(group.totals),
                ]
            }
            values["totals"] = totals(report.totals)
            values["count"] = report.entries.count
            let query = "from=\(range.from)&to=\(range.to)"
            values["exportHref"] = "\(scope.base)/attendance.csv?\(query)"
            values["studentHref"] = "\(scope.base)/attendance?\(query)"
            values["sectionHref"] = "\(scope.base)/attendance?\(query)&view=section"
        }
        return organisationPage("organisationAttendance", title: "Attendance at the technical centers", context: context, scope: scope, tab: "Attendance", values: values)
    }

    private func attendanceExport(request: Request, context: ReviewContext, scope: Scope) async throws -> Response {
        guard !scope.desk.isTechnicalCenter else { return ReviewGate.notFound() }
        guard case .success(let range) = reportRange(request, scope: scope) else {
            return organisationMessage("Give the dates as YYYY-MM-DD, at most \(ParticipantDesk.maxReportDays) days.", context: context, scope: scope, status: .badRequest, back: "/attendance")
        }
        let report = try await scope.desk.attendanceReport(from: range.from, through: range.to)
        logger.info(
            "review page: attendance exported",
            metadata: ["exchange.user": "\(context.sessions.session?.user ?? "")", "exchange.participant": "\(scope.desk.orgId)", "exchange.records": "\(report.entries.count)"])
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/csv; charset=utf-8",
                .contentDisposition: "attachment; filename=\"attendance_\(scope.desk.orgId)_\(range.from)_\(range.to).csv\"",
            ],
            body: .init(byteBuffer: ByteBuffer(string: report.csv())))
    }

    private func roster(request: Request, context: ReviewContext, scope: Scope) async throws -> Response {
        guard scope.desk.isTechnicalCenter else { return ReviewGate.notFound() }
        var values: [String: Any] = [:]
        let today = scope.desk.today
        var date = today
        if let text = request.uri.queryParameters["date"].map(String.init), !text.isEmpty {
            if let asked = LocalDate(text) { date = asked } else { values["problem"] = "Give the day as YYYY-MM-DD, for example \(today)." }
        }
        let report = try await scope.desk.roster(on: date)
        values["date"] = date.description
        values["previous"] = "\(scope.base)/roster?date=\(date.adding(days: -1))"
        values["next"] = "\(scope.base)/roster?date=\(date.adding(days: 1))"
        values["instructional"] = report.instructional
        values["missing"] = report.missing
        values["sections"] = report.sections.map { section -> [String: Any] in
            [
                "course": section.course, "section": section.section, "count": section.students.count,
                "missing": report.instructional ? section.missing : 0,
                "students": section.students.map { student -> [String: Any] in
                    [
                        "ssid": student.ssid, "name": [student.lastName, student.firstName].filter { !$0.isEmpty }.joined(separator: ", "),
                        "homeSchool": student.homeSchoolOrgId, "grade": student.gradeLevel, "statuses": student.statuses.joined(separator: " "),
                        "missing": report.instructional && student.statuses.isEmpty,
                    ]
                },
            ]
        }
        return organisationPage("organisationRoster", title: "Roster and attendance", context: context, scope: scope, tab: "Roster", values: values)
    }

    // MARK: Check a file before sending

    private func checkPage(context: ReviewContext, scope: Scope, values: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        var values = values
        values["csrf"] = context.sessions.session?.csrf
        values["maxMegabytes"] = FileUpload.maxBytes >> 20
        values["available"] = checkFile != nil
        return organisationPage("organisationCheck", title: "Check a file before sending", context: context, scope: scope, tab: "Check", values: values, status: status)
    }

    private func check(request: Request, context: ReviewContext, scope: Scope) async throws -> Response {
        guard let checkFile else { return checkPage(context: context, scope: scope, values: [:], status: .serviceUnavailable) }
        var request = request
        let body = try await request.collectBody(upTo: FileUpload.maxBytes + ReviewGate.maxFormBytes)
        let form = MultipartForm.boundary(contentType: request.headers[.contentType] ?? "").flatMap { MultipartForm(body: Array(buffer: body), boundary: $0) }
        guard let file = form?.file("file"), let fileName = file.fileName, !fileName.isEmpty else {
            return checkPage(context: context, scope: scope, values: ["error": "Choose a file to check."], status: .badRequest)
        }
        guard file.bytes.count <= FileUpload.maxBytes else {
            return checkPage(
                context: context, scope: scope,
                values: ["error": "The file is larger than \(FileUpload.maxBytes >> 20) MB. Check it with `ktsx validate`, or send it: the exchange takes files up to its own limit."],
                status: .contentTooLarge)
        }
        let orgId = scope.desk.orgId
        guard checkThrottle.attempt(orgId) != nil else {
            return checkPage(
                context: context, scope: scope, values: ["error": "Your organisation has checked \(FileUpload.checksPerWindow) files in the last hour. Try again later."],
                status: .tooManyRequests)
        }
        guard fileChecks.enter(client: context.client) else {
            var response = checkPage(
                context: context, scope: scope, values: ["error": "Too many files are being checked right now. Try again in a minute."],
                status: .serviceUnavailable)
            response.headers[.retryAfter] = "60"
            return response
        }
        defer { fileChecks.leave(client: context.client) }
        let bytes = Array(file.bytes)
        let checked: PreCheckedFile
        do {
            checked = try await checkFile(bytes, fileName, orgId)
        } catch {
            // What went wrong is for the log (no content of the file); the clerk is told it was not checked.
            logger.error("review page: a pre-check failed", metadata: ["exchange.participant": "\(orgId)", "exchange.error": "\(error)"])
            return checkPage(context: context, scope: scope, values: ["error": "The file could not be checked right now. Try again later."], status: .serviceUnavailable)
        }
        logger.info(
            "review page: file pre-checked",
            metadata: [
                "exchange.user": "\(context.sessions.session?.user ?? "")", "exchange.participant": "\(orgId)", "exchange.bytes": "\(bytes.count)",
                "exchange.outcome": "\(checked.verdict.outcome.rawValue)", "exchange.errors": "\(checked.verdict.errorCount)",
            ])
        let report = checked.judgedReport
        var result: [String: Any] = [
            "file": fileName, "outcome": checked.verdict.outcome.rawValue, "rulesChecked": checked.verdict.rulesChecked,
            "accepted": checked.wouldBeAccepted,
        ]
        // (An empty text is a true value to Mustache: what is empty is left out.)
        if !checked.summary.isEmpty { result["summary"] = checked.summary }
        result["type"] = report.type.map { "\($0.code) \($0.displayName)" }
        result["binding"] = report.binding?.rawValue
        var values: [String: Any] = ["result": result]
        let table = await errorTable(issues: report.issues, binding: report.binding, errorCount: report.errorCount) { wanted in
            var reader = OriginalLineReader(wanted: wanted)
            _ = reader.consume(bytes)
            return reader.finish()
        }
        values.merge(table) { $1 }
        return checkPage(context: context, scope: scope, values: values)
    }
}
