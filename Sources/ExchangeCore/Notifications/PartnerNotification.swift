/// What a participant can choose to be told of.
public enum NotificationKind: String, Sendable, CaseIterable, Codable {
    /// A file it sent was rejected, or accepted with errors.
    case fileRejected = "file-rejected"
    /// Files have waited in its `outbound/` past the pickup threshold.
    case pickupOverdue = "pickup-overdue"
    /// A waiver request it sent was decided.
    case waiverDecided = "waiver-decided"
}

/// How a contact is reached.
public enum NotificationChannel: String, Sendable, Codable {
    /// An email, handed to the machine's mail transfer agent.
    case email
    /// An HTTPS POST of JSON, signed with the contact's secret.
    case webhook
}

/// Something that happened, told to the participant's contacts that chose its kind: never with student
/// data; it names a file or a page.
public struct NotificationEvent: Sendable, Equatable {
    /// Its identity: one event is told once to each contact (`file-rejected:R061010-…`).
    public var id: String
    /// Its kind.
    public var kind: NotificationKind
    /// The participant told.
    public var orgId: String
    /// One line.
    public var subject: String
    /// A few lines: what happened and what to do; a link when the site's address is known.
    public var body: String
    /// The facts a webhook's JSON carries besides (receipt id, file name, counts): no student data.
    public var facts: [String: String]

    /// An event.
    public init(id: String, kind: NotificationKind, orgId: String, subject: String, body: String, facts: [String: String]) {
        self.id = id
        self.kind = kind
        self.orgId = orgId
        self.subject = subject
        self.body = body
        self.facts = facts
    }
}

/// One event for one contact, as the ledger keeps it until it is sent.
public struct PartnerNotification: Sendable, Equatable {
    /// Where it stands.
    public enum State: String, Sendable {
        /// Waiting to be sent (again, from `nextAttemptAt`).
        case pending
        /// Sent: the mail agent or the webhook took it.
        case sent
        /// Given up after its attempts; the last error says why.
        case failed
    }

    /// The event.
    public var eventId: String
    /// The contact's key (`NotificationContacts.Contact.key`).
    public var contact: String
    /// The participant.
    public var orgId: String
    /// The event's kind.
    public var kind: NotificationKind
    /// The subject and body told.
    public var subject: String
    public var body: String
    /// The event's facts, as JSON text.
    public var facts: String
    /// When it was recorded.
    public var createdAt: Timestamp
    /// Where it stands.
    public var state: State = .pending
    /// Attempts made.
    public var attempts = 0
    /// When the next attempt is due.
    public var nextAttemptAt: Timestamp
    /// When it was sent.
    public var sentAt: Timestamp?
    /// Why the last attempt failed.
    public var lastError: String?

    /// A notification of `event` for `contact`, due at once.
    public init(event: NotificationEvent, contact: String, at time: Timestamp) {
        eventId = event.id
        self.contact = contact
        orgId = event.orgId
        kind = event.kind
        subject = event.subject
        body = event.body
        facts = "{" + event.facts.sorted { $0.key < $1.key }.map { "\(ReportRenderer.jsonString($0.key)): \(ReportRenderer.jsonString($0.value))" }
            .joined(separator: ", ") + "}"
        createdAt = time
        nextAttemptAt = time
    }

    /// A notification as stored.
    public init(
        eventId: String, contact: String, orgId: String, kind: NotificationKind, subject: String, body: String, facts: String,
        createdAt: Timestamp, state: State, attempts: Int, nextAttemptAt: Timestamp, sentAt: Timestamp?, lastError: String?
    ) {
        self.eventId = eventId
        self.contact = contact
        self.orgId = orgId
        self.kind = kind
        self.subject = subject
        self.body = body
        self.facts = facts
        self.createdAt = createdAt
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.sentAt = sentAt
        self.lastError = lastError
    }

    /// Seconds to wait after failed attempt number `attempts` (1, 2, …): 1, 5, 30 minutes, then 2 and 6
    /// hours; nil after the sixth: the notification has failed.
    public static func retryDelay(afterAttempt attempts: Int) -> Int64? {
        let delays: [Int64] = [60, 300, 1800, 7200, 21_600]
        return attempts >= 1 && attempts <= delays.count ? delays[attempts - 1] : nil
    }
}
