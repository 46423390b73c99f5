import ExchangeCore
import ExchangeRules
import ExchangeRuntime
import ExchangeSchemas
import ExchangeTesting
import ExchangeValidation
@testable import ExchangeWeb
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Hummingbird
import HummingbirdBcrypt
import HummingbirdTesting
import Logging
import Prometheus
import Testing

/// Two high schools and a center, each with a clerk: each school sent a rejected roster (its original
/// kept, its students' names in it), the center sent attendance routed to both schools (a file waiting in
/// each school's `outbound/`), and asked for a waiver. Every organisation has its own marks, so that a
/// page can be searched for another organisation's data.
struct OrganisationWorld {
    static let now = Timestamp(secondsSinceEpoch: 1_768_500_000)  // 2026-01-15T18:00:00Z
    static let password = "correct horse battery staple"
    static let reference = ReferenceData(participants: [
        Participant(orgId: "165901", name: "Bluegrass CTC", classification: .a2),
        Participant(orgId: "061010", name: "Ridgeline High", classification: .a1),
        Participant(orgId: "061020", name: "Valley High", classification: .a1),
    ])

    /// What is one organisation's: its id, name, clerk, receipt, original (with a student name found nowhere
    /// else), and the file waiting in its `outbound/`.
    struct Organisation {
        var orgId: String
        var name: String
        var clerk: String
        var receiptId: String
        var fileName: String
        var studentName: String
        var outboundFile: String?
        /// A student the school enrolled at the center (its roster; the center sees them too), with attendance.
        var enrolled: (ssid: String, lastName: String)? = nil

        /// Text that only this organisation's pages may show.
        var marks: [String] { [orgId, name, receiptId, fileName, studentName] + (outboundFile.map { [$0] } ?? []) }
        /// Text that only this organisation's pages and its center's may show.
        var rosterMarks: [String] { enrolled.map { [$0.ssid, $0.lastName] } ?? [] }
    }

    static let ridgeline = Organisation(
        orgId: "061010", name: "Ridgeline High", clerk: "clerk.ridgeline", receiptId: "R061010-1", fileName: "ridgeline-enr.csv",
        studentName: "Quillfeather", outboundFile: "KTSX_ATT_165901_20260115T170000_0001_061010.xml", enrolled: ("2100000101", "Rosterlyn"))
    static let valley = Organisation(
        orgId: "061020", name: "Valley High", clerk: "clerk.valley", receiptId: "R061020-1", fileName: "valley-enr.csv",
        studentName: "Zimmerwald", outboundFile: "KTSX_ATT_165901_20260115T170000_0001_061020.xml", enrolled: ("2100000202", "Valenrolla"))
    static let center = Organisation(
        orgId: "165901", name: "Bluegrass CTC", clerk: "clerk.center", receiptId: "R165901-1", fileName: "center-att.xml",
        studentName: "Applewhite", outboundFile: nil)
    static let waiverId = "83092784-227b-45ab-97af-60a077f0f74b"

    let tree: DropTree
    let ledger = InMemoryLedger()
    let site: ReviewSite
    let preCheck: FilePreCheck

