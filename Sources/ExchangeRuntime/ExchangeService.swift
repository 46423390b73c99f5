import ExchangeCore
import Logging
import ServiceLifecycle

/// The long-running poller: recovers what a crash left behind, then runs an `ExchangeCycle` every poll
/// interval until a graceful shutdown (SIGTERM, SIGINT), finishing the file in hand before it stops.
public struct ExchangeService: Service {
    private let cycle: ExchangeCycle
    private let pollInterval: Duration
    private let logger: Logger

    /// Creates the service.
    public init(cycle: ExchangeCycle, pollInterval: Duration, logger: Logger) {
        self.cycle = cycle
        self.pollInterval = pollInterval
        self.logger = logger
    }

    /// Polls until shut down.
    public func run() async throws {
        var cycle = self.cycle
        let clock = ContinuousClock()
        let start = clock.now
        _ = try await cycle.recover(logger: logger)
        logger.info("polling the drop tree", metadata: ["exchange.poll_interval": "\(pollInterval)"])
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let summary = await cycle.run(now: start.duration(to: clock.now), logger: logger)
            if let fatal = summary.fatal { throw ExchangeStopped(reason: fatal) }
            if summary.processed + summary.setAside + summary.failed > 0 {
                logger.info(
                    "cycle finished",
                    metadata: [
                        "exchange.processed": "\(summary.processed)", "exchange.set_aside": "\(summary.setAside)",
                        "exchange.failed": "\(summary.failed)", "exchange.waiting": "\(summary.waiting)",
                    ])
            }
            // Ready files left over: the next pass starts at once.
            if summary.moreReady { continue }
            let pause = ExchangeService.pause(after: summary, now: start.duration(to: clock.now), pollInterval: pollInterval)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
        }
        await cycle.finishLargeFile()
        logger.info("stopped")
    }

    /// Runs passes until no file is waiting (or `maxWait` has passed): `ktsx run --once`.
    /// - Returns: The totals of all passes.
    public static func runUntilSettled(
        cycle: inout ExchangeCycle, pollInterval: Duration, maxWait: Duration, logger: Logger
    ) async throws -> ExchangeCycle.Summary {
        let clock = ContinuousClock()
        let start = clock.now
        var total = ExchangeCycle.Summary()
        total.processed += try await cycle.recover(logger: logger)
        while true {
            let elapsed = start.duration(to: clock.now)
            let summary = await cycle.run(now: elapsed, logger: logger)
            if let fatal = summary.fatal { throw ExchangeStopped(reason: fatal) }
            total.processed += summary.processed
            total.setAside += summary.setAside
            total.failed += summary.failed
            total.pickedUp += summary.pickedUp
            total.waiting = summary.waiting
            if summary.moreReady { continue }
            // Ready files left by a pass that got nothing done (gone, failing) are tried again after a poll.
            if (summary.waiting == 0 && summary.deferred == 0) || elapsed >= maxWait { return total }
            try await Task.sleep(for: pause(after: summary, now: start.duration(to: clock.now), pollInterval: pollInterval))
        }
    }
}

extension ExchangeService {
    /// How long to wait after a pass: a poll interval, or until a waiting file will have been quiet for the
    /// quiet period when that is sooner (a file dropped just after a poll is claimed one quiet period
    /// after it arrived, not up to a poll interval later). Never less than a tenth of the poll interval,
    /// so that files becoming quiet one after another do not make every folder be listed for each.
    static func pause(after summary: ExchangeCycle.Summary, now: Duration, pollInterval: Duration) -> Duration {
        guard let soonestQuiet = summary.soonestQuiet else { return pollInterval }
        // A little after: the pass's listing measured the quiet time a moment after the pass's `now`.
        return min(pollInterval, max(soonestQuiet - now + .milliseconds(5), pollInterval / 10))
    }
}

/// The exchange stopped because it cannot go on without damage (its ledger is gone); a restart with the
/// ledger in place recovers.
public struct ExchangeStopped: Error, CustomStringConvertible {
    /// Why.
    public var reason: String
    /// The reason.
    public var description: String { "the exchange stopped: \(reason)" }
}
