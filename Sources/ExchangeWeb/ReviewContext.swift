import Hummingbird
import HummingbirdAuth

/// What a logged-in support person's session holds: who, and the token every form that changes
/// something must carry (CSRF protection).
public struct SupportSession: Codable, Sendable, Equatable {
    /// The user name.
    public var user: String
    /// The session's form token.
    public var csrf: String
}

/// The request context of the review page: the core context and the session.
public struct ReviewContext: SessionRequestContext, RequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The session, loaded by the session middleware.
    public let sessions: SessionContext<SupportSession>

    /// A context for a request.
    public init(source: Source) {
        coreContext = .init(source: source)
        sessions = .init()
    }
}