    init(root: URL) async throws {
        tree = DropTree(dropRoot: root.appendingPathComponent("drop").path, stateDirectory: root.appendingPathComponent("state").path)
        try tree.prepare(for: OrganisationWorld.reference.participants.values.sorted { $0.orgId < $1.orgId })
        for school in [OrganisationWorld.ridgeline, OrganisationWorld.valley] {
            var receipt = Receipt(
                id: school.receiptId, senderOrgId: school.orgId, originalName: school.fileName, sizeBytes: 80, sha256: school.orgId,
                claimedAt: OrganisationWorld.now)
            try await ledger.recordClaim(receipt)
            receipt.state = .finished
            receipt.outcome = .rejected
            receipt.fileType = .enrollment
            receipt.binding = .csv
            receipt.recordsReceived = 2
            receipt.errorCount = 2
            receipt.finishedAt = OrganisationWorld.now
            let issues = [
                ValidationIssue(code: .extraLabel, message: "The header has a column nickname that enrollment files do not have."),
                ValidationIssue(code: .constraintError, message: "ssid must be ten digits.", line: 3, field: "ssid", recordKey: "a2"),
            ]
            try await ledger.update(receipt, recordingDeliveries: [], findings: ReceiptFindings(issues: issues), applying: .none)
            let quarantined = tree.filedPath(
                receiptId: receipt.id, orgId: school.orgId, name: school.fileName, quarantined: true, claimedAt: OrganisationWorld.now)
            try FileManager.default.createDirectory(atPath: (quarantined as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try "recordId,ssid,lastName,nickname\na1,2100000001,Adams,x\na2,21000000X2,\(school.studentName),y\n"
                .write(toFile: quarantined, atomically: true, encoding: .utf8)
        }
        var attendance = Receipt(
            id: OrganisationWorld.center.receiptId, senderOrgId: "165901", originalName: OrganisationWorld.center.fileName, sizeBytes: 10,
            sha256: "cd", claimedAt: OrganisationWorld.now)
        try await ledger.recordClaim(attendance)
        attendance.state = .finished
        attendance.outcome = .accepted
        attendance.fileType = .attendance
        var deliveries: [Delivery] = []
        for school in [OrganisationWorld.ridgeline, OrganisationWorld.valley] {
            let name = try #require(school.outboundFile)
            try "<KtsxAttendanceFile><!-- \(school.studentName) --></KtsxAttendanceFile>\n"
                .write(toFile: "\(tree.outbound(school.orgId))/\(name)", atomically: true, encoding: .utf8)
            deliveries.append(
                Delivery(receiptId: attendance.id, recipientOrgId: school.orgId, fileName: name, deliveredAt: OrganisationWorld.now))
        }
        // Each school's student enrolled at the center in AUT101 AM-01; attendance for the week so far: Ridgeline's
        // student absent with an unknown excuse on Tuesday, present otherwise; Valley's student has none on Thursday.
        var held: [HeldRecord] = []
        for school in [OrganisationWorld.ridgeline, OrganisationWorld.valley] {
            let student = try #require(school.enrolled)
            let enrollment = [
                "recordId": UUID().uuidString.lowercased(), "action": "add", "schoolYear": "2026", "ssid": student.ssid, "lastName": student.lastName,
                "firstName": "Pat", "homeSchoolOrgId": school.orgId, "techCenterOrgId": "165901", "ktsCourseNumber": "AUT101",
                "sectionNumber": "AM-01", "entryDate": "2025-08-13", "gradeLevel": "11",
            ]
            held.append(
                HeldRecord(
                    type: .enrollment, naturalKey: NaturalKey.of(.enrollment, enrollment), senderOrgId: school.orgId, recipientOrgId: "165901",
                    schoolYear: 2026, values: enrollment, receiptId: school.receiptId, acceptedAt: OrganisationWorld.now, deleted: false))
            for day in ["2026-01-12", "2026-01-13", "2026-01-14", "2026-01-15"] where !(school.orgId == "061020" && day == "2026-01-15") {
                let absent = school.orgId == "061010" && day == "2026-01-13"
                var values = [
                    "recordId": UUID().uuidString.lowercased(), "action": "add", "schoolYear": "2026", "ssid": student.ssid,
                    "techCenterOrgId": "165901", "homeSchoolOrgId": school.orgId, "granularity": "DAY", "attendanceDate": day,
                    "attendanceStatus": absent ? "A" : "P", "recordedDateTime": "\(day)T15:00:00-05:00",
                ]
                if absent { values["excuseStatus"] = "UK" }
                held.append(
                    HeldRecord(
                        type: .attendance, naturalKey: NaturalKey.of(.attendance, values), senderOrgId: "165901", recipientOrgId: school.orgId,
                        schoolYear: 2026, values: values, receiptId: OrganisationWorld.center.receiptId, acceptedAt: OrganisationWorld.now, deleted: false))
            }
        }
        let request = WaiverRequest(
            id: OrganisationWorld.waiverId, centerOrgId: "165901", schoolYear: 2027, values: ["reasonCode": "ALT_SIS"],
            receiptId: attendance.id, receivedAt: OrganisationWorld.now)
        try await ledger.update(
            attendance, recordingDeliveries: deliveries, findings: ReceiptFindings(), applying: LedgerChanges(held: held, waivers: [request]))

        let reference: @Sendable () -> ReferenceData = { OrganisationWorld.reference }
        let clock: @Sendable () -> Timestamp = { OrganisationWorld.now }
        let desk = SupportDesk(tree: tree, ledger: ledger, reference: reference, now: clock)
        let jobs = JobRunner(tree: tree, ledger: ledger, reference: reference, now: clock, newRunId: { "J-1" })
        let hash = Bcrypt.hash(OrganisationWorld.password, cost: 4)
        let clerks = ParticipantUsers(
            accounts: Dictionary(
                uniqueKeysWithValues: [OrganisationWorld.ridgeline, OrganisationWorld.valley, OrganisationWorld.center].map { ($0.clerk, ($0.orgId, hash)) }))
        let preCheck = FilePreCheck(validator: try FileValidator(csvBlockSize: nil), ledger: ledger, reference: OrganisationWorld.reference)
        self.preCheck = preCheck
        site = try ReviewSite(
            desk: desk, jobs: jobs, users: SupportUsers(hashes: ["support": hash]), clerks: clerks,
            checkFile: { bytes, name, orgId in try await preCheck.check(bytes: bytes, displayName: name, senderOrgId: orgId, at: OrganisationWorld.now) },
            metrics: PrometheusCollectorRegistry(), logger: Logger(label: "test"))
    }

    func application() -> some ApplicationProtocol {
        Application(router: site.router(sessions: MemoryPersistDriver()))
    }
}

extension TestClientProtocol {
    /// Logs `user` in and returns the browser's cookies, the session's form token and where the login led.
    func logIn(user: String, next: String = "") async throws -> (jar: CookieJar, csrf: String, location: String) {
        var (jar, token, headers, _) = try await openLoginForm()
        let response = try await execute(
            uri: "/login", method: .post, headers: headers,
            body: form(["username": user, "password": OrganisationWorld.password, "token": token, "next": next]))
        #expect(response.status == .seeOther)
        jar.take(response)
        let location = response.headers[.location] ?? ""
        let page = try await execute(uri: location, method: .get, headers: jar.header)
        let csrf = try #require(hidden("csrf", in: String(buffer: page.body)))
        return (jar, csrf, location)
    }
}

/// A `multipart/form-data` body with the form token and one file, as a browser sends the check form.
func multipart(csrf: String, fileName: String, bytes: [UInt8], boundary: String = "----ktsxTestBoundary7MA4YWxk") -> (HTTPFields, ByteBuffer) {
    var body = ByteBuffer()
    body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n\(csrf)\r\n")
    body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(fileName)\"\r\nContent-Type: text/csv\r\n\r\n")
    body.writeBytes(bytes)
    body.writeString("\r\n--\(boundary)--\r\n")
    return ([.contentType: "multipart/form-data; boundary=\(boundary)"], body)
}

@Suite("A participant's own pages: its files, its outbound folder, a pre-check, and nothing of any other organisation")
struct OrganisationPagesTests {
    @Test("a clerk lands on its own home; support's pages and other organisations' pages are not found")
    func clerkSeesOwnPagesOnly() async throws {
        try await withTemporaryDirectory { root in
            let world = try await OrganisationWorld(root: root)
            try await world.application().test(.router) { client in
                // A place to return to outside the clerk's pages is not followed.
                let (jar, _, location) = try await client.logIn(user: "clerk.ridgeline", next: "/status")
                #expect(location == "/my")
                let home = String(buffer: try await client.execute(uri: "/my", method: .get, headers: jar.header).body)
                #expect(home.contains("Ridgeline High") && home.contains("ridgeline-enr.csv"))
                #expect(home.contains("<strong>1</strong> file(s) wait in your outbound folder"))
                #expect(!home.contains("/status") && !home.contains("/waivers"))
                // Its charts: its own files per day, its error codes, its pickups by age; each SVG well formed.
                #expect(home.contains("aria-label=\"Files you sent per day, last 30 days: 1 file(s) in 30 days, 1 rejected (100%).\""))
                #expect(home.contains("aria-label=\"Most frequent error codes, last 30 days: constraint-error 1, extra-label 1.\""))
                #expect(home.contains("aria-label=\"Files waiting for pickup, by how long they have waited: under 1 h 1, 1–6 h 0, 6–24 h 0, 1–2 days 0, 2–7 days 0, 7+ days 0.\""))
                var svgs = 0
                var rest = home[...]
                while let start = rest.range(of: "<svg xmlns"), let end = rest.range(of: "</svg>", range: start.upperBound..<rest.endIndex) {
                    let svg = String(rest[start.lowerBound..<end.upperBound])
                    #expect(XMLParser(data: Data(svg.utf8)).parse(), "\(svg.prefix(200))")
                    svgs += 1
                    rest = rest[end.upperBound...]
                }
                #expect(svgs == 3)
                let root = try await client.execute(uri: "/", method: .get, headers: jar.header)
                #expect(root.headers[.location] == "/my")
                for page in ["/submissions", "/status", "/waivers", "/quiet", "/deliveries", "/receipts/R061010-1", "/participants/061010"] {
                    let response = try await client.execute(uri: page, method: .get, headers: jar.header)
                    #expect(response.status == .notFound, "\(page)")
                }
                // Support has no /my: it sees a participant's pages under /participants/ORGID.
                let support = try await client.logIn(user: "support")
                #expect(try await client.execute(uri: "/my", method: .get, headers: support.jar.header).status == .notFound)
                let viewed = try await client.execute(uri: "/participants/061010/submissions", method: .get, headers: support.jar.header)
                #expect(viewed.status == .ok)
                #expect(String(buffer: viewed.body).contains("Support's view"))
                #expect(String(buffer: viewed.body).contains("ridgeline-enr.csv") && !String(buffer: viewed.body).contains("valley-enr.csv"))
                let unknown = try await client.execute(uri: "/participants/999999", method: .get, headers: support.jar.header)
                #expect(unknown.status == .notFound)
            }
        }
    }

