import ExchangeCore
import Foundation
import HummingbirdBcrypt

/// The support staff who may log in to the review page: `support-users.csv` in the configuration
/// directory, `username,passwordHash`, one row per person. Only bcrypt hashes are kept (made by
/// `ktsx hash-password`, or `htpasswd -nBC 12 NAME`); a plain password in the file is refused.
public struct SupportUsers: Sendable {
    /// The file's name in the configuration directory.
    public static let file = "support-users.csv"
    /// The header.
    public static let columns = ["username", "passwordHash"]

    private let hashes: [String: String]

    /// The user names, sorted.
    public var names: [String] { hashes.keys.sorted() }

    /// Users with these bcrypt hashes (for tests).
    public init(hashes: [String: String]) {
        self.hashes = hashes
    }

    /// Reads the file's bytes; every bad row is reported with its line.
    public static func parse(_ bytes: [UInt8], file: String = SupportUsers.file) throws(ConfigurationErrors) -> SupportUsers {
        var errors: [ConfigurationError] = []
        let table = ConfigurationTable(bytes: bytes, file: file, columns: columns, errors: &errors)
        var hashes: [String: String] = [:]
        for row in table.rows {
            let name = row["username"], hash = row["passwordHash"]
            if !isUserName(name) {
                errors.append(ConfigurationError(file: file, line: row.line, reason: "username must be 1 to 64 letters, digits or . _ @ -"))
            } else if hashes[name] != nil {
                errors.append(ConfigurationError(file: file, line: row.line, reason: "user \(name) is listed twice"))
            } else if !isBcryptHash(hash) {
                errors.append(
                    ConfigurationError(
                        file: file, line: row.line,
                        reason: "the passwordHash of \(name) is not a bcrypt hash ($2b$12$…); make one with `ktsx hash-password`"))
            } else {
                hashes[name] = hash
            }
        }
        guard errors.isEmpty else { throw ConfigurationErrors(errors) }
        return SupportUsers(hashes: hashes)
    }

    /// Reads `support-users.csv` from `directory`; no file means nobody can log in.
    public static func load(directory: String) throws(ConfigurationErrors) -> SupportUsers {
        let path = URL(fileURLWithPath: directory).appendingPathComponent(file).path
        guard let data = FileManager.default.contents(atPath: path) else { return SupportUsers(hashes: [:]) }
        return try parse(Array(data))
    }

    /// Whether `password` is `user`'s. An unknown user costs the same time as a known one.
    public func verify(user: String, password: String) -> Bool {
        SupportUsers.verify(password, hash: hashes[user])
    }

    /// Whether the user is listed.
    func contains(_ user: String) -> Bool { hashes[user] != nil }

    /// Whether `password` matches `hash`; with no hash, a decoy is checked (same time) and the answer is no.
    static func verify(_ password: String, hash: String?) -> Bool {
        guard let hash else {
            _ = Bcrypt.verify(password, hash: SupportUsers.decoy)
            return false
        }
        return Bcrypt.verify(password, hash: hash)
    }

    /// 1 to 64 ASCII letters, digits or `. _ @ -`.
    static func isUserName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._@-".contains($0)) }
    }

    /// A bcrypt hash of a password nobody has, checked for unknown users so that timing does not tell
    /// which names exist.
    private static let decoy = "$2b$12$C6UzMDM.H6dfI/f/IKxGhu3Q1jk5w0V1o4kqOCmX5XbYJiTgNvRMW"

    /// `$2a$`, `$2b$` or `$2y$`, a two-digit cost, 53 characters of bcrypt's base64.
    static func isBcryptHash(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 60, text.hasPrefix("$2"), "aby".utf8.contains(bytes[2]), bytes[3] == UInt8(ascii: "$"),
            bytes[4...5].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }), bytes[6] == UInt8(ascii: "$")
        else { return false }
        return bytes[7...].allSatisfy { byte in
            byte == UInt8(ascii: ".") || byte == UInt8(ascii: "/") || (byte < 128 && Character(UnicodeScalar(byte)).isLetter)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
    }
}
