import ExchangeCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// A few PostgreSQL connections for the synchronous ledger protocol: a call borrows one (opening it on
/// first need, up to `poolSize`), runs its statements on it, and gives it back. The calls block on
/// PostgresNIO's futures: they run on the callers' threads, never on NIO's event loops, which do the IO.
final class PostgresSessions: @unchecked Sendable {
    private let settings: PostgresLedgerSettings
    private let configuration: PostgresConnection.Configuration
    private let logger: Logger
    private let condition = NSCondition()
    private var idle: [PostgresConnection] = []
    private var open = 0
    private var nextId = 0

    init(settings: PostgresLedgerSettings, logger: Logger) throws(LedgerError) {
        self.settings = settings
        self.logger = logger
        var configuration: PostgresConnection.Configuration
        switch settings.tls {
        case .disable:
            configuration = .init(host: settings.host, port: settings.port, username: settings.user, password: settings.password,
                                  database: settings.database, tls: .disable)
        case .require, .verifyFull:
            var tls = TLSConfiguration.makeClientConfiguration()
            if settings.tls == .require {
                tls.certificateVerification = .none
            } else if let roots = settings.rootCertificates {
                tls.trustRoots = .file(roots)
            }
            do {
                configuration = .init(host: settings.host, port: settings.port, username: settings.user, password: settings.password,
                                      database: settings.database, tls: .require(try NIOSSLContext(configuration: tls)))
            } catch {
                throw LedgerError(.storage, "cannot set up TLS for the ledger at \(settings.place): \(error)", cause: error)
            }
        }
        configuration.options.connectTimeout = .seconds(10)
        configuration.options.additionalStartupParameters = [
            ("application_name", "ktsx"), ("search_path", settings.schema), ("lock_timeout", "30s"),
            ("statement_timeout", "120s"), ("idle_in_transaction_session_timeout", "5min"),
        ]
        self.configuration = configuration
    }

    /// Runs `body` on a borrowed connection. A connection that failed is closed, not given back.
    func withConnection<T>(_ what: String, _ body: (PostgresConnection) throws -> T) throws(LedgerError) -> T {
        let connection = try borrow(what)
        do {
            let result = try body(connection)
            giveBack(connection)
            return result
        } catch {
            // A server error (a constraint, a conflict) leaves the connection usable; a broken one does not.
            let broken = connection.isClosed || ((error as? PSQLError).map { $0.code != .server } ?? false)
            if broken {
                PostgresSessions.closeAndWait(connection)
                discard()
            } else {
                giveBack(connection)
            }
            throw PostgresSessions.ledgerError(what, error, place: settings.place)
        }
    }

    /// Runs `body` in one transaction on one connection: committed if it returns, rolled back if it throws.
    func transaction<T>(_ what: String, _ body: (PostgresConnection) throws -> T) throws(LedgerError) -> T {
        try withConnection(what) { connection in
            _ = try connection.query("BEGIN", logger: logger).wait()
            do {
                let result = try body(connection)
                let commit = try connection.query("COMMIT", logger: logger).wait()
                if commit.metadata.command == "ROLLBACK" { throw LedgerError(.conflict, "\(what): the transaction was rolled back") }
                return result
            } catch {
                do {
                    _ = try connection.query("ROLLBACK", logger: logger).wait()
                } catch {
                    // Never give back a connection that may still be inside the failed transaction.
                    PostgresSessions.closeAndWait(connection)
                }
                throw error
            }
        }
    }

    /// Runs one statement and returns its result.
    func run(_ query: PostgresQuery, on connection: PostgresConnection) throws -> PostgresQueryResult {
        try connection.query(query, logger: logger).wait()
    }

    private func borrow(_ what: String) throws(LedgerError) -> PostgresConnection {
        condition.lock()
        while idle.isEmpty, open >= settings.poolSize { condition.wait() }
        if let connection = idle.popLast() {
            condition.unlock()
            if !connection.isClosed { return connection }
            discard()
            return try borrow(what)
        }
        open += 1
        nextId += 1
        let id = nextId
        condition.unlock()
        do {
            return try PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: id, logger: logger
            ).wait()
        } catch {
            discard()
            throw PostgresSessions.ledgerError("\(what): cannot reach the ledger", error, place: settings.place)
        }
    }

    private func giveBack(_ connection: PostgresConnection) {
        condition.lock()
        idle.append(connection)
        condition.signal()
        condition.unlock()
    }

    private func discard() {
        condition.lock()
        open -= 1
        condition.signal()
        condition.unlock()
    }

    /// Connections that hold an advisory lock for the life of the process, by key.
    private var lockHolders: [String: PostgresConnection] = [:]

    /// Takes the session-level advisory lock `key` on a connection of its own, kept open (and the lock
    /// held) until the process ends; false when another session holds it.
    func holdAdvisoryLock(_ key: String, what: String) throws(LedgerError) -> Bool {
        condition.lock()
        let held = lockHolders[key] != nil
        condition.unlock()
        if held { return true }
        do {
            let connection = try PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: 0, logger: logger
            ).wait()
            let result = try connection.query("SELECT pg_try_advisory_lock(4243, hashtext(\(key))) AS held", logger: logger).wait()
            guard try result.first.map({ try Columns($0).bool("held") }) ?? false else {
                PostgresSessions.closeAndWait(connection)
                return false
            }
            condition.lock()
            lockHolders[key] = connection
            condition.unlock()
            return true
        } catch {
            throw PostgresSessions.ledgerError(what, error, place: settings.place)
        }
    }

    /// Closes every idle connection and those holding advisory locks (the locks are released).
    func close() {
        condition.lock()
        let connections = idle + lockHolders.values
        open -= idle.count
        idle = []
        lockHolders = [:]
        condition.unlock()
        for connection in connections { PostgresSessions.closeAndWait(connection) }
    }

    deinit { close() }

    /// Closes a connection and waits until it is closed.
    static func closeAndWait(_ connection: PostgresConnection) {
        let closing: EventLoopFuture<Void> = connection.close()
        _ = try? closing.wait()
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