    @Test("no path trick takes a clerk from its own pages to another: dot segments, doubled slashes, encoded slashes, case")
    func pathTricks() async throws {
        try await withTemporaryDirectory { root in
            let world = try await OrganisationWorld(root: root)
            try await world.application().test(.router) { client in
                let (jar, _, _) = try await client.logIn(user: "clerk.ridgeline")
                let tricks = [
                    "/my/../status", "/my/./../status", "/my//../status", "/my/%2e%2e/status", "/my/..%2fstatus", "/my%2f..%2fstatus",
                    "/my/../participants/061020", "/my/../receipts/R061020-1", "/My/../status", "/my/submissions/../../waivers",
                    "/my/../my/../status", "/my/..;/status", "/my/.%2e/status", "/my\\..\\status", "/my/receipts/../../receipts/R061020-1",
                ]
                for trick in tricks {
                    let response = try await client.execute(uri: trick, method: .get, headers: jar.header)
                    let body = String(buffer: response.body)
                    #expect(response.status == .notFound || response.status == .badRequest, "\(trick): \(response.status)")
                    for mark in ["Valley High", "061020", "R061020-1", "Zimmerwald", "Latest job runs", "Waiver requests"] {
                        #expect(!body.contains(mark), "\(trick) shows \(mark)")
                    }
                }
            }
        }
    }

