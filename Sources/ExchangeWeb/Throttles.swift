import Synchronization

/// Places for slow work waiting or running (password checks: bcrypt, one at a time, first come first
/// served, on a thread of its own; file pre-checks): at most `limit` in all and `perClient` from one
/// client address; a request beyond that is answered 503 at once. With one place per client, a flood
/// from one address holds one place, so a real login from another waits for at most the one check
/// before it.
final class ClientSlots: Sendable {
    let limit: Int
    let perClient: Int
    private let waiting = Mutex<(total: Int, byClient: [String: Int])>((0, [:]))

    init(limit: Int = 8, perClient: Int = 1) {
        self.limit = limit
        self.perClient = perClient
    }

    /// Takes a place for a check from `client`; false when the queue or the client's share is full.
    func enter(client: String) -> Bool {
        waiting.withLock { state in
            guard state.total < limit, state.byClient[client, default: 0] < perClient else { return false }
            state.total += 1
            state.byClient[client, default: 0] += 1
            return true
        }
    }

    /// Gives the place back.
    func leave(client: String) {
        waiting.withLock { state in
            state.total -= 1
            let left = state.byClient[client, default: 1] - 1
            state.byClient[client] = left > 0 ? left : nil
        }
    }
}

/// Attempts per key (logins per user name, pre-checks per organisation): after `limit` attempts within
/// `window`, the key is refused until the oldest of them is older than the window (a guessing attack
/// slows to a crawl; the person waits 15 minutes at most). An attempt counts from the moment it is let
/// through, before its password is checked, and a login is forgiven only when the password was right:
/// concurrent attempts cannot slip past the limit while their checks are queued.
final class AttemptThrottle: Sendable {
    let limit: Int
    let window: Duration
    private let attempts = Mutex<[String: [ContinuousClock.Instant]]>([:])

    init(limit: Int = 5, window: Duration = .seconds(15 * 60)) {
        self.limit = limit
        self.window = window
    }

    /// Lets an attempt for `user` through and counts it, in one step; nil when the name has used its
    /// attempts. Pass the returned instant to `succeeded` if the password was right.
    func attempt(_ user: String, at now: ContinuousClock.Instant = .now) -> ContinuousClock.Instant? {
        attempts.withLock { table -> ContinuousClock.Instant? in
            // Names that were never users still cost memory: keep the table small.
            if table.count > 10_000 { table = table.filter { !$0.value.isEmpty && now - $0.value.last! < window } }
            let recent = (table[user] ?? []).filter { now - $0 < window }
            guard recent.count < limit else {
                table[user] = recent
                return nil
            }
            table[user] = recent + [now]
            return now
        }
    }

    /// Forgives the attempt made at `instant`: its password was right.
    func succeeded(_ user: String, attempt instant: ContinuousClock.Instant) {
        attempts.withLock { table in
            guard var recent = table[user], let index = recent.firstIndex(of: instant) else { return }
            recent.remove(at: index)
            table[user] = recent.isEmpty ? nil : recent
        }
    }
}
