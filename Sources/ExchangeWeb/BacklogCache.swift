import ExchangeRuntime
import Synchronization

/// The backlog `/healthz` and `/metrics` show, counted on the blocking threads at most once per `maxAge`
/// and served from memory meanwhile: a health check answers at once however busy the exchange is, with
/// counts at most `maxAge` old (stale while a new count is made, never blocking on it).
final class BacklogCache: Sendable {
    private struct State {
        var value: Result<Backlog, WorkFailure>?
        var countedAt: ContinuousClock.Instant?
        var counting = false
    }

    private let desk: SupportDesk
    private let maxAge: Duration
    private let clock = ContinuousClock()
    private let state = Mutex(State())

    init(desk: SupportDesk, maxAge: Duration = .seconds(1)) {
        self.desk = desk
        self.maxAge = maxAge
    }

    /// The latest count, or its failure; counted now only when there is none yet.
    func current() async -> Result<Backlog, WorkFailure> {
        let now = clock.now
        let (cached, recount) = state.withLock { state -> (Result<Backlog, WorkFailure>?, Bool) in
            let fresh = state.countedAt.map { now - $0 < maxAge } ?? false
            guard !fresh, !state.counting else { return (state.value, false) }
            state.counting = true
            return (state.value, true)
        }
        switch (cached, recount) {
        case (let cached?, true):
            Task { _ = await self.count() }
            return cached
        case (let cached?, false):
            return cached
        case (nil, _):
            return await count()
        }
    }

    private func count() async -> Result<Backlog, WorkFailure> {
        let desk = self.desk
        let result: Result<Backlog, WorkFailure>
        do {
            result = .success(try await desk.backlog())
        } catch {
            result = .failure(WorkFailure(error))
        }
        let now = clock.now
        state.withLock { state in
            state.value = result
            state.countedAt = now
            state.counting = false
        }
        return result
    }
}
