import ExchangeCore
import Foundation

/// Where the PostgreSQL ledger is and how to reach it, from `ledger = postgres://...` in `ktsx.conf`:
///
///     postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE?sslmode=require&sslrootcert=/path/ca.pem&pool=4&schema=ktsx
///
/// `sslmode` is `disable`, `require` (encrypted, the server's certificate not checked) or `verify-full`
/// (encrypted, certificate and host name checked against `sslrootcert` or the system's roots); `pool` is
/// the most connections one `ktsx` process opens (default 4); `schema` the PostgreSQL schema the ledger's
/// tables live in (default `public`). The password may instead come from `KTSX_LEDGER_PASSWORD`.
public struct PostgresLedgerSettings: Sendable, Equatable {
    /// How the connection is encrypted.
    public enum TLSMode: String, Sendable, Equatable {
        /// Plain TCP (loopback or a private network only).
        case disable
        /// TLS, the server's certificate not verified.
        case require
        /// TLS, the certificate and the host name verified.
        case verifyFull = "verify-full"
    }

    /// The server's host name or address.
    public var host: String
    /// Its port.
    public var port: Int = 5432
    /// The role to log in as.
    public var user: String
    /// Its password, if the server asks for one.
    public var password: String?
    /// The database.
    public var database: String
    /// How the connection is encrypted.
    public var tls: TLSMode = .require
    /// A PEM file of the certificate authorities to trust (`verify-full`); the system's roots otherwise.
    public var rootCertificates: String?
    /// The most connections the pool opens for the statements (the migration, and a held instance name,
    /// each take one more of their own).
    public var poolSize: Int = 4
    /// The schema the ledger's tables live in.
    public var schema: String = "public"
    /// How long a lease on work in progress lasts, in seconds (tests shorten it).
    public var leaseSeconds: Int64 = LedgerLease.seconds

    /// The settings a `postgres://` (or `postgresql://`) URL gives; nil with the reason when it is not one.
    public static func parse(_ text: String, environment: [String: String] = [:]) -> Result<PostgresLedgerSettings, LedgerError> {
        func failure(_ reason: String) -> Result<PostgresLedgerSettings, LedgerError> {
            .failure(LedgerError(.storage, "the ledger URL \(redacted(text)) \(reason)"))
        }
        guard let url = URLComponents(string: text), let scheme = url.scheme, ["postgres", "postgresql"].contains(scheme) else {
            return failure("is not a postgres:// URL")
        }
        guard let host = url.host, !host.isEmpty else { return failure("names no host") }
        guard let user = url.user, !user.isEmpty else { return failure("names no user (postgres://USER@HOST/DATABASE)") }
        let database = String(url.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { return failure("names no database (postgres://USER@HOST/DATABASE)") }
        var settings = PostgresLedgerSettings(host: host, user: user, database: database)
        settings.port = url.port ?? 5432
        settings.password = environment["KTSX_LEDGER_PASSWORD"] ?? url.password
        for item in url.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "sslmode":
                guard let mode = TLSMode(rawValue: value) else { return failure("has sslmode=\(value); expected disable, require or verify-full") }
                settings.tls = mode
            case "sslrootcert":
                settings.rootCertificates = value
            case "pool":
                guard let size = Int(value), (1...64).contains(size) else { return failure("has pool=\(value); expected 1 to 64") }
                settings.poolSize = size
            case "schema":
                guard !value.isEmpty, value.count <= 63, value.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }) else {
                    return failure("has schema=\(value); expected lower-case letters, digits and _")
                }
                settings.schema = value
            default:
                return failure("has an unknown option '\(item.name)' (known: sslmode, sslrootcert, pool, schema)")
            }
        }
        return .success(settings)
    }

    /// The URL with its password hidden, for messages and logs.
    public static func redacted(_ text: String) -> String { ConfigurationParser.withoutPassword(text) }

    /// `host:port/database`, for messages.
    public var place: String { "\(host):\(port)/\(database)" }
}
