import ExchangeCore
import Logging
import ServiceLifecycle

/// The scheduler inside `ktsx run`: finishes job runs a crash left behind, then checks every
/// `checkInterval` which nightly jobs are due (`NightlySchedule`: each at its configured local time,
/// missed nights caught up once) and runs them, until a graceful shutdown.
public struct JobScheduler: Service {
    private let runner: JobRunner
    private let checkInterval: Duration
    private let logger: Logger

    /// Creates the scheduler.
    public init(runner: JobRunner, checkInterval: Duration = .seconds(30), logger: Logger) {
        self.runner = runner
        self.checkInterval = checkInterval
        self.logger = logger
    }

    /// Runs due jobs until shut down.
    public func run() async throws {
        let (runner, logger) = (self.runner, self.logger)
        _ = await runner.recover(logger: logger)
        // Stops on a graceful shutdown, and on cancellation (another service of the group failed): a
        // cancelled sleep returns at once, so the loop must not go round again.
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            _ = await runner.runDueJobs(logger: logger)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: checkInterval) }
        }
    }
}
