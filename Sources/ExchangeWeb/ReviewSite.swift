import ExchangeCore
import ExchangeRules
import ExchangeRuntime
import ExchangeSchemas
import Foundation
import Hummingbird
import HummingbirdAuth
import HummingbirdCore
import Logging
import Mustache
import Prometheus
import ServiceLifecycle
import Synchronization

/// The review site served by `ktsx run`: support searches submissions, opens a rejection with each error
/// beside the offending row, sees pending pickups and quiet centers, and decides waivers; a participant's
/// clerks see their own organisation's pages (`OrganisationPages.swift`). Every page needs a login
/// (`support-users.csv`, `participant-users.csv`); `/healthz` and `/metrics` carry no student data and
/// are open. Server-rendered from Mustache templates; no JavaScript.
public struct ReviewSite: Sendable {
    let desk: SupportDesk
    let jobs: JobRunner
    let users: SupportUsers
    /// The participants' clerks.
    let clerks: ParticipantUsers
    /// Judges a file uploaded to "check a file before sending"; nil: that page says it is not available.
    let checkFile: UploadedFileCheck?
    /// Judges a receipt's file again with a reason (support's "Judge again"); nil: the page offers none.
    let reprocessFile: ReprocessFile?
    /// Why nobody can log in (the support users' file has problems), when that is so: the exchange goes on,
    /// logins are refused and `/healthz` says why.
    let loginProblem: String?
    let metrics: PrometheusCollectorRegistry
    let library: MustacheLibrary
    let throttle = AttemptThrottle()
    /// The counts `/healthz` and `/metrics` show.
    let backlog: BacklogCache
    let passwordChecks = ClientSlots()
    /// Pre-checks per organisation.
    let checkThrottle = AttemptThrottle(limit: FileUpload.checksPerWindow, window: FileUpload.window)
    /// Uploads and downloads in progress, each held in memory whole (up to `FileUpload.maxBytes` and
    /// `ParticipantDesk.outboundFile`'s limit): one per client, four in all. The gate takes a place for an
    /// upload before reading its body and keeps it while the file is judged.
    let transfers = ClientSlots(limit: 4, perClient: 1)
    /// Pre-checks judging at once: two (each takes a core while it runs; the exchange's files come first).
    let fileChecks = ClientSlots(limit: 2, perClient: 1)
    let logger: Logger
    /// How long a login lasts.
    static let sessionLifetime: Duration = .seconds(8 * 3600)
    /// Seconds an HTTP connection may stay idle before it is closed.
    static let idleTimeoutSeconds: Int64 = 30
    /// HTTP connections open at once, at most.
    static let maxConnections = 64

    /// A site over the support desk.
    /// - Parameters:
    ///   - jobs: Runs the waiver decisions made on the page.
    ///   - metrics: The registry `/metrics` shows.
    ///   - loginProblem: Why the support users could not be read, if they could not: every login is refused.
    ///   - clerks: The participants' clerks (`participant-users.csv`).
    ///   - checkFile: Judges uploads to the participants' "check a file before sending".
    public init(
        desk: SupportDesk, jobs: JobRunner, users: SupportUsers, loginProblem: String? = nil, clerks: ParticipantUsers = ParticipantUsers(),
        checkFile: UploadedFileCheck? = nil, reprocessFile: ReprocessFile? = nil, metrics: PrometheusCollectorRegistry, logger: Logger
    ) throws {
        self.desk = desk
        backlog = BacklogCache(desk: desk)
        self.jobs = jobs
        self.users = loginProblem == nil ? users : SupportUsers(hashes: [:])
        self.clerks = loginProblem == nil ? clerks : ParticipantUsers()
        self.checkFile = checkFile
        self.reprocessFile = reprocessFile
        self.loginProblem = loginProblem
        self.metrics = metrics
        self.logger = logger
        var library = MustacheLibrary()
        for (name, text) in Templates.all { try library.register(text, named: name) }
        self.library = library
    }

