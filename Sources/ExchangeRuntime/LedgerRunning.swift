import ExchangeCore
import ServiceLifecycle

/// Runs a ledger's background work beside the work that uses it. A PostgreSQL ledger's connection pool
/// works only while its `run()` runs: the service runs it as a service of its `ServiceGroup`; a command
/// or a test runs its work inside `with`. A ledger with no background work (SQLite, in memory) needs
/// nothing.
public enum LedgerRunning {
    /// Runs `body` while `ledger`'s background work runs, then stops that work.
    public static func with<T>(_ ledger: any LedgerStore, _ body: () async throws -> T) async throws -> T {
        guard let service = ledger as? any Service else { return try await body() }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            defer { group.cancelAll() }
            return try await body()
        }
    }
}