    @Test("a clerk's rejected file shows each error beside its row and what its codes mean")
    func ownRejection() async throws {
        try await withTemporaryDirectory { root in
            let world = try await OrganisationWorld(root: root)
            try await world.application().test(.router) { client in
                let (jar, _, _) = try await client.logIn(user: "clerk.valley")
                let list = String(buffer: try await client.execute(uri: "/my/submissions?outcome=rejected", method: .get, headers: jar.header).body)
                #expect(list.contains("href=\"/my/receipts/R061020-1\""))
                let page = try await client.execute(uri: "/my/receipts/R061020-1", method: .get, headers: jar.header)
                #expect(page.status == .ok)
                let html = String(buffer: page.body)
                #expect(html.contains("id=\"line-3\""))
                #expect(html.contains("<span class=\"cell faulty\" title=\"ssid\">21000000X2</span>"))
                #expect(html.contains("Zimmerwald"))
                #expect(html.contains("id=\"code-help\""))
                #expect(html.contains("<strong>What to do:</strong> correct the value; format ID columns as Text."))
                #expect(html.contains("<span class=\"code\">extra-label</span>"))
            }
        }
    }

    @Test("a download is not a pickup; marking a file taken removes it and records the pickup once")
    func outbound() async throws {
        try await withTemporaryDirectory { root in
            let world = try await OrganisationWorld(root: root)
            let name = try #require(OrganisationWorld.ridgeline.outboundFile)
            let path = "\(world.tree.outbound("061010"))/\(name)"
            try await world.application().test(.router) { client in
                let (jar, csrf, _) = try await client.logIn(user: "clerk.ridgeline")
                let page = String(buffer: try await client.execute(uri: "/my/outbound", method: .get, headers: jar.header).body)
                #expect(page.contains("href=\"/my/outbound/\(name)\""))
                let download = try await client.execute(uri: "/my/outbound/\(name)", method: .get, headers: jar.header)
                #expect(download.status == .ok)
                #expect(download.headers[.contentDisposition] == "attachment; filename=\"\(name)\"")
                #expect(String(buffer: download.body) == (try String(contentsOfFile: path, encoding: .utf8)))
                #expect(FileManager.default.fileExists(atPath: path))
                #expect(try await world.ledger.pendingDeliveries().contains { $0.fileName == name })

                // Support sees the folder, and cannot take a file for the participant.
                let support = try await client.logIn(user: "support")
                var supportHeaders = support.jar.header
                supportHeaders[.contentType] = "application/x-www-form-urlencoded"
                let refused = try await client.execute(
                    uri: "/participants/061010/outbound/\(name)/taken", method: .post, headers: supportHeaders, body: form(["csrf": support.csrf]))
                #expect(refused.status == .forbidden)
                #expect(FileManager.default.fileExists(atPath: path))

                var headers = jar.header
                headers[.contentType] = "application/x-www-form-urlencoded"
                let taken = try await client.execute(uri: "/my/outbound/\(name)/taken", method: .post, headers: headers, body: form(["csrf": csrf]))
                #expect(taken.status == .seeOther)
                #expect(!FileManager.default.fileExists(atPath: path))
                #expect(try await world.ledger.pendingDeliveries().allSatisfy { $0.fileName != name })
                let delivered = try await world.ledger.deliveries(sourceId: OrganisationWorld.center.receiptId).first { $0.fileName == name }
                #expect(delivered?.pickedUpAt == OrganisationWorld.now)
                let after = String(buffer: try await client.execute(uri: "/my/outbound", method: .get, headers: jar.header).body)
                #expect(after.contains("Nothing waits in your outbound folder."))
                #expect(after.contains("<td>\(name)</td>"))
                let again = try await client.execute(uri: "/my/outbound/\(name)/taken", method: .post, headers: headers, body: form(["csrf": csrf]))
                #expect(again.status == .notFound)
            }
        }
    }