    /// The Hummingbird application at `address`, with its session store as a service.
    public func application(address: ReviewAddress) -> some ApplicationProtocol {
        let sessions = MemoryPersistDriver()
        // A connection left idle is closed (a header trickled byte by byte counts as idle), a request's body
        // must end within the same time, and at most `maxConnections` are open at once: slow or idle clients
        // cannot hold the page's sockets.
        return Application(
            router: router(sessions: sessions, hostNames: address.hostNames),
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [RequestDeadline(bodyTimeout: .seconds(ReviewSite.idleTimeoutSeconds))],
                    idleTimeout: .seconds(ReviewSite.idleTimeoutSeconds))),
            configuration: .init(
                address: .hostname(address.host, port: address.port), serverName: nil,
                availableConnectionsDelegate: MaximumAvailableConnections(ReviewSite.maxConnections)),
            services: [sessions], logger: logger)
    }

    /// The page as a service beside the exchange: if it cannot serve (its address is taken, say), it says
    /// so in the log and the exchange goes on without it.
    public func service(address: ReviewAddress) -> some Service {
        ReviewService(application: application(address: address), address: address, logger: logger)
    }

    /// The routes, behind the session middleware and the gate.
    /// - Parameter hostNames: The `Host` values the site answers to (nil: any).
    public func router(sessions: some PersistDriver, hostNames: Set<String>? = nil) -> Router<ReviewContext> {
        let router = Router(context: ReviewContext.self)
        router.add(
            middleware: SessionMiddleware(
                storage: sessions,
                configuration: .init(
                    sessionCookieParameters: .init(name: "ktsx_session", path: "/", sameSite: .strict),
                    defaultSessionExpiration: ReviewSite.sessionLifetime)))
        router.add(middleware: ReviewGate(hostNames: hostNames, transfers: transfers))
        // Every page answers HEAD as it answers GET (the gate leaves the body out).
        func get(_ path: RouterPath, _ handler: @escaping @Sendable (Request, ReviewContext) async throws -> Response) {
            router.get(path, use: handler)
            router.head(path, use: handler)
        }
        get("/style.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: Templates.styleSheet)))
        }
        get("/favicon.ico") { _, _ in Response(status: .noContent) }
        get("/healthz") { _, _ in try await self.health() }
        get("/metrics") { _, _ in try await self.metricsPage() }
        get("/login") { request, _ in self.loginPage(request: request, error: nil, status: .ok) }
        router.post("/login") { request, context in try await self.login(request: request, context: context) }
        router.post("/logout") { _, context in
            context.sessions.clearSession()
            return Response.redirect(to: "/login")
        }
        get("/") { _, context in Response.redirect(to: context.sessions.session?.orgId == nil ? "/submissions" : "/my") }
        get("/submissions") { request, context in try await self.submissions(request: request, context: context) }
        get("/receipts/{id}") { _, context in try await self.receipt(context: context, error: nil) }
        router.post("/receipts/{id}/reprocess") { request, context in try await self.reprocess(request: request, context: context) }
        get("/deliveries") { _, context in try await self.deliveries(context: context) }
        get("/quiet") { _, context in try await self.quiet(context: context) }
        get("/waivers") { _, context in try await self.waivers(context: context) }
        get("/waivers/{id}") { _, context in try await self.waiver(context: context, error: nil) }
        router.post("/waivers/{id}/decision") { request, context in try await self.decide(request: request, context: context) }
        get("/status") { _, context in try await self.status(context: context) }
        addOrganisationPages(to: router, get: get)
        return router
    }

    // MARK: Rendering

    func html(_ text: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// A page of the layout: the template with `values`, the user, the form token and the active tab.
    func page(
        _ template: String, title: String, context: ReviewContext, tab: String? = nil, values: [String: Any] = [:],
        status: HTTPResponse.Status = .ok
    ) -> Response {
        var values = values
        values["title"] = title
        if let session = context.sessions.session {
            values["user"] = session.user
            values["csrf"] = session.csrf
            values["clerk"] = session.orgId != nil
        }
        if let tab { values["nav" + tab] = true }
        return html(library.render(VisibleText.values(values), withTemplate: template) ?? "", status: status)
    }

    func message(_ text: String, context: ReviewContext, status: HTTPResponse.Status, back: String? = nil) -> Response {
        var values: [String: Any] = ["message": text]
        values["back"] = back
        return page("message", title: "Not possible", context: context, values: values, status: status)
    }

    // MARK: Open pages

    private func health() async throws -> Response {
        var body: [String: Any] = ["status": "ok"]
        var status = HTTPResponse.Status.ok
        switch await backlog.current() {
        case .success(let backlog):
            body["receiptsInProgress"] = backlog.receiptsInProgress
            body["waitingInInbound"] = backlog.waitingInInbound
            body["secondsSinceLastPass"] = backlog.secondsSinceLastPass
        case .failure:
            status = .serviceUnavailable
            body["status"] = "ledger-unavailable"
        }
        // The exchange runs; only the review page's logins are off.
        if loginProblem != nil { body["reviewLogins"] = "refused: \(SupportUsers.file) has problems (see the log)" }
        let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    private func metricsPage() async throws -> Response {
        // Gauges are read from the ledger and the drop tree (at most a second ago), straight into the registry.
        if case .success(let report) = await backlog.current() {
            let gauges: [(String, String, Int64)] = [
                ("ktsx_inbound_waiting_files", "Files in inbound folders not yet claimed.", Int64(report.waitingInInbound)),
                ("ktsx_receipts_in_progress", "Files claimed and not yet acknowledged.", Int64(report.receiptsInProgress)),
                ("ktsx_job_runs_in_progress", "Job runs not yet finished.", Int64(report.jobRunsInProgress)),
                ("ktsx_deliveries_waiting", "Outbound files not yet picked up.", Int64(report.deliveriesWaiting)),
                ("ktsx_deliveries_overdue", "Outbound files waiting past the pickup threshold.", Int64(report.deliveriesOverdue)),
            ] + (report.heartbeat.map { [("ktsx_service_last_pass_timestamp_seconds", "When the service last polled.", $0.time.secondsSinceEpoch)] } ?? [])
            for (name, help, value) in gauges {
                metrics.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help)).set(value)
            }
        }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: metrics.emitToBuffer())))
    }

    // MARK: Login

    private struct LoginForm: Decodable {
        var username: String?
        var password: String?
        var token: String?
        var next: String?
    }

    /// A random token: 32 bytes, URL-safe base64.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Whether `text` has the shape of `randomToken()`.
    static func isToken(_ text: String) -> Bool {
        text.utf8.count == 43 && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
    }

    /// Only a path of this site is a place to return to after login: `/` then letters, digits and URL
    /// punctuation only (no space, tab or other control character, which browsers drop from a location,
    /// no backslash), never `//`.
    static func safeNext(_ next: String?, home: String = "/submissions") -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "/-._~?=&%+:,;@"))
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), next.utf8.count <= 512,
            next.unicodeScalars.allSatisfy({ $0.isASCII && allowed.contains($0) }), !next.hasPrefix("/login")
        else { return home }
        return next
    }

    /// The login form, with a fresh token that the browser must return both in the form and in a cookie
    /// (so another site cannot log a browser in).
    private func loginPage(request: Request, error: String?, status: HTTPResponse.Status) -> Response {
        // A browser that already holds a token keeps it: two login pages open (or a page and a request for
        // an icon sent to the login page) must not make each other's form stale.
        let held = request.cookies["ktsx_login"]?.value
        let token = held.flatMap { ReviewSite.isToken($0) ? $0 : nil } ?? ReviewSite.randomToken()
        var values: [String: Any] = ["title": "Log in", "token": token, "next": ReviewSite.safeNext(request.uri.queryParameters["next"[...]].map(String.init))]
        values["error"] = error
        let cookie = Cookie(name: "ktsx_login", value: token, maxAge: 900, path: "/login", httpOnly: true, sameSite: .strict)
        return html(library.render(values, withTemplate: "login") ?? "", status: status, headers: [.setCookie: cookie.description])
    }

    private func login(request: Request, context: ReviewContext) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: ReviewGate.maxFormBytes)
        let form = (try? URLEncodedFormDecoder().decode(LoginForm.self, from: String(buffer: body))) ?? LoginForm()
        guard let token = form.token, let cookie = request.cookies["ktsx_login"]?.value, ReviewGate.constantTimeEqual(token, cookie) else {
            return loginPage(request: request, error: "The login form expired. Please try again.", status: .forbidden)
        }
        let user = form.username ?? ""
        if loginProblem != nil {
            logger.error("review page: login refused: the support users' file has problems")
            return loginPage(
                request: request, error: "Logins are switched off until the support users' file is fixed. Ask the administrator.",
                status: .serviceUnavailable)
        }
        // A place in the bounded queue of password checks first (a flood from one client holds one place,
        // a flood from many is turned away at once instead of delaying everyone's login), then an attempt
        // for the name.
        guard passwordChecks.enter(client: context.client) else {
            logger.notice("review page: login refused, the password checks are busy")
            var response = loginPage(
                request: request, error: "Too many logins are being checked right now. Try again in a minute.", status: .serviceUnavailable)
            response.headers[.retryAfter] = "60"
            return response
        }
        defer { passwordChecks.leave(client: context.client) }
        guard let attempt = throttle.attempt(user) else {
            logger.notice("review page: login refused after repeated failures")
            return loginPage(
                request: request, error: "Too many failed logins for this user name. Wait 15 minutes and try again.", status: .tooManyRequests)
        }
        guard let session = await verify(user: user, password: form.password ?? "") else {
            logger.notice("review page: failed login")
            return loginPage(request: request, error: "Wrong user name or password.", status: .unauthorized)
        }
        throttle.succeeded(user, attempt: attempt)
        context.sessions.createSession(session, expiresIn: ReviewSite.sessionLifetime)
        logger.info("review page: login", metadata: ["exchange.user": "\(user)"])
        // A clerk goes to its own pages: a place to return to elsewhere is not its to see.
        guard session.orgId != nil else { return .redirect(to: ReviewSite.safeNext(form.next)) }
        let next = ReviewSite.safeNext(form.next, home: "/my")
        return .redirect(to: ReviewGate.isOrganisationPath(String(next.prefix { $0 != "?" })) ? next : "/my")
    }

    /// Checks a password on one thread of its own: bcrypt takes a quarter of a second by design, and a
    /// flood of logins must queue there rather than take the cores the exchange works on. The session of
    /// the support person or clerk when the password is right; one bcrypt check whoever the name is.
    private func verify(user: String, password: String) async -> SiteSession? {
        let (users, clerks) = (self.users, self.clerks)
        return await withCheckedContinuation { continuation in
            ReviewSite.passwordChecks.async {
                let session: SiteSession?
                if users.contains(user) {
                    session = users.verify(user: user, password: password) ? SiteSession(user: user, csrf: ReviewSite.randomToken()) : nil
                } else {
                    let clerk = clerks.account(user)
                    session =
                        SupportUsers.verify(password, hash: clerk?.hash)
                        ? clerk.map { SiteSession(user: user, csrf: ReviewSite.randomToken(), orgId: $0.orgId) } : nil
                }
                continuation.resume(returning: session)
            }
        }
    }

    private static let passwordChecks = DispatchQueue(label: "ktsx.review.password-checks")

    // MARK: Pages

    private func submissions(request: Request, context: ReviewContext) async throws -> Response {
        let reference = desk.referenceData
        let (filter, form) = SubmissionsForm.read(request, participants: nil)
        var values = form.values(action: "/submissions")
        var receipts: [Receipt] = []
        do {
            receipts = try await desk.submissions(try filter.query(zone: reference.policy.timeZone))
        } catch let error as SupportError {
            values["problem"] = error.message
        }
        values.merge(SubmissionsForm.list(receipts, limit: filter.limit) { receipt in
            var view = SupportViews.receipt(receipt, reference: reference)
            view["href"] = "/receipts/\(ReviewGate.percentEncoded(receipt.id))"
            return view
        }) { $1 }
        values["forSupport"] = true
        values["participants"] = reference.participants.values.sorted { $0.orgId < $1.orgId }.map { participant -> [String: Any] in
            ["orgId": participant.orgId, "name": participant.name, "selected": participant.orgId == form.participant]
        }
        return page("submissions", title: "Submissions", context: context, tab: "Submissions", values: values)
    }

    /// Reads the lines of an original a page shows, one original at a time on a thread of its own (not the
    /// pool the site and the exchange answer on): a page of a large file does not hold up `/healthz`.
    func onOriginalsThread(_ read: @escaping @Sendable () -> OriginalLines?) async -> OriginalLines? {
        await withCheckedContinuation { continuation in
            ReviewSite.originalReads.async { continuation.resume(returning: read()) }
        }
    }

    /// The values of the `errorRows` partial: each error beside the row of the original it concerns, the
    /// file's own errors, and what each code means and what to do (from the specification).
    /// - Parameter original: Reads the lines wanted of the original (nil: not kept).
    func errorTable(issues: [ValidationIssue], binding: Binding?, errorCount: Int, original read: ([Int]) async -> OriginalLines?)
        async -> [String: Any]
    {
        guard !issues.isEmpty else { return [:] }
        let wanted = ErrorRows.lines(for: issues, binding: binding)
        let original = wanted.isEmpty ? OriginalLines(lines: [:], linesRead: 0) : await read(wanted)
        let table = ErrorRows(issues: issues, original: original, binding: binding)
        var values: [String: Any] = ["hasErrors": true]
        values["fileIssues"] = table.fileIssues.map(SupportViews.issue)
        values["hasFileIssues"] = !table.fileIssues.isEmpty
        values["rows"] = table.rows.map { row -> [String: Any] in
            var view: [String: Any] = [
                "number": row.number, "issues": row.issues.map(SupportViews.issue), "offending": !row.issues.isEmpty, "gap": row.gapBefore,
            ]
            view["text"] = row.text
            if row.text == nil { view["missing"] = true }
            if let cells = row.cells {
                view["hasCells"] = true
                view["cells"] = cells.enumerated().map { index, cell -> [String: Any] in
                    ["name": cell.name, "value": cell.value, "faulty": cell.faulty, "last": index == cells.count - 1]
                }
            }
            return view
        }
        if original == nil, !wanted.isEmpty { values["originalMissing"] = true }
        if errorCount > issues.count { values["moreErrors"] = ["shown": issues.count, "total": errorCount] }
        var seen = Set<String>()
        let help = issues.map(\.code.rawValue).filter { seen.insert($0).inserted }.compactMap { code -> [String: Any]? in
            guard let help = SchemaCatalog.help(forCode: code) else { return nil }
            var view: [String: Any] = ["code": code, "meaning": help.meaning]
            if !help.whatToDo.isEmpty { view["whatToDo"] = help.whatToDo }
            return view
        }
        values["codeHelp"] = help
        values["hasCodeHelp"] = !help.isEmpty
        return values
    }

    private static let originalReads = DispatchQueue(label: "ktsx.review.original-reads")

    private func receipt(context: ReviewContext, error: String?, status: HTTPResponse.Status = .ok) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        let story: ReceiptStory
        do {
            story = try await desk.story(of: id)
        } catch let error as SupportError {
            return message(error.message, context: context, status: .notFound, back: "/submissions")
        }
        let reference = desk.referenceData
        var values: [String: Any] = ["receipt": SupportViews.story(story, reference: reference)]
        values["error"] = error
        // A finished file with records refused, its original kept, may be judged again (`Reprocess.swift`
        // says when it may not; its refusal is shown here).
        if reprocessFile != nil, story.receipt.state == .finished, story.originalKept,
            story.receipt.outcome == .rejected || story.receipt.outcome == .acceptedWithErrors
        {
            values["mayReprocess"] = true
            values["reprocessAction"] = "/receipts/\(ReviewGate.percentEncoded(story.receipt.id))/reprocess"
            values["csrf"] = context.sessions.session?.csrf
        }
        let desk = self.desk
        let table = await errorTable(issues: story.issues, binding: story.receipt.binding, errorCount: story.receipt.errorCount) { wanted in
            await self.onOriginalsThread { desk.originalLines(of: story.receipt, wanted: wanted) }
        }
        values.merge(table) { $1 }
        return page("receipt", title: "\(story.receipt.originalName)", context: context, tab: "Submissions", values: values, status: status)
    }

    private struct ReprocessForm: Decodable {
        var reason: String?
    }

    /// Support's "Judge again": the reason is required and recorded with the new receipt; the new
    /// receipt's page follows.
    private func reprocess(request: Request, context: ReviewContext) async throws -> Response {
        var request = request
        let id = context.parameters.get("id") ?? ""
        let body = try await request.collectBody(upTo: ReviewGate.maxFormBytes)
        let form = (try? URLEncodedFormDecoder().decode(ReprocessForm.self, from: String(buffer: body))) ?? ReprocessForm()
        guard let reprocessFile else { return try await receipt(context: context, error: "Judging files again is not available here.", status: .serviceUnavailable) }
        let reason = (form.reason ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty, reason.count <= 2000 else {
            return try await receipt(context: context, error: "Say why the file is judged again (up to 2,000 characters).", status: .badRequest)
        }
        var logger = logger
        logger[metadataKey: "exchange.user"] = "\(context.sessions.session?.user ?? "")"
        do {
            let again = try await reprocessFile(id, reason, logger)
            return .redirect(to: "/receipts/\(ReviewGate.percentEncoded(again.id))")
        } catch let error as SupportError {
            return try await receipt(context: context, error: error.message, status: error.code == .unknownReceipt ? .notFound : .conflict)
        }
    }

    private func deliveries(context: ReviewContext) async throws -> Response {
        let reference = desk.referenceData
        let (overdue, waiting) = (try await desk.waitingDeliveries(overdueOnly: true), try await desk.waitingDeliveries(overdueOnly: false).count)
        let values: [String: Any] = [
            "overdue": overdue.map { SupportViews.waiting($0, reference: reference) },
            "waiting": waiting,
            "threshold": reference.policy.pickupThresholdHours,
        ]
        return page("deliveries", title: "Files not picked up", context: context, tab: "Deliveries", values: values)
    }

    private func quiet(context: ReviewContext) async throws -> Response {
        let values: [String: Any] = [
            "centers": try await desk.quietCenters().map(SupportViews.quiet), "quietDays": desk.referenceData.policy.quietDays,
        ]
        return page("quiet", title: "Quiet centers", context: context, tab: "Quiet", values: values)
    }

    private func waivers(context: ReviewContext) async throws -> Response {
        let reference = desk.referenceData
        let values: [String: Any] = ["waivers": try await desk.waivers().reversed().map { SupportViews.waiver($0, reference: reference) }]
        return page("waivers", title: "Waiver requests", context: context, tab: "Waivers", values: values)
    }

    private func waiver(context: ReviewContext, error: String?, status: HTTPResponse.Status = .ok) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        let found: (request: WaiverRequest, decisionFile: String?)
        do {
            found = try await desk.waiver(id: id)
        } catch let error as SupportError {
            return message(error.message, context: context, status: .notFound, back: "/waivers")
        }
        var view = SupportViews.waiver(found.request, reference: desk.referenceData)
        view["decisionFile"] = found.decisionFile
        view["csrf"] = context.sessions.session?.csrf
        var values: [String: Any] = ["waiver": view]
        values["error"] = error
        return page("waiver", title: "Waiver request \(found.request.centerOrgId) \(found.request.schoolYear)", context: context, tab: "Waivers", values: values, status: status)
    }

    private struct DecisionForm: Decodable {
        var decision: String?
        var reason: String?
    }

    private func decide(request: Request, context: ReviewContext) async throws -> Response {
        var request = request
        let id = context.parameters.get("id") ?? ""
        let body = try await request.collectBody(upTo: ReviewGate.maxFormBytes)
        let form = (try? URLEncodedFormDecoder().decode(DecisionForm.self, from: String(buffer: body))) ?? DecisionForm()
        guard form.decision == "approve" || form.decision == "deny" else {
            return try await waiver(context: context, error: "Choose Approve or Deny.", status: .badRequest)
        }
        var logger = logger
        logger[metadataKey: "exchange.user"] = "\(context.sessions.session?.user ?? "")"
        do {
            let (jobs, approve, reason) = (self.jobs, form.decision == "approve", form.reason ?? "")
            _ = try await jobs.decideWaiver(id: id, approve: approve, reason: reason, logger: logger)
        } catch let error as JobError {
            return try await waiver(context: context, error: error.message, status: .conflict)
        }
        return .redirect(to: "/waivers/\(ReviewGate.percentEncoded(id))")
    }

    private func status(context: ReviewContext) async throws -> Response {
        let values: [String: Any] = [
            "status": SupportViews.status(try await desk.status(), reference: desk.referenceData),
            "charts": Charts.activity(try await desk.activity(of: nil), whose: "received"),
        ]
        return page("status", title: "Status", context: context, tab: "Status", values: values)
    }
}

