import Testing

@testable import ExchangeRuntime

@Suite("Places for work that must not all run at once")
struct SlotsTests {
    /// Counts the holders of a place at once, and the most there ever were.
    actor Holders {
        private(set) var now = 0
        private(set) var most = 0
        private(set) var order: [Int] = []

        func enter(_ index: Int) {
            now += 1
            most = max(most, now)
            order.append(index)
        }

        func leave() { now -= 1 }
    }

    @Test("never more holders than places, however many ask at once, and every one of them served")
    func bounded() async {
        let slots = Slots(3)
        let holders = Holders()
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                group.addTask {
                    await slots.take()
                    await holders.enter(index)
                    await Task.yield()
                    await holders.leave()
                    await slots.giveBack()
                }
            }
        }
        #expect(await holders.most <= 3)
        #expect(await holders.most >= 1)
        #expect(await holders.order.sorted() == Array(0..<40))
        #expect(await slots.freeCount == 3)
    }

    @Test("a place given back goes to the first caller waiting")
    func firstComeFirstServed() async {
        let slots = Slots(1)
        await slots.take()
        let holders = Holders()
        var waiting: [Task<Void, Never>] = []
        for index in 0..<5 {
            waiting.append(Task {
                await slots.take()
                await holders.enter(index)
                await holders.leave()
                await slots.giveBack()
            })
            // Each caller waits before the next one comes.
            while await slots.waitingCount < index + 1 { await Task.yield() }
        }
        await slots.giveBack()
        for task in waiting { await task.value }
        #expect(await holders.order == [0, 1, 2, 3, 4])
        #expect(await holders.most == 1)
    }
}