    @Test("for every route and every kind of id, another organisation's id is not found and no page shows its data")
    func isolation() async throws {
        try await withTemporaryDirectory { root in
            let world = try await OrganisationWorld(root: root)
            let organisations = [OrganisationWorld.ridgeline, OrganisationWorld.valley, OrganisationWorld.center]
            let routes = world.site.router(sessions: MemoryPersistDriver()).routes.map { (template: $0.path.description, method: $0.method) }
            #expect(routes.count > 20)
            try await world.application().test(.router) { client in
                for own in organisations {
                    let (jar, csrf, _) = try await client.logIn(user: own.clerk)
                    let others = organisations.filter { $0.orgId != own.orgId }
                    // Every id of every kind the site has, of the other organisations (the center's waiver too).
                    let foreignIds = others.flatMap { [$0.receiptId, $0.orgId] + ($0.outboundFile.map { [$0] } ?? []) } + [OrganisationWorld.waiverId]
                    // A school's own data: the center's waiver is the center's, but the other schools' marks must never show.
                    // A school's pages show nothing of another school's or of the center's; the center's show its
                    // students' home schools (their numbers and names), and nothing else of theirs.
                    let forbidden =
                        own.orgId == "165901"
                        ? others.flatMap { Array($0.marks.dropFirst(2)) }
                        : others.filter { $0.orgId != "165901" }.flatMap { $0.marks + $0.rosterMarks }
                            + [OrganisationWorld.center.receiptId, OrganisationWorld.center.fileName, OrganisationWorld.center.studentName, OrganisationWorld.waiverId]
                    var visited = 0
                    for route in routes {
                        let template = route.template
                        let captures = template.split(separator: "/").filter { $0.hasPrefix("{") }.count
                        let uris =
                            captures == 0
                            ? [template]
                            : foreignIds.map { id in
                                template.split(separator: "/", omittingEmptySubsequences: false)
                                    .map { $0.hasPrefix("{") ? ReviewGate.percentEncoded(id) : String($0) }.joined(separator: "/")
                            }
                        for uri in uris where uri != "/logout" {
                            var headers = jar.header
                            var body: ByteBuffer? = nil
                            if route.method == .post {
                                headers[.contentType] = "application/x-www-form-urlencoded"
                                body = form(["csrf": csrf, "decision": "approve", "reason": "probe"])
                            }
                            let response = try await client.execute(uri: uri, method: route.method, headers: headers, body: body)
                            visited += 1
                            let text = String(buffer: response.body)
                            if captures > 0 {
                                #expect(response.status == .notFound, "\(own.clerk) \(route.method) \(uri)")
                            } else if !(template == "/my" || template.hasPrefix("/my/")) && !ReviewGate.openPaths.contains(template) && template != "/" {
                                #expect(response.status == .notFound, "\(own.clerk) \(route.method) \(uri)")
                            }
                            for mark in forbidden {
                                #expect(!text.contains(mark), "\(own.clerk) \(route.method) \(uri) shows \(mark)")
                            }
                        }
                    }
                    #expect(visited > routes.count)
                }
                // Nothing changed: every file still waits, the waiver is still pending.
                #expect(try await world.ledger.pendingDeliveries().count == 2)
                #expect(try await world.ledger.allWaivers().first?.status == .pending)
                for school in [OrganisationWorld.ridgeline, OrganisationWorld.valley] {
                    #expect(FileManager.default.fileExists(atPath: "\(world.tree.outbound(school.orgId))/\(school.outboundFile!)"))
                }
            }
        }
    }

