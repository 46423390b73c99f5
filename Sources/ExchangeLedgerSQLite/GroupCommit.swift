import GRDB
import Synchronization

/// Writes to the ledger committed in groups: writes that arrive while a transaction commits wait for it,
/// then go together in the next one, each in a savepoint of its own. A write returns only once the
/// transaction that holds it is committed (flushed, as every commit is), so each file's steps are as safe
/// as with a transaction each; a write that fails is rolled back to its savepoint alone, and the others of
/// its group are committed. Files judged at once (several senders' turns) share one flush of the log and
/// one trip to the writer's thread instead of one each.
final class GroupCommit: Sendable {
    private let pool: DatabasePool
    /// The writes waiting for the next transaction, and whether a task is committing them.
    private let queue = Mutex<(waiting: [any GroupedWrite], committing: Bool)>(([], false))

    init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Runs `body` in the next transaction, in a savepoint; returns what it returned once the transaction
    /// is committed, or throws what it threw (its changes rolled back), or the commit's error.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let write = Grouped(body: body, continuation: continuation)
            // The first write while none commits starts the committing task; the others join its next group.
            let leads = queue.withLock { queue in
                queue.waiting.append(write)
                let leads = !queue.committing
                queue.committing = true
                return leads
            }
            if leads { Task { await self.commitWaiting() } }
        }
    }

    /// Commits the waiting writes, a group at a time, until none is left.
    private func commitWaiting() async {
        while true {
            let group = queue.withLock { queue in
                let group = queue.waiting
                queue.waiting = []
                if group.isEmpty { queue.committing = false }
                return group
            }
            if group.isEmpty { return }
            let batch = Batch(group)
            do {
                // One write alone is its transaction (rolled back whole if it fails): no savepoint needed.
                try await pool.write { db in for write in batch.writes { try write.run(in: db, alone: batch.writes.count == 1) } }
                batch.writes.forEach { $0.finish(commitError: nil) }
            } catch {
                batch.writes.forEach { $0.finish(commitError: error) }
            }
        }
    }

    /// A group handed to the writer's thread (each write is run there, then finished here, one after the other).
    private struct Batch: @unchecked Sendable {
        let writes: [any GroupedWrite]
        init(_ writes: [any GroupedWrite]) { self.writes = writes }
    }
}

/// One write of a group, whatever its result type.
private protocol GroupedWrite: AnyObject, Sendable {
    /// Runs the write in a savepoint of the group's transaction (or, `alone`, in the transaction itself),
    /// keeping its outcome.
    func run(in db: Database, alone: Bool) throws
    /// Resumes the writer with its outcome, or with `commitError` when the group was not committed.
    func finish(commitError: (any Error)?)
}

/// A write and its outcome, run on the writer's thread and finished by the committing task after it
/// (never at once: the outcome is read only after the transaction, which the task awaited, is done).
private final class Grouped<T: Sendable>: GroupedWrite, @unchecked Sendable {
    private let body: @Sendable (Database) throws -> T
    private let continuation: CheckedContinuation<T, any Error>
    private var outcome: Result<T, any Error>?

    init(body: @escaping @Sendable (Database) throws -> T, continuation: CheckedContinuation<T, any Error>) {
        self.body = body
        self.continuation = continuation
    }

    func run(in db: Database, alone: Bool) throws {
        do {
            if alone {
                outcome = .success(try body(db))
                return
            }
            var value: T?
            try db.inSavepoint {
                value = try body(db)
                return .commit
            }
            outcome = value.map { .success($0) }
        } catch {
            outcome = .failure(error)
            // Alone, the transaction is rolled back by throwing.
            if alone { throw error }
        }
    }

    func finish(commitError: (any Error)?) {
        switch (outcome, commitError) {
        case (.failure(let error)?, _): continuation.resume(throwing: error)
        case (_, let error?): continuation.resume(throwing: error)
        case (.success(let value)?, nil): continuation.resume(returning: value)
        case (nil, nil): continuation.resume(throwing: DatabaseError(resultCode: .SQLITE_MISUSE, message: "a grouped write was not run"))
        }
    }
}
