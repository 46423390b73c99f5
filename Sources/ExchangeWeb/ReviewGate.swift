import Foundation
import Hummingbird
import HummingbirdAuth

/// Stands before every page: without a session, a page is refused (a GET is sent to the login page, any
/// other request gets 403); with one, a request that changes something must come from our own pages
/// (same origin, when the browser says) and carry the session's form token. Every response gets headers
/// that keep it out of caches, frames and other sites' scripts.
struct ReviewGate: RouterMiddleware {
    typealias Context = ReviewContext

    /// Paths served without a login: they show no student data.
    static let openPaths: Set<String> = ["/login", "/healthz", "/metrics", "/style.css", "/favicon.ico"]
    /// The largest form body read.
    static let maxFormBytes = 64 * 1024
    /// The `Host` values the site answers to (nil: any): a page asked for under another name came through
    /// a name that is not ours (DNS rebinding) and is refused, open pages included.
    let hostNames: Set<String>?
    /// Uploads in progress (one per client, a few in all): an upload's body is held in memory until it is
    /// judged, so they are bounded before the body is read.
    let transfers: ClientSlots

    init(hostNames: Set<String>? = nil, transfers: ClientSlots = ClientSlots(limit: 4, perClient: 1)) {
        self.hostNames = hostNames
        self.transfers = transfers
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await decide(request, context: context, next: next)
            // HEAD is GET without the body, on every page GET serves.
            if request.method == .head { response.body = .init() }
        } catch let error as any HTTPResponseError {
            // Errors (a page not found, a body too large, a bad request) get the same headers as pages.
            response = try error.response(from: request, context: context)
        }
        response.headers[.cacheControl] = "no-store"
        response.headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.init("Referrer-Policy")!] = "same-origin"
        return response
    }

    private func decide(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // One Host header: the first becomes the request's authority and a second stays among the fields,
        // where another reader (a proxy, a log) may take it for the host (RFC 9112: answer 400). A target in
        // absolute form loses its host before this point: the authority is always the Host header's.
        guard !request.headers.contains(where: { $0.name.canonicalName == "host" }) else {
            var refused = ReviewGate.refusal("This request names its host more than once.")
            refused.status = .badRequest
            return refused
        }
        if let hostNames, !hostNames.contains((request.head.authority ?? "").lowercased()) {
            var refused = ReviewGate.refusal("This site answers only under its own address.")
            refused.status = .misdirectedRequest
            return refused
        }
        let changes = request.method != .get && request.method != .head
        if changes, !ReviewGate.sameOrigin(request) {
            return ReviewGate.refusal("This request did not come from the review page.")
        }
        if ReviewGate.openPaths.contains(request.uri.path) { return try await next(request, context) }
        guard let session = context.sessions.session else {
            guard !changes else { return ReviewGate.refusal("Log in first.") }
            let next = request.uri.path + (request.uri.query.map { "?\($0)" } ?? "")
            return .redirect(to: "/login?next=\(ReviewGate.percentEncoded(next))")
        }
        // A clerk has its organisation's pages (under /my) and nothing else; support has every page but
        // those, which belong to an organisation (support sees them under /participants/ORGID). A page
        // one may not open is not found, as if it did not exist.
        let path = request.uri.path
        guard path == "/" || path == "/logout" || (session.orgId != nil) == ReviewGate.isOrganisationPath(path) else {
            return ReviewGate.notFound()
        }
        guard changes else { return try await next(request, context) }
        var request = request
        let upload = ReviewGate.isUploadPath(path)
        if upload {
            guard transfers.enter(client: context.client) else {
                var busy = ReviewGate.refusal("Too many files are being sent to this site right now. Try again in a minute.")
                busy.status = .serviceUnavailable
                busy.headers[.retryAfter] = "60"
                return busy
            }
        }
        defer { if upload { transfers.leave(client: context.client) } }
        let body = try await request.collectBody(upTo: upload ? FileUpload.maxBytes + ReviewGate.maxFormBytes : ReviewGate.maxFormBytes)
        guard let token = ReviewGate.formToken(in: body, contentType: request.headers[.contentType] ?? ""),
            ReviewGate.constantTimeEqual(token, session.csrf)
        else {
            return ReviewGate.refusal("The page was out of date. Go back, reload it and try again.")
        }
        return try await next(request, context)
    }

    /// Whether `path` is one of a clerk's own pages: `/my` and below.
    static func isOrganisationPath(_ path: String) -> Bool { path == "/my" || path.hasPrefix("/my/") }

    /// Whether `path` takes a file upload (a pre-check), whose body may be as large as `FileUpload.maxBytes`.
    static func isUploadPath(_ path: String) -> Bool { path.hasSuffix("/check") }

    private struct TokenField: Decodable {
        var csrf: String?
    }

    /// The form token a form body carries: its `csrf` field, URL-encoded or in a multipart form.
    static func formToken(in body: ByteBuffer, contentType: String) -> String? {
        if let boundary = MultipartForm.boundary(contentType: contentType) {
            return MultipartForm(body: Array(buffer: body), boundary: boundary)?.value("csrf")
        }
        return (try? URLEncodedFormDecoder().decode(TokenField.self, from: String(buffer: body)))?.csrf
    }

    /// The answer for a page that is not there, or not one's to see (no student data).
    static func notFound() -> Response {
        let html = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not found</title></head><body><p>There is no such page.</p><p><a href=\"/\">Home</a></p></body></html>"
        return Response(
            status: .notFound, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// A 403 page that says why (no student data).
    static func refusal(_ message: String) -> Response {
        let html = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Refused</title></head><body><p>\(message)</p><p><a href=\"/login\">Log in</a></p></body></html>"
        return Response(
            status: .forbidden, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// True unless the browser names an Origin (or, lacking one, a Referer) other than the site asked: the
    /// same host and port, and the scheme the site serves (`http`: it serves no TLS itself). (A request
    /// naming neither still needs the form token.)
    static func sameOrigin(_ request: Request) -> Bool {
        guard let claimed = request.headers[.origin] ?? request.headers[.referer] else { return true }
        guard let host = request.head.authority, let url = URL(string: claimed), let claimedHost = url.host,
            url.scheme?.lowercased() == "http"
        else { return false }
        let port = url.port.map { ":\($0)" } ?? ""
        return "\(claimedHost)\(port)" == host || "[\(claimedHost)]\(port)" == host
    }

    /// Compares two tokens in time that depends only on their lengths.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// Percent-encodes a path (with its query) for use as a query value: everything but unreserved
    /// characters and `/`.
    static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~/"))) ?? ""
    }
}