    @Test("a file checked before sending is judged by the pre-check engine, shown beside its rows, and kept nowhere")
    func checkBeforeSending() async throws {
        try await withTemporaryDirectory { root in
            let world = try await OrganisationWorld(root: root)
            let fixture = Array(try Data(contentsOf: Repository.fixtures.appendingPathComponent("valid/KTSX_ENR_061010_20250929T073000_0002.csv")))
            let broken = Array(String(decoding: fixture, as: UTF8.self).replacingOccurrences(of: ",2026,", with: ",20X6,").utf8)
            let receiptsBefore = try await world.ledger.allReceipts().count
            let inbound = try FileManager.default.contentsOfDirectory(atPath: world.tree.inbound("061010"))
            try await world.application().test(.router) { client in
                let (jar, csrf, _) = try await client.logIn(user: "clerk.ridgeline")
                let form = String(buffer: try await client.execute(uri: "/my/check", method: .get, headers: jar.header).body)
                #expect(form.contains("enctype=\"multipart/form-data\""))
                for bytes in [fixture, broken] {
                    let (headers, body) = multipart(csrf: csrf, fileName: "C:\\Users\\clerk\\roster.csv", bytes: bytes)
                    var all = jar.header
                    for field in headers { all.append(field) }
                    let response = try await client.execute(uri: "/my/check", method: .post, headers: all, body: body)
                    #expect(response.status == .ok)
                    let html = String(buffer: response.body)
                    let expected = try await world.preCheck.check(bytes: bytes, displayName: "roster.csv", senderOrgId: "061010", at: OrganisationWorld.now)
                    #expect(html.contains("<h2>roster.csv</h2>"))
                    #expect(html.contains("id=\"outcome\">\(expected.verdict.outcome.rawValue)</span>"))
                    #expect(!expected.verdict.issues.isEmpty)
                    for issue in expected.verdict.issues.prefix(20) {
                        if let line = issue.line { #expect(html.contains("id=\"line-\(line)\""), "\(issue)") }
                        #expect(html.contains("<span class=\"code\">\(issue.code.rawValue)</span>"))
                    }
                    #expect(html.contains("id=\"code-help\""))
                }
                // While every place for a transfer is taken, an upload is answered "busy" before its body is read.
                let taken = (0..<4).map { world.site.transfers.enter(client: "client-\($0)") }
                #expect(taken == [true, true, true, true])
                let (busyHeaders, busyBody) = multipart(csrf: csrf, fileName: "roster.csv", bytes: fixture)
                var busyAll = jar.header
                for field in busyHeaders { busyAll.append(field) }
                let busy = try await client.execute(uri: "/my/check", method: .post, headers: busyAll, body: busyBody)
                #expect(busy.status == .serviceUnavailable)
                #expect(busy.headers[.retryAfter] == "60")
                for index in 0..<4 { world.site.transfers.leave(client: "client-\(index)") }
                // A form without the token is refused; one without a file is asked for it.
                let (headers, body) = multipart(csrf: "guess", fileName: "roster.csv", bytes: fixture)
                var all = jar.header
                for field in headers { all.append(field) }
                #expect(try await client.execute(uri: "/my/check", method: .post, headers: all, body: body).status == .forbidden)
                let (emptyHeaders, emptyBody) = multipart(csrf: csrf, fileName: "", bytes: [])
                all = jar.header
                for field in emptyHeaders { all.append(field) }
                let empty = try await client.execute(uri: "/my/check", method: .post, headers: all, body: emptyBody)
                #expect(empty.status == .badRequest)
                #expect(String(buffer: empty.body).contains("Choose a file to check."))
            }
            #expect(try await world.ledger.allReceipts().count == receiptsBefore)
            #expect(try FileManager.default.contentsOfDirectory(atPath: world.tree.inbound("061010")) == inbound)
        }
    }

    @Test("a high school sees its students' attendance at the centers, per student and per section, and exports it; a center sees its roster")
    func reports() async throws {
        try await withTemporaryDirectory { root in
            let world = try await OrganisationWorld(root: root)
            try await world.application().test(.router) { client in
                let school = try await client.logIn(user: "clerk.ridgeline")
                // By default, this week so far (Monday 2026-01-12 to Thursday 2026-01-15, in the school's zone).
                let page = String(buffer: try await client.execute(uri: "/my/attendance", method: .get, headers: school.jar.header).body)
                #expect(page.contains("value=\"2026-01-12\"") && page.contains("value=\"2026-01-15\""))
                #expect(page.contains("Rosterlyn, Pat"))
                #expect(page.contains("4 record(s): 3 present, 1 absent, 0 tardy, 0 left early; 1 unknown, 0 resolved."))
                #expect(page.contains("<span class=\"badge unknown\">unknown</span>"))
                #expect(!page.contains("Valenrolla") && !page.contains("2100000202"))
                let sections = String(buffer: try await client.execute(uri: "/my/attendance?from=2026-01-12&to=2026-01-15&view=section", method: .get, headers: school.jar.header).body)
                #expect(sections.contains("165901 Bluegrass CTC · whole day"))
                let export = try await client.execute(uri: "/my/attendance.csv?from=2026-01-13&to=2026-01-13", method: .get, headers: school.jar.header)
                #expect(export.headers[.contentDisposition] == "attachment; filename=\"attendance_061010_2026-01-13_2026-01-13.csv\"")
                let lines = String(buffer: export.body).split(separator: "\r\n").map(String.init)
                #expect(lines == [
                    AttendanceReport.csvColumns.joined(separator: ","),
                    "2026-01-13,2100000101,,Rosterlyn,Pat,165901,,,DAY,,A,UK,unknown,,,,2026-01-13T15:00:00-05:00",
                ])
                let bad = String(buffer: try await client.execute(uri: "/my/attendance?from=2026-01-20&to=2026-01-12", method: .get, headers: school.jar.header).body)
                #expect(bad.contains("The first day 2026-01-20 is after the last day 2026-01-12."))
                #expect(try await client.execute(uri: "/my/roster", method: .get, headers: school.jar.header).status == .notFound)

                let center = try await client.logIn(user: "clerk.center")
                #expect(try await client.execute(uri: "/my/attendance", method: .get, headers: center.jar.header).status == .notFound)
                // Its own file's page lists what the exchange wrote from it, to each school.
                let own = String(buffer: try await client.execute(uri: "/my/receipts/R165901-1", method: .get, headers: center.jar.header).body)
                #expect(own.contains("<td>061010 Ridgeline High</td><td>\(OrganisationWorld.ridgeline.outboundFile!)</td>"))
                #expect(own.contains("<td>061020 Valley High</td><td>\(OrganisationWorld.valley.outboundFile!)</td>"))
                let roster = String(buffer: try await client.execute(uri: "/my/roster?date=2026-01-15", method: .get, headers: center.jar.header).body)
                #expect(roster.contains("2026-01-15 is an instructional day: 1 enrolled student(s) have no attendance from you yet."))
                #expect(roster.contains("AUT101 AM-01"))
                #expect(roster.contains("<tr class=\"missing\"><td>Valenrolla, Pat</td>"))
                #expect(roster.contains("<td>Rosterlyn, Pat</td><td>2100000101</td><td>061010</td><td>11</td><td>P</td>"))
                let saturday = String(buffer: try await client.execute(uri: "/my/roster?date=2026-01-17", method: .get, headers: center.jar.header).body)
                #expect(saturday.contains("2026-01-17 is not an instructional day on your calendar."))
                #expect(!saturday.contains("class=\"missing\""))
            }
        }
    }

