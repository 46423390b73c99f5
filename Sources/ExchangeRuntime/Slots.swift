/// A fixed number of places for work that must not all run at once (files whose records and outputs are
/// held in memory): `take` waits for a free place, in the order the callers came; `giveBack` frees it.
actor Slots {
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// Places for `count` at once (at least one).
    init(_ count: Int) {
        free = max(1, count)
    }

    /// Takes a place, waiting until one is free.
    func take() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    /// Frees a place taken with `take`: the first caller waiting has it.
    func giveBack() {
        if waiting.isEmpty {
            free += 1
        } else {
            waiting.removeFirst().resume()
        }
    }

    /// Places free now.
    var freeCount: Int { free }

    /// Callers waiting for a place now.
    var waitingCount: Int { waiting.count }
}