/// Runs the review application until shutdown; a failure is logged, never fatal to the exchange.
struct ReviewService<App: ApplicationProtocol>: Service {
    let application: App
    let address: ReviewAddress
    let logger: Logger

    func run() async throws {
        do {
            try await application.run()
        } catch {
            logger.error(
                "the review page is not served", metadata: ["exchange.address": "\(address)", "exchange.error": "\(error)"])
            try? await gracefulShutdown()
        }
    }
}

/// The filters of a list of files sent (`submissions` template): read from the query, and shown again.
struct SubmissionsForm {
    var participant: String
    var type: String
    var outcome: String
    var from: String
    var to: String

    /// The filter the query asks for (its senders `participants` when given, else the one asked), at most
    /// 200 files, and the form to show again.
    static func read(_ request: Request, participants: [String]?) -> (SubmissionFilter, SubmissionsForm) {
        let parameters = request.uri.queryParameters
        func value(_ name: String) -> String { parameters[name[...]].map(String.init) ?? "" }
        let form = SubmissionsForm(participant: value("participant"), type: value("type"), outcome: value("outcome"), from: value("from"), to: value("to"))
        let filter = SubmissionFilter(
            participants: participants ?? [form.participant], types: [form.type], outcomes: [form.outcome], from: form.from, to: form.to, limit: 200)
        return (filter, form)
    }

    /// The template values of the form, its choices marked.
    func values(action: String) -> [String: Any] {
        [
            "action": action, "from": from, "to": to, "limit": 200,
            "types": ExchangeType.partnerTypes.map { ["code": $0.code, "name": $0.displayName, "selected": $0.code == type] },
            "outcomes": FileOutcome.allCases.map { choice -> [String: Any] in
                let slug = choice.rawValue.lowercased().split(separator: "_").joined(separator: "-")
                return ["value": slug, "label": choice.rawValue, "selected": slug == outcome.lowercased()]
            },
        ]
    }

    /// The template values of the receipts found, each made a view by `view`.
    static func list(_ receipts: [Receipt], limit: Int, view: (Receipt) -> [String: Any]) -> [String: Any] {
        var values: [String: Any] = ["receipts": receipts.map(view), "count": receipts.count]
        if receipts.count == limit { values["limited"] = true }
        return values
    }
}
