/// Who a participant wants told of what: `contacts.csv` in the configuration directory,
/// `orgId,channel,address,events,secret`. A channel is `email` (the address an email address) or `webhook`
/// (an `https://` URL, or `http://` on loopback for testing; the secret signs each request). The events
/// are `;`-separated kinds (`NotificationKind`) or `all`.
public struct NotificationContacts: Sendable, Equatable {
    /// The file's name in the configuration directory.
    public static let file = "contacts.csv"
    /// The header.
    public static let columns = ["orgId", "channel", "address", "events", "secret"]

    /// One contact of a participant.
    public struct Contact: Sendable, Equatable {
        /// The participant.
        public var orgId: String
        /// How it is reached.
        public var channel: NotificationChannel
        /// The email address or the webhook's URL.
        public var address: String
        /// What it wants to hear of.
        public var kinds: Set<NotificationKind>
        /// The webhook's shared secret (empty for email).
        public var secret: String

        /// The contact's key in the ledger: its channel and address.
        public var key: String { "\(channel.rawValue):\(address)" }

        /// A contact.
        public init(orgId: String, channel: NotificationChannel, address: String, kinds: Set<NotificationKind>, secret: String) {
            self.orgId = orgId
            self.channel = channel
            self.address = address
            self.kinds = kinds
            self.secret = secret
        }
    }

    /// Every contact, in the file's order.
    public var contacts: [Contact]

    /// Contacts (for tests).
    public init(_ contacts: [Contact] = []) {
        self.contacts = contacts
    }

    /// The contacts of `orgId` that want `kind`.
    public func contacts(of orgId: String, for kind: NotificationKind) -> [Contact] {
        contacts.filter { $0.orgId == orgId && $0.kinds.contains(kind) }
    }

    /// Reads the file's bytes; every bad row is reported with its line.
    /// - Parameter participants: The organisations of `participants.csv`.
    public static func parse(_ bytes: [UInt8], participants: Set<String>, file: String = NotificationContacts.file) throws(ConfigurationErrors)
        -> NotificationContacts
    {
        var errors: [ConfigurationError] = []
        let table = ConfigurationTable(bytes: bytes, file: file, columns: columns, errors: &errors)
        var contacts: [Contact] = []
        var seen = Set<String>()
        for row in table.rows {
            let (orgId, address, secret) = (row["orgId"], row["address"], row["secret"])
            var problems: [String] = []
            let channel = NotificationChannel(rawValue: row["channel"])
            if !participants.contains(orgId) { problems.append("orgId \(orgId.isEmpty ? "(empty)" : orgId) is not a participant in participants.csv") }
            var kinds = Set<NotificationKind>()
            for name in row["events"].split(separator: ";").map({ $0.trimmingWhitespace() }) {
                if name == "all" {
                    kinds.formUnion(NotificationKind.allCases)
                } else if let kind = NotificationKind(rawValue: name) {
                    kinds.insert(kind)
                } else {
                    problems.append("event '\(name)' is not one of all, \(NotificationKind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
            }
            if kinds.isEmpty, problems.isEmpty { problems.append("events is empty; name the events, or all") }
            switch channel {
            case .email:
                if !isEmailAddress(address) { problems.append("address '\(address)' is not an email address") }
                if !secret.isEmpty { problems.append("an email contact has no secret; leave it empty") }
            case .webhook:
                if !isWebhookURL(address) {
                    problems.append("address '\(address)' is not a webhook URL: https://…, or http:// on 127.0.0.1 or localhost only")
                }
                if secret.count < 16 { problems.append("a webhook needs a secret of 16 characters or more, to sign its requests") }
            case nil:
                problems.append("channel must be email or webhook")
            }
            if let channel, problems.isEmpty, !seen.insert("\(orgId)|\(channel.rawValue):\(address)").inserted {
                problems.append("\(channel.rawValue) \(address) of \(orgId) is listed twice")
            }
            if let channel, problems.isEmpty {
                contacts.append(Contact(orgId: orgId, channel: channel, address: address, kinds: kinds, secret: secret))
            } else {
                errors += problems.map { ConfigurationError(file: file, line: row.line, reason: $0) }
            }
        }
        guard errors.isEmpty else { throw ConfigurationErrors(errors) }
        return NotificationContacts(contacts)
    }

    /// `local@domain`, printable ASCII without spaces, quotes, angle brackets, commas or line breaks.
    static func isEmailAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && text.count <= 254
            && text.unicodeScalars.allSatisfy { $0.value > 32 && $0.value < 127 && !"\"<>(),;:\\[]".unicodeScalars.contains($0) }
    }

    /// An `https://` URL, or `http://` to loopback.
    static func isWebhookURL(_ text: String) -> Bool {
        guard text.count <= 2000, !text.contains(where: { $0.isWhitespace || $0.isNewline }) else { return false }
        if text.hasPrefix("https://") { return text.count > 8 }
        return ["http://127.0.0.1:", "http://127.0.0.1/", "http://localhost:", "http://localhost/", "http://[::1]:"].contains { text.hasPrefix($0) }
    }
}
