import Hummingbird
import HummingbirdAuth

/// What a logged-in person's session holds: who, whose pages they may see, and the token every form
/// that changes something must carry (CSRF protection).
public struct SiteSession: Codable, Sendable, Equatable {
    /// The user name.
    public var user: String
    /// The session's form token.
    public var csrf: String
    /// A participant's clerk: its organisation, whose pages alone it may see. Nil for support, who sees
    /// every page.
    public var orgId: String? = nil
}

/// The request context of the review page: the core context, the session and who is asking.
public struct ReviewContext: SessionRequestContext, RequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The session, loaded by the session middleware.
    public let sessions: SessionContext<SiteSession>
    /// The client's address (its IP, without the port), when the connection has one: logins are limited
    /// per client.
    public let client: String

    /// A context for a request.
    public init(source: Source) {
        coreContext = .init(source: source)
        sessions = .init()
        client = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }
}