    @Test("participant-users.csv: each row a clerk of a participant; bad rows are named by line")
    func participantUsersFile() throws {
        let hash = "$2b$12$C6UzMDM.H6dfI/f/IKxGhu3Q1jk5w0V1o4kqOCmX5XbYJiTgNvRMW"
        let good = try ParticipantUsers.parse(
            Array("username,orgId,passwordHash,role\njane.doe,061010,\(hash),clerk\n".utf8), participants: ["061010"])
        #expect(good.names == ["jane.doe"])
        #expect(good.account("jane.doe")?.orgId == "061010")
        let text = """
            username,orgId,passwordHash,role
            a,999999,\(hash),clerk
            b,061010,\(hash),admin
            c,061010,secret,clerk
            support,061010,\(hash),clerk
            d,061010,\(hash),clerk
            d,061010,\(hash),clerk

            """
        #expect {
            try ParticipantUsers.parse(Array(text.utf8), participants: ["061010"], supportNames: ["support"])
        } throws: { error in
            let lines = (error as? ConfigurationErrors)?.errors.map(\.description) ?? []
            return lines.count == 5 && lines[0].contains(":2:") && lines[0].contains("not a participant") && lines[1].contains("must be clerk")
                && lines[2].contains("not a bcrypt hash") && lines[3].contains("also in support-users.csv") && lines[4].contains("listed twice")
        }
    }

    @Test("every rule code and every code of the error table has its meaning and what to do")
    func codeHelp() throws {
        for code in RuleCode.allCases {
            #expect(SchemaCatalog.help(forCode: code.rawValue) != nil, "\(code)")
        }
        let readme = try String(contentsOf: Repository.schemas.appendingPathComponent("README.md"), encoding: .utf8)
        let table = readme[readme.range(of: "### Error codes")!.lowerBound..<readme.range(of: "### Rule codes")!.lowerBound]
        let codes = table.split(separator: "\n").filter { $0.hasPrefix("| `") }.flatMap { row in
            row.dropFirst(2).prefix { $0 != "|" }.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " `")) }
        }
        #expect(codes.count > 30)
        for code in codes {
            let help = SchemaCatalog.help(forCode: code)
            #expect(help != nil && !help!.meaning.isEmpty && !help!.whatToDo.isEmpty, "\(code)")
        }
        #expect(SchemaCatalog.help(forCode: "WVR-01")?.whatToDo == "")
    }
}

