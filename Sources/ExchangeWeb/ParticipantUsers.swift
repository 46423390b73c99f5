import ExchangeCore
import Foundation

/// The partners' clerks who may log in to their own organisation's pages on the review site:
/// `participant-users.csv` in the configuration directory, `username,orgId,passwordHash,role`, one row
/// per person. A clerk sees its organisation only. Hashes are bcrypt, as in `support-users.csv`; a user
/// name is one person's on the whole site, so a name in both files is refused.
public struct ParticipantUsers: Sendable {
    /// The file's name in the configuration directory.
    public static let file = "participant-users.csv"
    /// The header.
    public static let columns = ["username", "orgId", "passwordHash", "role"]
    /// The roles a row may give (a clerk: its organisation's pages, nothing of support's).
    public static let roles: Set<String> = ["clerk"]

    /// One clerk: its organisation and password hash.
    struct Account: Sendable {
        var orgId: String
        var hash: String
    }

    private let accounts: [String: Account]

    /// The user names, sorted.
    public var names: [String] { accounts.keys.sorted() }

    /// Clerks with these organisations and bcrypt hashes (for tests).
    public init(accounts: [String: (orgId: String, hash: String)] = [:]) {
        self.accounts = accounts.mapValues { Account(orgId: $0.orgId, hash: $0.hash) }
    }

    /// Reads the file's bytes; every bad row is reported with its line.
    /// - Parameters:
    ///   - participants: The organisations of `participants.csv`: a row naming another is refused.
    ///   - supportNames: The names of `support-users.csv`, which no row may take.
    public static func parse(
        _ bytes: [UInt8], participants: Set<String>, supportNames: Set<String> = [], file: String = ParticipantUsers.file
    ) throws(ConfigurationErrors) -> ParticipantUsers {
        var errors: [ConfigurationError] = []
        let table = ConfigurationTable(bytes: bytes, file: file, columns: columns, errors: &errors)
        var accounts: [String: (orgId: String, hash: String)] = [:]
        for row in table.rows {
            let (name, orgId, hash, role) = (row["username"], row["orgId"], row["passwordHash"], row["role"])
            let reason: String? =
                if !SupportUsers.isUserName(name) {
                    "username must be 1 to 64 letters, digits or . _ @ -"
                } else if accounts[name] != nil {
                    "user \(name) is listed twice"
                } else if supportNames.contains(name) {
                    "user \(name) is also in \(SupportUsers.file); give the clerk another name"
                } else if !participants.contains(orgId) {
                    "orgId \(orgId.isEmpty ? "(empty)" : orgId) of \(name) is not a participant in participants.csv"
                } else if !roles.contains(role) {
                    "role of \(name) must be clerk"
                } else if !SupportUsers.isBcryptHash(hash) {
                    "the passwordHash of \(name) is not a bcrypt hash ($2b$12$…); make one with `ktsx hash-password`"
                } else {
                    nil
                }
            if let reason {
                errors.append(ConfigurationError(file: file, line: row.line, reason: reason))
            } else {
                accounts[name] = (orgId, hash)
            }
        }
        guard errors.isEmpty else { throw ConfigurationErrors(errors) }
        return ParticipantUsers(accounts: accounts)
    }

    /// Reads `participant-users.csv` from `directory`; no file means no clerk can log in.
    public static func load(directory: String, participants: Set<String>, supportNames: Set<String>) throws(ConfigurationErrors)
        -> ParticipantUsers
    {
        let path = URL(fileURLWithPath: directory).appendingPathComponent(file).path
        guard let data = FileManager.default.contents(atPath: path) else { return ParticipantUsers() }
        return try parse(Array(data), participants: participants, supportNames: supportNames)
    }

    /// The organisation and password hash of `user`, if a clerk has that name.
    func account(_ user: String) -> Account? { accounts[user] }
}
