import ExchangeCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization

/// The ledger's PostgreSQL connections: a `PostgresClient` pool of up to `poolSize` connections for the
/// statements (leased per call, given back when the call ends), and connections of their own for the
/// migration and for the advisory locks held for the life of the process. Every call is async: nothing
/// blocks a thread while the server answers. The pool works only while `run()` runs (the service's
/// `ServiceGroup` runs it; commands and tests run it beside their work).
final class PostgresSessions: Sendable {
    private let settings: PostgresLedgerSettings
    private let connectionConfiguration: PostgresConnection.Configuration
    private let logger: Logger
    /// The pool the statements lease their connections from.
    let client: PostgresClient
    /// Connections that hold an advisory lock for the life of the process, by key.
    private let lockHolders = Mutex<[String: PostgresConnection]>([:])

    init(settings: PostgresLedgerSettings, logger: Logger) throws(LedgerError) {
        self.settings = settings
        self.logger = logger
        var tls: TLSConfiguration?
        switch settings.tls {
        case .disable:
            tls = nil
        case .require, .verifyFull:
            var configuration = TLSConfiguration.makeClientConfiguration()
            if settings.tls == .require {
                configuration.certificateVerification = .none
            } else if let roots = settings.rootCertificates {
                configuration.trustRoots = .file(roots)
            }
            tls = configuration
        }
        let startup = [
            ("application_name", "ktsx"), ("search_path", settings.schema), ("lock_timeout", "30s"),
            ("statement_timeout", "120s"), ("idle_in_transaction_session_timeout", "5min"),
        ]
        var pool = PostgresClient.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: settings.password, database: settings.database,
            tls: tls.map { .require($0) } ?? .disable)
        pool.options.connectTimeout = .seconds(10)
        pool.options.additionalStartupParameters = startup
        pool.options.maximumConnections = settings.poolSize
        client = PostgresClient(configuration: pool)
        do {
            var single = PostgresConnection.Configuration(
                host: settings.host, port: settings.port, username: settings.user, password: settings.password,
                database: settings.database, tls: try tls.map { .require(try NIOSSLContext(configuration: $0)) } ?? .disable)
            single.options.connectTimeout = .seconds(10)
            single.options.additionalStartupParameters = startup
            connectionConfiguration = single
        } catch {
            throw LedgerError(.storage, "cannot set up TLS for the ledger at \(settings.place): \(error)", cause: error)
        }
    }

    /// Runs the pool until the task is cancelled or the service group shuts down gracefully.
    func run() async {
        await client.run()
    }

    /// Runs `body` on a connection leased from the pool. A connection that broke is closed by the pool,
    /// never leased again.
    func withConnection<T: Sendable>(_ what: String, _ body: (PostgresConnection) async throws -> T) async throws(LedgerError) -> T {
        do {
            return try await client.withConnection { connection in try await body(connection) }
        } catch {
            throw PostgresSessions.ledgerError(what, error, place: settings.place)
        }
    }

    /// Runs `body` in one transaction on one leased connection: committed if it returns, rolled back if it
    /// throws.
    func transaction<T: Sendable>(_ what: String, _ body: (PostgresConnection) async throws -> T) async throws(LedgerError) -> T {
        try await withConnection(what) { connection in try await self.transaction(what, on: connection, body) }
    }

    private func transaction<T: Sendable>(
        _ what: String, on connection: PostgresConnection, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        _ = try await connection.query("BEGIN", logger: logger).get()
        do {
            let result = try await body(connection)
            let commit = try await connection.query("COMMIT", logger: logger).get()
            if commit.metadata.command == "ROLLBACK" { throw LedgerError(.conflict, "\(what): the transaction was rolled back") }
            return result
        } catch {
            do {
                _ = try await connection.query("ROLLBACK", logger: logger).get()
            } catch {
                // Never give back a connection that may still be inside the failed transaction: closed, the
                // pool replaces it.
                try? await connection.close()
            }
            throw error
        }
    }

    /// Runs one statement and returns its result.
    func run(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> PostgresQueryResult {
        try await connection.query(query, logger: logger).get()
    }

    /// Runs `body` in one transaction on a connection of its own, opened for it and closed after (the
    /// migration, which runs before the pool does).
    func transactionOnItsOwn<T: Sendable>(_ what: String, _ body: (PostgresConnection) async throws -> T) async throws(LedgerError) -> T {
        let connection: PostgresConnection
        do {
            connection = try await connect()
        } catch {
            throw PostgresSessions.ledgerError("\(what): cannot reach the ledger", error, place: settings.place)
        }
        do {
            let result = try await transaction(what, on: connection, body)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw PostgresSessions.ledgerError(what, error, place: settings.place)
        }
    }

    private func connect() async throws -> PostgresConnection {
        try await PostgresConnection.connect(
            on: PostgresConnection.defaultEventLoopGroup.any(), configuration: connectionConfiguration, id: 0, logger: logger
        ).get()
    }

    /// Takes the session-level advisory lock `key` on a connection of its own, kept open (and the lock
    /// held) until the process ends or `close()`; false when another session holds it.
    func holdAdvisoryLock(_ key: String, what: String) async throws(LedgerError) -> Bool {
        if lockHolders.withLock({ $0[key] != nil }) { return true }
        do {
            let connection = try await connect()
            let result = try await connection.query("SELECT pg_try_advisory_lock(4243, hashtext(\(key))) AS held", logger: logger).get()
            guard try result.first.map({ try Columns($0).bool("held") }) ?? false else {
                try? await connection.close()
                return false
            }
            let kept = lockHolders.withLock { holders in
                if holders[key] != nil { return false }
                holders[key] = connection
                return true
            }
            if !kept { try? await connection.close() }
            return true
        } catch {
            throw PostgresSessions.ledgerError(what, error, place: settings.place)
        }
    }

    /// Closes the connections holding advisory locks (the locks are released). The pool closes when its
    /// `run()` ends.
    func close() async {
        let holders = lockHolders.withLock { holders in
            defer { holders = [:] }
            return Array(holders.values)
        }
        for connection in holders { try? await connection.close() }
    }

    /// The SQLSTATE of a server error, if the error is one.
    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// A ledger error that says what failed and why, without the statement's values.
    static func ledgerError(_ what: String, _ error: any Error, place: String) -> LedgerError {
        if let error = error as? LedgerError { return error }
        guard let psql = error as? PSQLError else { return LedgerError(.storage, "\(what): \(error)", cause: error) }
        if let state = psql.serverInfo?[.sqlState] {
            let message = psql.serverInfo?[.message] ?? "error \(state)"
            if state == "23505" { return LedgerError(.duplicateReceipt, "\(what): \(message)", cause: psql) }
            return LedgerError(.storage, "\(what): PostgreSQL at \(place) says: \(message) (SQLSTATE \(state))", cause: psql)
        }
        let underlying = psql.underlying.map { " (\($0))" } ?? ""
        return LedgerError(.storage, "\(what): the connection to PostgreSQL at \(place) failed: \(psql.code)\(underlying)", cause: psql)
    }
}

/// A row's columns by name, decoded to the types the ledger stores.
struct Columns {
    let row: PostgresRandomAccessRow

    init(_ row: PostgresRow) { self.row = row.makeRandomAccess() }

    func string(_ name: String) throws -> String { try row[name].decode(String.self) }
    func optionalString(_ name: String) throws -> String? { try row[name].decode(String?.self) }
    func int(_ name: String) throws -> Int { try row[name].decode(Int.self) }
    func int64(_ name: String) throws -> Int64 { try row[name].decode(Int64.self) }
    func optionalInt(_ name: String) throws -> Int? { try row[name].decode(Int?.self) }
    func optionalInt64(_ name: String) throws -> Int64? { try row[name].decode(Int64?.self) }
    func bool(_ name: String) throws -> Bool { try row[name].decode(Bool.self) }
}
