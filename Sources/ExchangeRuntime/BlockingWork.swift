import NIOPosix

/// Runs blocking work (file IO, hashing, validation) on threads of its own, so that the cooperative pool
/// the services and the review site answer on (two threads on these machines) is never held by a pass, a
/// nightly job or a page of a large file. (The ledger needs none of this: its calls are async.)
public enum BlockingWork {
    /// The threads: enough for the files of the senders taken at once (most of them waiting for a flush
    /// of the disk at any moment), and a nightly job and the review site beside them.
    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 32)
        pool.start()
        return pool
    }()

    /// Runs `body` on a thread of the pool and returns what it returns (or throws what it throws).
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }

    /// `run` for work that does not throw.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        do {
            return try await pool.runIfActive(body)
        } catch {
            // The pool is started once and never shut down, so this is not reached; if it were, the work
            // is done here rather than lost.
            return body()
        }
    }
}

/// An error of blocking work carried back as its text (an `any Error` cannot cross to another task).
public struct WorkFailure: Error, Sendable, CustomStringConvertible {
    /// The error, as it would be logged.
    public let description: String

    /// The failure of `error`.
    public init(_ error: any Error) {
        description = "\(error)"
    }

    /// What `body` returns, or its error as a failure.
    public static func capture<T>(_ body: () throws -> T) -> Result<T, WorkFailure> {
        do {
            return .success(try body())
        } catch {
            return .failure(WorkFailure(error))
        }
    }
}
