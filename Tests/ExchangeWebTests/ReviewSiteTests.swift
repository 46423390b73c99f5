import ExchangeCore
import ExchangeRules
import ExchangeRuntime
import ExchangeTesting
@testable import ExchangeWeb
import Foundation
import Hummingbird
import HummingbirdBcrypt
import HummingbirdTesting
import Logging
import Prometheus
import Synchronization
import Testing

/// A drop tree with an in-memory ledger holding a rejected CSV file (its original quarantined) and a
/// pending waiver, and the review site over it.
struct ReviewWorld {
    static let now = Timestamp(secondsSinceEpoch: 1_768_500_000)  // 2026-01-15T18:00:00Z
    static let reference = ReferenceData(participants: [
        Participant(orgId: "165901", name: "Bluegrass CTC", classification: .a2),
        Participant(orgId: "061010", name: "Ridgeline High <School>", classification: .a1),
    ])
    static let password = "correct horse battery staple"
    static let original = """
        recordId,ssid,lastName
        a1,2100000001,Adams
        a2,21000000X2,<script>alert(1)</script>
        a3,2100000003,O'Brien

        """

    let tree: DropTree
    let ledger = InMemoryLedger()
    let site: ReviewSite

    /// - Parameters:
    ///   - loginProblem: Why the support users' file could not be read, if it could not.
    ///   - reprocessFile: What "Judge again" does.
    init(root: URL, loginProblem: String? = nil, reprocessFile: ReprocessFile? = nil) async throws {
        tree = DropTree(dropRoot: root.appendingPathComponent("drop").path, stateDirectory: root.appendingPathComponent("state").path)
        try tree.prepare(for: ReviewWorld.reference.participants.values.sorted { $0.orgId < $1.orgId })
        var receipt = Receipt(id: "R061010-1", senderOrgId: "061010", originalName: "enr.csv", sizeBytes: 80, sha256: "ab", claimedAt: ReviewWorld.now)
        try await ledger.recordClaim(receipt)
        receipt.state = .finished
        receipt.outcome = .rejected
        receipt.fileType = .enrollment
        receipt.binding = .csv
        receipt.recordsReceived = 3
        receipt.errorCount = 2
        receipt.finishedAt = ReviewWorld.now
        let issues = [
            ValidationIssue(code: .extraLabel, message: "The header has a column lastName that enrollment files do not have."),
            ValidationIssue(code: .constraintError, message: "ssid must be ten digits.", line: 3, field: "ssid", recordKey: "a2"),
        ]
        try await ledger.update(receipt, recordingDeliveries: [], findings: ReceiptFindings(issues: issues), applying: .none)
        let quarantined = tree.filedPath(receiptId: receipt.id, orgId: "061010", name: "enr.csv", quarantined: true, claimedAt: ReviewWorld.now)
        try FileManager.default.createDirectory(atPath: (quarantined as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try ReviewWorld.original.write(toFile: quarantined, atomically: true, encoding: .utf8)

        var waiverReceipt = Receipt(id: "R165901-1", senderOrgId: "165901", originalName: "wvr.csv", sizeBytes: 10, sha256: "cd", claimedAt: ReviewWorld.now)
        try await ledger.recordClaim(waiverReceipt)
        waiverReceipt.state = .finished
        waiverReceipt.outcome = .accepted
        let request = WaiverRequest(
            id: "83092784-227b-45ab-97af-60a077f0f74b", centerOrgId: "165901", schoolYear: 2027, values: ["reasonCode": "ALT_SIS"],
            receiptId: waiverReceipt.id, receivedAt: ReviewWorld.now)
        try await ledger.update(waiverReceipt, recordingDeliveries: [], findings: ReceiptFindings(), applying: LedgerChanges(waivers: [request]))

        let reference: @Sendable () -> ReferenceData = { ReviewWorld.reference }
        let clock: @Sendable () -> Timestamp = { ReviewWorld.now }
        let desk = SupportDesk(tree: tree, ledger: ledger, reference: reference, now: clock)
        let jobs = JobRunner(tree: tree, ledger: ledger, reference: reference, now: clock, newRunId: { "J-1" })
        let users = SupportUsers(hashes: ["support": Bcrypt.hash(ReviewWorld.password, cost: 4)])
        site = try ReviewSite(
            desk: desk, jobs: jobs, users: users, loginProblem: loginProblem, reprocessFile: reprocessFile, metrics: PrometheusCollectorRegistry(),
            logger: Logger(label: "test"))
    }

    func application() -> some ApplicationProtocol {
        Application(router: site.router(sessions: MemoryPersistDriver()))
    }
}

/// A browser's cookies, as far as the tests need them.
struct CookieJar {
    var cookies: [String: String] = [:]

    mutating func take(_ response: TestResponse) {
        for header in response.headers[values: .setCookie] {
            let pair = header.split(separator: ";").first.map(String.init) ?? ""
            guard let equals = pair.firstIndex(of: "=") else { continue }
            cookies[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
    }

    var header: HTTPFields {
        cookies.isEmpty ? [:] : [.cookie: cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ")]
    }
}

func form(_ fields: [String: String]) -> ByteBuffer {
    let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
    return ByteBuffer(
        string: fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed)!)" }
            .joined(separator: "&"))
}

func hidden(_ name: String, in html: String) -> String? {
    guard let range = html.range(of: "name=\"\(name)\" value=\"") else { return nil }
    return String(html[range.upperBound...].prefix { $0 != "\"" })
}

extension TestClientProtocol {
    /// Opens the login page as a browser would: its cookies, the form's token, the headers to post it with.
    func openLoginForm(_ uri: String = "/login") async throws -> (jar: CookieJar, token: String, headers: HTTPFields, html: String) {
        var jar = CookieJar()
        let page = try await execute(uri: uri, method: .get)
        jar.take(page)
        let html = String(buffer: page.body)
        let token = try #require(hidden("token", in: html))
        var headers = jar.header
        headers[.contentType] = "application/x-www-form-urlencoded"
        return (jar, token, headers, html)
    }

    /// Logs in as `support` and returns the browser's cookies and the session's form token.
    func logIn(password: String = ReviewWorld.password) async throws -> (jar: CookieJar, csrf: String) {
        var (jar, token, headers, _) = try await openLoginForm()
        let response = try await execute(
            uri: "/login", method: .post, headers: headers,
            body: form(["username": "support", "password": password, "token": token, "next": "/waivers"]))
        #expect(response.status == .seeOther)
        #expect(response.headers[.location] == "/waivers")
        jar.take(response)
        let waivers = try await execute(uri: "/waivers", method: .get, headers: jar.header)
        let csrf = try #require(hidden("csrf", in: String(buffer: waivers.body)))
        return (jar, csrf)
    }
}

@Suite("Review page: login, CSRF, rejection and waiver views, metrics")
struct ReviewSiteTests {
    static let pages = ["/", "/submissions", "/submissions?outcome=rejected", "/receipts/R061010-1", "/deliveries", "/quiet", "/waivers",
                        "/waivers/83092784-227b-45ab-97af-60a077f0f74b", "/status", "/nowhere"]
    static let actions = ["/logout", "/waivers/83092784-227b-45ab-97af-60a077f0f74b/decision"]

    @Test("without a login every page is refused and every action forbidden; only health, metrics and style are open")
    func refusedWithoutLogin() async throws {
        try await withTemporaryDirectory { root in
            let world = try await ReviewWorld(root: root)
            try await world.application().test(.router) { client in
                for page in Self.pages {
                    let response = try await client.execute(uri: page, method: .get)
                    #expect(response.status == .seeOther, "\(page)")
                    #expect(response.headers[.location]?.hasPrefix("/login?next=") == true, "\(page)")
                    let body = String(buffer: response.body)
                    #expect(!body.contains("21000000X2") && !body.contains("enr.csv") && !body.contains("ALT_SIS"), "\(page)")
                }
                for action in Self.actions {
                    let response = try await client.execute(
                        uri: action, method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                        body: form(["decision": "approve", "reason": "ok", "csrf": "guess"]))
                    #expect(response.status == .forbidden, "\(action)")
                }
                #expect(try await world.ledger.allWaivers().first?.status == .pending)
                let health = try await client.execute(uri: "/healthz", method: .get)
                #expect(health.status == .ok)
                #expect(String(buffer: health.body).contains("\"status\":\"ok\""))
                let metrics = try await client.execute(uri: "/metrics", method: .get)
                #expect(metrics.status == .ok)
                #expect(String(buffer: metrics.body).contains("ktsx_deliveries_waiting"))
                for open in ["/healthz", "/metrics"] {
                    let body = String(buffer: try await client.execute(uri: open, method: .get).body)
                    #expect(!body.contains("21000000X2") && !body.contains("061010") && !body.contains("enr.csv"), "\(open)")
                }
            }
        }
    }

    @Test("login needs the right password and the form's own token; the session cookie is HttpOnly and SameSite=Strict")
    func login() async throws {
        try await withTemporaryDirectory { root in
            let world = try await ReviewWorld(root: root)
            try await world.application().test(.router) { client in
                var (jar, token, headers, html) = try await client.openLoginForm("/login?next=//evil.example/")
                #expect(hidden("next", in: html) == "/submissions")
                // A tab (which browsers drop from a location) cannot turn a path into another site's address.
                let tabbed = String(buffer: try await client.execute(uri: "/login?next=/%09/evil.example", method: .get).body)
                #expect(hidden("next", in: tabbed) == "/submissions")
                let wrong = try await client.execute(
                    uri: "/login", method: .post, headers: headers, body: form(["username": "support", "password": "nope", "token": token]))
                #expect(wrong.status == .unauthorized)
                #expect(String(buffer: wrong.body).contains("Wrong user name or password."))
                let unknown = try await client.execute(
                    uri: "/login", method: .post, headers: headers, body: form(["username": "nobody", "password": ReviewWorld.password, "token": token]))
                #expect(unknown.status == .unauthorized)
                // Another site's form cannot log a browser in: it has no token cookie to match.
                let forged = try await client.execute(
                    uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                    body: form(["username": "support", "password": ReviewWorld.password, "token": token]))
                #expect(forged.status == .forbidden)
                var crossSite = headers
                crossSite[.origin] = "http://evil.example"
                let fromElsewhere = try await client.execute(
                    uri: "/login", method: .post, headers: crossSite,
                    body: form(["username": "support", "password": ReviewWorld.password, "token": token]))
                #expect(fromElsewhere.status == .forbidden)
                let good = try await client.execute(
                    uri: "/login", method: .post, headers: headers,
                    body: form(["username": "support", "password": ReviewWorld.password, "token": token]))
                #expect(good.status == .seeOther)
                let cookie = try #require(good.headers[values: .setCookie].first { $0.hasPrefix("ktsx_session=") })
                #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "\(cookie)")
                jar.take(good)
                for page in Self.pages where page != "/nowhere" {
                    let response = try await client.execute(uri: page, method: .get, headers: jar.header)
                    #expect(response.status == .ok || (page == "/" && response.status == .seeOther), "\(page)")
                    #expect(response.headers[.cacheControl] == "no-store")
                }
            }
        }
    }

    @Test("after five wrong passwords for a name, even the right one is refused for a while")
    func throttledLogin() async throws {
        try await withTemporaryDirectory { root in
            let world = try await ReviewWorld(root: root)
            try await world.application().test(.router) { client in
                let (_, token, headers, _) = try await client.openLoginForm()
                for guess in 1...5 {
                    let wrong = try await client.execute(
                        uri: "/login", method: .post, headers: headers, body: form(["username": "support", "password": "guess \(guess)", "token": token]))
                    #expect(wrong.status == .unauthorized)
                }
                let right = try await client.execute(
                    uri: "/login", method: .post, headers: headers, body: form(["username": "support", "password": ReviewWorld.password, "token": token]))
                #expect(right.status == .tooManyRequests)
                #expect(String(buffer: right.body).contains("Too many failed logins"))
                #expect(right.headers[values: .setCookie].allSatisfy { !$0.hasPrefix("ktsx_session=") })
            }
        }
    }

    @Test("errors carry the pages' security headers; HEAD answers as GET without a body")
    func errorsAndHead() async throws {
        try await withTemporaryDirectory { root in
            let world = try await ReviewWorld(root: root)
            try await world.application().test(.router) { client in
                let (jar, _) = try await client.logIn()
                let missing = try await client.execute(uri: "/no-such-page", method: .get, headers: jar.header)
                #expect(missing.status == .notFound)
                let missingReceipt = try await client.execute(uri: "/receipts/R000000-nope", method: .get, headers: jar.header)
                for response in [missing, missingReceipt] {
                    #expect(response.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true, "\(response.status)")
                    #expect(response.headers[.xContentTypeOptions] == "nosniff")
                    #expect(response.headers[.cacheControl] == "no-store")
                }
                for page in ["/healthz", "/submissions", "/login"] {
                    let head = try await client.execute(uri: page, method: .head, headers: jar.header)
                    #expect(head.status == .ok, "HEAD \(page)")
                    #expect(head.body.readableBytes == 0, "HEAD \(page)")
                    #expect(head.headers[.contentSecurityPolicy] != nil)
                }
                // Without a login, HEAD on a page is sent to the login page, as GET is.
                let anonymous = try await client.execute(uri: "/submissions", method: .head)
                #expect(anonymous.status == .seeOther)
            }
        }
    }

    @Test("control and direction characters in names and cells are shown by their code, never acting on the page")
    func controlCharactersShown() async throws {
        try await withTemporaryDirectory { root in
            let world = try await ReviewWorld(root: root)
            let name = "report\u{202E}vsc.exe\u{0}\u{7}.csv"
            var receipt = Receipt(id: "R061020-9", senderOrgId: "061020", originalName: name, sizeBytes: 5, sha256: "ef", claimedAt: ReviewWorld.now)
            try await world.ledger.recordClaim(receipt)
            receipt.state = .finished
            receipt.outcome = .rejected
            try await world.ledger.update(
                receipt, recordingDeliveries: [],
                findings: ReceiptFindings(issues: [ValidationIssue(code: .csvSyntax, message: "a cell \u{2066}quoted\u{2069} badly", line: 2)]),
                applying: .none)
            try await world.application().test(.router) { client in
                let (jar, _) = try await client.logIn()
                for page in ["/submissions", "/receipts/R061020-9"] {
                    let body = String(buffer: try await client.execute(uri: page, method: .get, headers: jar.header).body)
                    #expect(body.contains("report⟨U+202E⟩vsc.exe⟨U+0000⟩⟨U+0007⟩.csv"), "\(page)")
                    #expect(!body.unicodeScalars.contains { [0x202E, 0x2066, 0x2069, 0x00, 0x07].contains($0.value) }, "\(page)")
                }
            }
        }
        #expect(VisibleText.make("tab\tline\nfine") == "tab\tline\nfine")
        #expect(VisibleText.make("\u{FEFF}bom\u{200B}") == "⟨U+FEFF⟩bom⟨U+200B⟩")
    }

    @Test("the hostile-client suite knows every route: Tests/HostileClient/routes.txt is the site's routes, HEAD beside every GET")
    func everyRouteIsInTheSuite() async throws {
        try await withTemporaryDirectory { root in
            let world = try await ReviewWorld(root: root)
            let routes = world.site.router(sessions: MemoryPersistDriver()).routes.map { "\($0.method.rawValue) \($0.path)" }
            let listed = try String(contentsOf: Repository.root.appendingPathComponent("Tests/HostileClient/routes.txt"), encoding: .utf8)
                .split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") && !$0.isEmpty }
            let heads = routes.filter { $0.hasPrefix("HEAD ") }
            #expect(Set(routes).subtracting(heads) == Set(listed))
            #expect(Set(heads.map { "GET " + $0.dropFirst(5) }) == Set(listed.filter { $0.hasPrefix("GET ") }))
        }
    }

    @Test("a request with two Host headers is refused, logged in or not")
    func hostNamedTwice() async throws {
        try await withTemporaryDirectory { root in
            let world = try await ReviewWorld(root: root)
            try await world.application().test(.router) { client in
                let (jar, _) = try await client.logIn()
                var twice = jar.header
                twice.append(.init(name: .init("Host")!, value: "evil.example"))
                for uri in ["/status", "/healthz"] {
                    let response = try await client.execute(uri: uri, method: .get, headers: twice)
                    #expect(response.status == .badRequest, "\(uri)")
                    #expect(!String(buffer: response.body).contains("Status"), "\(uri)")
                }
                #expect(try await client.execute(uri: "/status", method: .get, headers: jar.header).status == .ok)
            }
        }
    }

    @Test("the site answers to its own address: loopback names for a loopback address, any for all interfaces")
    func hostNames() {
        #expect(ReviewAddress(host: "127.0.0.1", port: 8480).hostNames == ["127.0.0.1:8480", "localhost:8480", "[::1]:8480"])
        #expect(ReviewAddress(host: "Review.Example.org", port: 443).hostNames == ["review.example.org:443"])
        #expect(ReviewAddress(host: "0.0.0.0", port: 8480).hostNames == nil)
        #expect(ReviewAddress(host: "10.1.2.3", port: 80).hostNames == ["10.1.2.3:80", "10.1.2.3"])
    }

    @Test("a change must come from the site's own origin: host, port and scheme")
    func originScheme() {
        func request(origin: String) -> Request {
            Request(
                head: HTTPRequest(
                    method: .post, scheme: "http", authority: "127.0.0.1:8480", path: "/logout", headerFields: [.origin: origin]),
                body: .init(buffer: ByteBuffer()))
        }
        #expect(ReviewGate.sameOrigin(request(origin: "http://127.0.0.1:8480")))
        #expect(!ReviewGate.sameOrigin(request(origin: "https://127.0.0.1:8480")))
        #expect(!ReviewGate.sameOrigin(request(origin: "ftp://127.0.0.1:8480")))
        #expect(!ReviewGate.sameOrigin(request(origin: "http://127.0.0.1:8481")))
        #expect(!ReviewGate.sameOrigin(request(origin: "null")))
    }

    @Test("when the support users' file has problems, even the right password is refused (503) and /healthz says so")
    func loginsOffWhenTheFileIsBroken() async throws {
        try await withTemporaryDirectory { root in
            let world = try await ReviewWorld(root: root, loginProblem: "support-users.csv, line 1: the header is missing")
            try await world.application().test(.router) { client in
                let (_, token, headers, _) = try await client.openLoginForm()
                let right = try await client.execute(
                    uri: "/login", method: .post, headers: headers, body: form(["username": "support", "password": ReviewWorld.password, "token": token]))
                #expect(right.status == .serviceUnavailable)
                #expect(right.headers[values: .setCookie].allSatisfy { !$0.hasPrefix("ktsx_session=") })
                let health = try await client.execute(uri: "/healthz", method: .get)
                #expect(health.status == .ok)
                #expect(String(buffer: health.body).contains("reviewLogins"))
            }
        }
    }

    @Test("thirty logins for one name at once (29 wrong, 1 right): at most five reach the password check, the rest are refused")
    func concurrentLogins() async throws {
        try await withTemporaryDirectory { root in
            let world = try await ReviewWorld(root: root)
            try await world.application().test(.router) { client in
                let (_, token, headers, _) = try await client.openLoginForm()
                let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                    for attempt in 0..<30 {
                        let password = attempt == 17 ? ReviewWorld.password : "guess \(attempt)"
                        group.addTask {
                            try await client.execute(
                                uri: "/login", method: .post, headers: headers,
                                body: form(["username": "support", "password": password, "token": token])
                            ).status
                        }
                    }
                    var statuses: [HTTPResponse.Status] = []
                    for try await status in group { statuses.append(status) }
                    return statuses
                }
                // At most five reach the password check; the others are refused at once, by the name's throttle (429)
                // or by the bounded queue of checks (503: one client may have one waiting). Thirty clients at once, over real
                // sockets: Tests/HostileClient/hostile_client.py, run by HostileClientTests.
                let checked = statuses.filter { $0 == .unauthorized || $0 == .seeOther }
                #expect(checked.count >= 1 && checked.count <= 5, "\(statuses.map(\.code))")
                #expect(statuses.allSatisfy { [.unauthorized, .seeOther, .tooManyRequests, .serviceUnavailable].contains($0) })
            }
        }
    }

    @Test("support judges a rejected file again from its page, with a reason that is required and recorded")
    func judgeAgain() async throws {
        try await withTemporaryDirectory { root in
            let asked = Mutex<[(String, String)]>([])
            let ledger = InMemoryLedger()
            let world = try await ReviewWorld(root: root) { id, reason, _ in
                // As FileProcessor.reprocess refuses a receipt it does not know.
                guard id == "R061010-1" else { throw SupportError(.unknownReceipt, "there is no receipt \(id)") }
                asked.withLock { $0.append((id, reason)) }
                var again = Receipt(id: "R061010-2", senderOrgId: "061010", originalName: "enr.csv", sizeBytes: 80, sha256: "ab", claimedAt: ReviewWorld.now)
                again.reprocessOf = id
                again.reprocessReason = reason
                try await ledger.recordClaim(again)
                return again
            }
            try await world.application().test(.router) { client in
                let (jar, csrf) = try await client.logIn()
                let page = String(buffer: try await client.execute(uri: "/receipts/R061010-1", method: .get, headers: jar.header).body)
                #expect(page.contains("action=\"/receipts/R061010-1/reprocess\""))
                var headers = jar.header
                headers[.contentType] = "application/x-www-form-urlencoded"
                let blank = try await client.execute(uri: "/receipts/R061010-1/reprocess", method: .post, headers: headers, body: form(["csrf": csrf, "reason": "  "]))
                #expect(blank.status == .badRequest)
                #expect(String(buffer: blank.body).contains("Say why the file is judged again"))
                let forged = try await client.execute(uri: "/receipts/R061010-1/reprocess", method: .post, headers: headers, body: form(["csrf": "x", "reason": "r"]))
                #expect(forged.status == .forbidden)
                #expect(asked.withLock { $0.isEmpty })
                let done = try await client.execute(
                    uri: "/receipts/R061010-1/reprocess", method: .post, headers: headers, body: form(["csrf": csrf, "reason": "AUT101 added to the catalog"]))
                #expect(done.status == .seeOther)
                #expect(done.headers[.location] == "/receipts/R061010-2")
                #expect(asked.withLock { $0.map { "\($0.0) \($0.1)" } } == ["R061010-1 AUT101 added to the catalog"])
                // A refusal of the exchange (here: a receipt it does not know) is shown on the page.
                let unknown = try await client.execute(uri: "/receipts/R9/reprocess", method: .post, headers: headers, body: form(["csrf": csrf, "reason": "x"]))
                #expect(unknown.status == .notFound)
            }
            #expect(try await ledger.receipt(id: "R061010-2")?.reprocessReason == "AUT101 added to the catalog")
        }
    }

    @Test("a receipt of a retired school year says where its details went")
    func retiredReceipt() async throws {
        try await withTemporaryDirectory { root in
            let world = try await ReviewWorld(root: root)
            let before = String(buffer: try await world.application().test(.router) { client in
                let (jar, _) = try await client.logIn()
                return try await client.execute(uri: "/receipts/R061010-1", method: .get, headers: jar.header).body
            })
            #expect(!before.contains("id=\"retired\""))
            let now = ReviewWorld.now.secondsSinceEpoch
            world.ledger.recordRetired(
                RetiredYear(
                    schoolYear: 2026, claimedFrom: Timestamp(secondsSinceEpoch: now - 10), claimedBefore: Timestamp(secondsSinceEpoch: now + 10),
                    archiveFile: "/var/lib/ktsx/retired/school-year-2026.sqlite", startedAt: ReviewWorld.now, finishedAt: ReviewWorld.now))
            try await world.application().test(.router) { client in
                let (jar, _) = try await client.logIn()
                let html = String(buffer: try await client.execute(uri: "/receipts/R061010-1", method: .get, headers: jar.header).body)
                #expect(html.contains("id=\"retired\">School year 2026 was retired from the ledger on "), "\(html)")
                #expect(html.contains("are in the archive /var/lib/ktsx/retired/school-year-2026.sqlite, not shown here."))
            }
        }
    }

    @Test("a rejection shows each error beside its row, escaped; file-level errors above")
    func rejectionView() async throws {
        try await withTemporaryDirectory { root in
            let world = try await ReviewWorld(root: root)
            try await world.application().test(.router) { client in
                let (jar, _) = try await client.logIn()
                let html = String(buffer: try await client.execute(uri: "/receipts/R061010-1", method: .get, headers: jar.header).body)
                #expect(html.contains("<span class=\"badge outcome-REJECTED\" id=\"outcome\">REJECTED</span>"))
                #expect(html.contains("<li><span class=\"code\">extra-label</span> The header has a column lastName"))
                let row = try #require(html.range(of: "id=\"line-3\"").map { String(html[$0.lowerBound...].prefix(900)) })
                #expect(row.contains("<span class=\"cell\" title=\"lastName\">&lt;script&gt;alert(1)&lt;/script&gt;</span>"), "\(row)")
                #expect(row.contains("<span class=\"cell faulty\" title=\"ssid\">21000000X2</span>"))
                #expect(row.contains("<span class=\"code\">constraint-error</span> <span class=\"field\">ssid</span> ssid must be ten digits."))
                #expect(html.contains("id=\"line-1\""))
                #expect(!html.contains("id=\"line-2\"") && !html.contains("id=\"line-4\""))
                #expect(!html.contains("<script>"))
                let list = String(buffer: try await client.execute(uri: "/submissions?outcome=rejected&participant=061010", method: .get, headers: jar.header).body)
                #expect(list.contains("<a href=\"/receipts/R061010-1\">enr.csv</a>"))
                #expect(list.contains("Ridgeline High &lt;School&gt;"))
                let none = String(buffer: try await client.execute(uri: "/submissions?outcome=accepted", method: .get, headers: jar.header).body)
                #expect(!none.contains("/receipts/R061010-1"))
                let bad = String(buffer: try await client.execute(uri: "/submissions?from=yesterday", method: .get, headers: jar.header).body)
                #expect(bad.contains("from must be a date YYYY-MM-DD, not &#39;yesterday&#39;"))
            }
        }
    }

    @Test("a waiver decision needs the session's form token and a same-origin request; then it is made once")
    func waiverDecision() async throws {
        try await withTemporaryDirectory { root in
            let world = try await ReviewWorld(root: root)
            try await world.application().test(.router) { client in
                let (jar, csrf) = try await client.logIn()
                let uri = "/waivers/83092784-227b-45ab-97af-60a077f0f74b/decision"
                var headers = jar.header
                headers[.contentType] = "application/x-www-form-urlencoded"
                let noToken = try await client.execute(uri: uri, method: .post, headers: headers, body: form(["decision": "approve", "reason": "ok"]))
                #expect(noToken.status == .forbidden)
                var crossSite = headers
                crossSite[.origin] = "http://evil.example"
                let forged = try await client.execute(
                    uri: uri, method: .post, headers: crossSite, body: form(["decision": "approve", "reason": "ok", "csrf": csrf]))
                #expect(forged.status == .forbidden)
                #expect(try await world.ledger.allWaivers().first?.status == .pending)
                var sameSite = headers
                sameSite[.origin] = "http://localhost"
                let made = try await client.execute(
                    uri: uri, method: .post, headers: sameSite,
                    body: form(["decision": "deny", "reason": "The center runs KSIS itself.", "csrf": csrf]))
                #expect(made.status == .seeOther)
                #expect(try await world.ledger.allWaivers().first?.status == .denied)
                let page = String(buffer: try await client.execute(uri: "/waivers/83092784-227b-45ab-97af-60a077f0f74b", method: .get, headers: jar.header).body)
                #expect(page.contains("id=\"status\">denied</span>"))
                #expect(page.contains("The center runs KSIS itself."))
                #expect(page.contains("KTSX_WVD_165901_"))
                #expect(!page.contains("name=\"decision\""))
                let again = try await client.execute(
                    uri: uri, method: .post, headers: headers, body: form(["decision": "approve", "reason": "ok", "csrf": csrf]))
                #expect(again.status == .conflict)
                #expect(String(buffer: again.body).contains("already denied"))
                // After logout the token is worthless.
                let out = try await client.execute(uri: "/logout", method: .post, headers: headers, body: form(["csrf": csrf]))
                #expect(out.status == .seeOther)
                var afterLogout = CookieJar(cookies: jar.cookies)
                afterLogout.take(out)
                let stale = try await client.execute(uri: "/waivers", method: .get, headers: afterLogout.header)
                #expect(stale.status == .seeOther)
            }
        }
    }
}

@Suite("Review page parts: error rows, support users, where a login returns, the login throttle")
struct ReviewPartsTests {
    @Test("after login only a path of this site is followed", arguments: [
        ("/receipts/R1?x=1", "/receipts/R1?x=1"), ("/waivers/83092784-227b", "/waivers/83092784-227b"), ("//evil.example", "/submissions"),
        ("/\t/evil.example", "/submissions"), ("/\\evil.example", "/submissions"), ("https://evil.example", "/submissions"),
        ("/\n/evil", "/submissions"), ("/login?next=/x", "/submissions"), ("", "/submissions"), ("/é", "/submissions"),
    ])
    func safeNext(next: String, followed: String) {
        #expect(ReviewSite.safeNext(next) == followed)
    }

    @Test("five failed logins for a name within the window refuse that name until the oldest ages out; a right one is forgiven")
    func throttle() {
        let throttle = AttemptThrottle(limit: 5, window: .seconds(900))
        let start = ContinuousClock.now
        // A right password does not use up an attempt.
        let right = throttle.attempt("jdoe", at: start)
        #expect(right != nil)
        throttle.succeeded("jdoe", attempt: right!)
        for second in 0..<5 {
            #expect(throttle.attempt("jdoe", at: start + .seconds(second)) != nil)
        }
        #expect(throttle.attempt("jdoe", at: start + .seconds(10)) == nil)
        #expect(throttle.attempt("someone", at: start + .seconds(10)) != nil)
        #expect(throttle.attempt("jdoe", at: start + .seconds(901)) != nil)
    }

    @Test("the queue of password checks holds at most eight, one from each client; a place given back is free again")
    func passwordCheckQueue() {
        let queue = ClientSlots()
        #expect(queue.enter(client: "10.0.0.1"))
        #expect(!queue.enter(client: "10.0.0.1"), "a second check from one client waits for none")
        for client in 2...8 { #expect(queue.enter(client: "10.0.0.\(client)")) }
        #expect(!queue.enter(client: "10.0.0.9"), "the ninth check in all is turned away")
        queue.leave(client: "10.0.0.1")
        #expect(queue.enter(client: "10.0.0.9"))
        #expect(!queue.enter(client: "10.0.0.1"))
    }

    @Test("thirty attempts for one name at once: five are let through to the password check, the rest refused")
    func throttleConcurrent() async {
        let throttle = AttemptThrottle(limit: 5, window: .seconds(900))
        let granted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<30 { group.addTask { throttle.attempt("support") != nil } }
            var count = 0
            for await passed in group where passed { count += 1 }
            return count
        }
        #expect(granted == 5)
    }

    @Test("CSV errors show the header and their rows; XML errors two lines either side; gaps marked; file errors apart")
    func errorRows() {
        let issues = [
            ValidationIssue(code: .typeError, message: "m", line: 5), ValidationIssue(code: .typeError, message: "n", line: 5),
            ValidationIssue(code: .emptyFile, message: "f"), ValidationIssue(code: .typeError, message: "o", line: 9),
        ]
        let lines = (1...10).map { "line \($0)" }
        let csv = ErrorRows(issues: issues, original: lines, binding: .csv)
        #expect(csv.rows.map(\.number) == [1, 5, 9])
        #expect(csv.rows.map(\.gapBefore) == [false, true, true])
        #expect(csv.rows.map(\.issues.count) == [0, 2, 1])
        #expect(csv.rows.map(\.text) == ["line 1", "line 5", "line 9"])
        #expect(csv.fileIssues.map(\.code) == [.emptyFile])
        let xml = ErrorRows(issues: issues, original: lines, binding: .xml)
        #expect(xml.rows.map(\.number) == [3, 4, 5, 6, 7, 8, 9, 10])
        #expect(csv.rows.map { $0.cells?.map(\.value) } == [nil, ["line 5"], ["line 9"]], "only rows with errors are split into cells")
        let table = ["id,ssid,name", "a,1,x", "b,\"2,5\",y", "c,\"broken"]
        let marked = ErrorRows(
            issues: [ValidationIssue(code: .typeError, message: "m", line: 3, field: "ssid"), ValidationIssue(code: .csvSyntax, message: "q", line: 4)],
            original: table, binding: .csv)
        #expect(marked.rows.map(\.number) == [1, 3, 4])
        #expect(marked.rows[1].cells == [
            .init(name: "id", value: "b", faulty: false), .init(name: "ssid", value: "2,5", faulty: true), .init(name: "name", value: "y", faulty: false),
        ])
        #expect(marked.rows[2].cells == nil)
        let missing = ErrorRows(issues: issues, original: nil as OriginalLines?, binding: .csv)
        #expect(missing.rows.map(\.text) == [nil, nil, nil])
    }

    @Test("support-users.csv: bcrypt hashes only, names checked, duplicates refused; verification")
    func users() throws {
        let hash = Bcrypt.hash("a long enough password", cost: 4)
        let users = try SupportUsers.parse(Array("username,passwordHash\njdoe,\(hash)\n".utf8))
        #expect(users.names == ["jdoe"])
        #expect(users.verify(user: "jdoe", password: "a long enough password"))
        #expect(!users.verify(user: "jdoe", password: "A long enough password"))
        #expect(!users.verify(user: "ghost", password: "a long enough password"))
        do {
            _ = try SupportUsers.parse(Array("username,passwordHash\njdoe,plaintext\nj doe,\(hash)\njdoe,\(hash)\n".utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.errors.map(\.line) == [2, 3])
            #expect(error.description.contains("support-users.csv:2: the passwordHash of jdoe is not a bcrypt hash"))
        }
        do {
            _ = try SupportUsers.parse(Array("username,passwordHash\njdoe,\(hash)\njdoe,\(hash)\n".utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.description.contains("support-users.csv:3: user jdoe is listed twice"))
        }
    }
}