@Suite("multipart/form-data bodies, as browsers send them")
struct MultipartFormTests {
    @Test("fields and a file with line breaks and bytes of its own; the file name loses its folders")
    func parts() throws {
        let content: [UInt8] = Array("a,b\r\n--not-the-boundary\r\n\u{0}\u{FF}".utf8) + [0xFF, 13, 10]
        let (headers, body) = multipart(csrf: "tok", fileName: "C:\\x\\y.csv", bytes: content, boundary: "XyZ")
        let boundary = try #require(MultipartForm.boundary(contentType: headers[.contentType]!))
        #expect(boundary == "XyZ")
        let form = try #require(MultipartForm(body: Array(buffer: body), boundary: boundary))
        #expect(form.value("csrf") == "tok")
        #expect(form.file("file")?.fileName == "y.csv")
        #expect(form.file("file").map { Array($0.bytes) } == content)
        #expect(MultipartForm.boundary(contentType: "multipart/form-data; boundary=\"a b\"") == "a b")
        #expect(MultipartForm.boundary(contentType: "application/x-www-form-urlencoded") == nil)
        #expect(MultipartForm.boundary(contentType: "multipart/form-data; boundary=" + String(repeating: "x", count: 71)) == nil)
    }

    @Test("a body that does not follow the form is nil, never guessed at")
    func malformed() {
        let cases = [
            "no delimiter at all",
            "--B\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nvalue",  // never closed
            "--B\r\nContent-Type: text/plain\r\n\r\nvalue\r\n--B--",  // a part without a name
            "--B\r\nContent-Disposition: form-data; name=\"a\"\r\nno blank line\r\n--B--",
            "--Bjunk",
        ]
        for text in cases {
            #expect(MultipartForm(body: Array(text.utf8), boundary: "B") == nil, "\(text)")
        }
        var many = ""
        for index in 0...MultipartForm.maxParts { many += "--B\r\nContent-Disposition: form-data; name=\"f\(index)\"\r\n\r\nx\r\n" }
        #expect(MultipartForm(body: Array((many + "--B--").utf8), boundary: "B") == nil)
    }
}
