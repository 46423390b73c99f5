import ExchangeCore
import ExchangeRules
@testable import ExchangeRuntime
import ExchangeTesting
import ExchangeValidation
import Foundation
import Logging
import Testing

/// A drop tree in a temporary directory with three participants, an in-memory ledger and a cycle whose
/// receipt ids count up, so the order files were taken in can be read back.
struct CycleWorld {
    let tree: DropTree
    let ledger = InMemoryLedger()
    let processor: FileProcessor
    var cycle: ExchangeCycle
    static let reference = ReferenceData(participants: [
        Participant(orgId: "061010", name: "Flooding High", classification: .a1, outputFormat: .csv),
        Participant(orgId: "061020", name: "Quiet High", classification: .a1, outputFormat: .csv),
        Participant(orgId: "165901", name: "CTC", classification: .a2, outputFormat: .csv),
    ])

    /// - Parameter sendersAtOnce: 1 by default, so that the order files are claimed in is the order of the turns.
    /// - Parameter largeFileBytes: Files this large go to the second lane.
    /// - Parameter quietPeriod: Zero by default: every file is ready when first seen.
    /// - Parameter monotonic: The clock the pass budget (one second) is read on; never running out by default.
    init(
        root: URL, sendersAtOnce: Int = 1, largeFileBytes: Int64 = ServiceSettings.defaultLargeFileBytes, filesPerPass: Int = 12,
        quietPeriod: Duration = .zero, monotonic: @escaping @Sendable () -> Duration = { .zero }
    ) throws {
        var settings = ServiceSettings(
            dropRoot: root.appendingPathComponent("drop").path, stateDirectory: root.appendingPathComponent("state").path,
            quietPeriod: quietPeriod)
        settings.largeFileBytes = largeFileBytes
        tree = DropTree(dropRoot: settings.dropRoot, stateDirectory: settings.stateDirectory)
        try tree.prepare(for: CycleWorld.reference.participants.values.sorted { $0.orgId < $1.orgId })
        let counter = Counter()
        processor = FileProcessor(
            tree: tree, ledger: ledger, validator: try FileValidator(), maxFileBytes: settings.maxFileBytes,
            reference: { CycleWorld.reference }, now: { JobWorld.now },
            newReceiptId: { sender in FileProcessor.receiptId(sender: sender, time: JobWorld.now, suffix: String(format: "%06d", counter.next())) })
        cycle = ExchangeCycle(
            references: ReferenceStore(directory: root.appendingPathComponent("no-reference").path, reference: CycleWorld.reference),
            settings: settings, tree: tree, ledger: ledger, processor: processor, filesPerPass: filesPerPass, sendersAtOnce: sendersAtOnce,
            passBudget: .seconds(1), monotonic: monotonic)
    }

    func drop(_ count: Int, into org: String) throws {
        for index in 0..<count {
            try "not an exchange file \(org) \(index)\n".write(
                toFile: "\(tree.inbound(org))/file-\(String(format: "%03d", index)).csv", atomically: true, encoding: .utf8)
        }
    }

    /// The names of a sender's files recorded so far, in the order they were claimed.
    func claimedNames(of org: String) async throws -> [String] {
        try await ledger.receipts(matching: ReceiptQuery()).filter { $0.senderOrgId == org }
            .sorted { $0.id.suffix(6) < $1.id.suffix(6) }.map(\.originalName)
    }

    /// The senders of the receipts recorded so far, in the order their files were claimed.
    func claimOrder() async throws -> [String] {
        try await ledger.receipts(matching: ReceiptQuery()).sorted { $0.id.suffix(6) < $1.id.suffix(6) }.map(\.senderOrgId)
    }
}

@Suite("One pass over the drop tree")
struct ExchangeCycleTests {
    @Test("senders are taken several at once, and each sender's files still in the order they came")
    func sendersAtOnce() async throws {
        try await withTemporaryDirectory { root in
            var world = try CycleWorld(root: root, sendersAtOnce: 3)
            for org in ["061010", "061020", "165901"] { try world.drop(4, into: org) }
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let summary = await world.cycle.run(now: .zero, logger: logger)
            #expect(summary.processed == 12 && summary.failed == 0 && summary.deferred == 0)
            let receipts = try await world.ledger.receipts(matching: ReceiptQuery())
            for org in ["061010", "061020", "165901"] {
                // Receipt ids count up as files are claimed: each sender's in its files' order.
                let names = receipts.filter { $0.senderOrgId == org }.sorted { $0.id.suffix(6) < $1.id.suffix(6) }.map(\.originalName)
                #expect(names == (0..<4).map { "file-\(String(format: "%03d", $0)).csv" }, "\(org): \(names)")
            }
        }
    }

    @Test("files of a megabyte or more are taken beside small ones (a few at a time), each sender's still in the order they came")
    func mediumFiles() async throws {
        try await withTemporaryDirectory { root in
            var world = try CycleWorld(root: root, sendersAtOnce: 3)
            for org in ["061010", "061020", "165901"] { try world.drop(3, into: org) }
            // The second file of two senders is a megabyte and more.
            let line = "not an exchange file, but a long one\n"
            let medium = String(repeating: line, count: Int(ExchangeCycle.mediumFileBytes) / line.utf8.count + 1)
            for org in ["061010", "165901"] {
                try medium.write(toFile: "\(world.tree.inbound(org))/file-001.csv", atomically: true, encoding: .utf8)
            }
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let summary = await world.cycle.run(now: .zero, logger: logger)
            #expect(summary.processed == 9 && summary.failed == 0 && summary.deferred == 0)
            for org in ["061010", "061020", "165901"] {
                #expect(try await world.claimedNames(of: org) == (0..<3).map { "file-\(String(format: "%03d", $0)).csv" })
            }
        }
    }

    @Test("with more senders than a pass takes files, the sender with the fewest files is dealt first, whatever its name")
    func quietSenderDealtFirst() async throws {
        try await withTemporaryDirectory { root in
            var world = try CycleWorld(root: root, filesPerPass: 2)
            try world.drop(4, into: "061010")
            try world.drop(4, into: "061020")
            try world.drop(1, into: "165901")
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let summary = await world.cycle.run(now: .zero, logger: logger)
            #expect(summary.processed == 2)
            // The center, last by name, has one file: it is taken in the first pass.
            #expect(try await world.claimOrder().contains("165901"))
        }
    }

    @Test("a large file is judged in the second lane while the passes take other senders' files; its sender's later files wait for it")
    func largeFileLane() async throws {
        try await withTemporaryDirectory { root in
            var world = try CycleWorld(root: root, sendersAtOnce: 3, largeFileBytes: 4_000)
            try world.drop(3, into: "165901")
            // The center's first file is large.
            try String(repeating: "not an exchange file, but a long one\n", count: 200)
                .write(toFile: "\(world.tree.inbound("165901"))/file-000.csv", atomically: true, encoding: .utf8)
            try world.drop(2, into: "061020")
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let first = await world.cycle.run(now: .zero, logger: logger)
            // The pass took the high school's two files; the large file went to the lane, and the center's two
            // small files wait behind it.
            #expect(first.processed == 2 && first.failed == 0)
            // (plus the large file itself while the lane still has it)
            #expect(first.waiting == 2 || first.waiting == 3)
            await world.cycle.finishLargeFile()
            let second = await world.cycle.run(now: .seconds(1), logger: logger)
            // The lane's file counts in the next pass, beside the center's two small files taken now.
            #expect(second.processed == 3 && second.failed == 0 && second.waiting == 0)
            let receipts = try await world.ledger.receipts(matching: ReceiptQuery())
            let center = receipts.filter { $0.senderOrgId == "165901" }.sorted { $0.id.suffix(6) < $1.id.suffix(6) }.map(\.originalName)
            #expect(center == ["file-000.csv", "file-001.csv", "file-002.csv"])
            #expect(receipts.allSatisfy { $0.state == .finished })
            // The lane released the center.
            #expect(try await world.ledger.lease(senders: ["165901"], to: "someone else") == ["165901"])
        }
    }

    @Test("the pass's chores each run on their own timer: all at the first pass, then each when its interval has passed")
    func choreTimers() {
        var chores = ChoreSchedule()
        #expect(chores.due(at: .zero) == ChoreSchedule.Chore.allCases)
        #expect(chores.due(at: .milliseconds(500)).isEmpty)
        #expect(chores.due(at: .seconds(1)) == [.pickups])
        #expect(chores.due(at: .seconds(5)) == [.pickups, .heartbeat])
        #expect(chores.due(at: .seconds(15)) == [.retryUnfinished, .pickups, .heartbeat])
        #expect(chores.due(at: .seconds(3600)) == ChoreSchedule.Chore.allCases)
        var never = ChoreSchedule(intervals: [.heartbeat: .seconds(5)])
        #expect(never.due(at: .zero) == [.heartbeat])
        #expect(never.due(at: .seconds(100)) == [.heartbeat])
        // While a backlog drains, pickups wait ten seconds; the others keep their timers.
        var draining = ChoreSchedule()
        #expect(draining.due(at: .zero, backlog: true) == ChoreSchedule.Chore.allCases)
        #expect(draining.due(at: .seconds(5), backlog: true) == [.heartbeat])
        #expect(draining.due(at: .seconds(9), backlog: true).isEmpty)
        #expect(draining.due(at: .seconds(10), backlog: true) == [.pickups, .heartbeat])
        #expect(draining.due(at: .seconds(11), backlog: false) == [.pickups])
    }

    @Test("a claimed file two instances found orphaned is adopted by the first to record it; the other stands back without an error")
    func adoptionRace() async throws {
        try await withTemporaryDirectory { root in
            let world = try CycleWorld(root: root)
            let receiptId = FileProcessor.receiptId(sender: "061010", time: JobWorld.now, suffix: "orphan")
            try FileManager.default.createDirectory(atPath: "\(world.tree.work)/\(receiptId)", withIntermediateDirectories: true)
            try "not an exchange file\n".write(toFile: "\(world.tree.work)/\(receiptId)/late.csv", atomically: true, encoding: .utf8)
            // The other instance recorded the claim a moment before, and holds it.
            try await world.ledger.recordClaim(
                Receipt(id: receiptId, senderOrgId: "061010", originalName: "late.csv", sizeBytes: 21, sha256: "aa", claimedAt: JobWorld.now),
                leasedTo: "other-instance")
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let participant = try #require(CycleWorld.reference.participants["061010"])
            let adopted = try await world.processor.adoptClaimed(receiptId: receiptId, name: "late.csv", participant: participant, logger: logger)
            #expect(!adopted)
            #expect(try await world.ledger.receipt(id: receiptId)?.state == .claimed)
            #expect(FileManager.default.fileExists(atPath: "\(world.tree.work)/\(receiptId)/late.csv"), "the winner's file is left to it")
        }
    }

    @Test("receipt ids are never made twice: a suffix drawn again for the same sender in the same second is drawn anew")
    func receiptIdsUnique() {
        // Suffixes from a tiny set: repeats come at once.
        let draws = Counter()
        let ids = ReceiptIds(now: { JobWorld.now }, randomSuffix: { String(format: "%06x", (draws.next() / 2) % 3) })
        let made = (0..<3).map { _ in ids.next(for: "061010") }
        #expect(Set(made).count == 3)
        #expect(ids.next(for: "165901").hasPrefix("R165901-"))
    }

    @Test("a claim is one rename to <receipt>~NAME in the work area; a name too long for that gets a folder of its own")
    func claimNames() async throws {
        try await withTemporaryDirectory { root in
            let world = try CycleWorld(root: root)
            let long = String(repeating: "n", count: 250) + ".csv"
            try world.drop(1, into: "061010")
            try "not an exchange file\n".write(toFile: "\(world.tree.inbound("061010"))/\(long)", atomically: true, encoding: .utf8)
            let short = try #require(try world.tree.claim("file-000.csv", from: "061010", receiptId: "R061010-1"))
            let folder = try #require(try world.tree.claim(long, from: "061010", receiptId: "R061010-2"))
            #expect(short == "\(world.tree.work)/R061010-1~file-000.csv")
            #expect(folder == "\(world.tree.work)/R061010-2/\(long)")
            #expect(try world.tree.workClaims() == ["R061010-1": "file-000.csv", "R061010-2": long])
            #expect(try world.tree.claim("gone.csv", from: "061010", receiptId: "R061010-3") == nil)
            #expect(try FileManager.default.contentsOfDirectory(atPath: world.tree.work).sorted() == ["R061010-1~file-000.csv", "R061010-2"])
        }
    }

    @Test("claims a crash left without receipts, flat or in a folder as older versions made them, are adopted and acknowledged")
    func adoptionOfBothLayouts() async throws {
        try await withTemporaryDirectory { root in
            let world = try CycleWorld(root: root)
            let flat = FileProcessor.receiptId(sender: "061010", time: JobWorld.now, suffix: "flat01")
            let inFolder = FileProcessor.receiptId(sender: "061010", time: JobWorld.now, suffix: "fold01")
            try "not an exchange file\n".write(toFile: "\(world.tree.work)/\(flat)~a.csv", atomically: true, encoding: .utf8)
            try FileManager.default.createDirectory(atPath: "\(world.tree.work)/\(inFolder)", withIntermediateDirectories: true)
            try "not an exchange file either\n".write(toFile: "\(world.tree.work)/\(inFolder)/b.csv", atomically: true, encoding: .utf8)
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            #expect(try await world.cycle.recover(logger: logger) == 2)
            #expect(try await world.ledger.receipt(id: flat)?.originalName == "a.csv")
            #expect(try await world.ledger.receipt(id: inFolder)?.originalName == "b.csv")
            #expect(try await world.ledger.receipt(id: flat)?.state == .finished)
            #expect(try await world.ledger.receipt(id: inFolder)?.state == .finished)
            #expect(try FileManager.default.contentsOfDirectory(atPath: world.tree.work).isEmpty)
        }
    }

    @Test("a flood from one sender does not keep another sender's file waiting: files are taken in turns, a pass at a time")
    func fairTurns() async throws {
        try await withTemporaryDirectory { root in
            var world = try CycleWorld(root: root)
            try world.drop(25, into: "061010")
            try world.drop(1, into: "061020")
            try world.drop(2, into: "165901")
            var logger = Logger(label: "test")
            logger.logLevel = .critical

            let first = await world.cycle.run(now: .zero, logger: logger)
            // Twelve files a pass, dealt in turns (nine to the flood, one and two to the others), the senders
            // with the fewest files first: the other senders' files go first; the rest of the flood waits.
            #expect(first.processed == 12)
            #expect(first.deferred == 16)
            #expect(first.moreReady)
            #expect(try await world.claimOrder().prefix(4) == ["061020", "165901", "165901", "061010"])

            // A file from the quiet sender that arrives meanwhile goes in the next pass's first turn.
            try "late\n".write(toFile: "\(world.tree.inbound("061020"))/late.csv", atomically: true, encoding: .utf8)
            let second = await world.cycle.run(now: .seconds(1), logger: logger)
            #expect(second.processed == 12 && second.deferred == 5)
            #expect(try await world.claimOrder()[12...13] == ["061020", "061010"])
            let third = await world.cycle.run(now: .seconds(2), logger: logger)
            #expect(third.processed == 5 && third.deferred == 0 && !third.moreReady)
            #expect(try await world.claimOrder().count == 29)
            #expect(try FileManager.default.contentsOfDirectory(atPath: world.tree.inbound("061010")).isEmpty)
        }
    }
}

/// A clock that reads zero once, then a minute: a pass's budget runs out after its first look.
final class ClockPastTheBudget: @unchecked Sendable {
    private let lock = NSLock()
    private var reads = 0
    /// Done when the clock is first read past the budget (a file arriving while the pass runs).
    private let whenPast: @Sendable () -> Void

    init(whenPast: @escaping @Sendable () -> Void = {}) {
        self.whenPast = whenPast
    }

    func read() -> Duration {
        let (time, first) = lock.withLock {
            reads += 1
            return (reads == 1 ? Duration.zero : .seconds(60), reads == 2)
        }
        if first { whenPast() }
        return time
    }
}

@Suite("Short passes while a backlog drains")
struct ShortPassTests {
    @Test("a sender's ready files a pass left are taken by the next passes without listing its folder again, until a quiet period has passed")
    func knownReadyFiles() async throws {
        try await withTemporaryDirectory { root in
            // A quiet period of ten minutes: the files' status-change times (real ones) never make them ready early.
            var world = try CycleWorld(root: root, filesPerPass: 4, quietPeriod: .seconds(600))
            try world.drop(10, into: "061010")
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let inbound = world.tree.inbound("061010")

            let first = await world.cycle.run(now: .zero, logger: logger)
            #expect(first.processed == 0 && first.waiting == 10)
            // Just written: quiet a quiet period from now, less the moments since (the kernel's count).
            #expect(first.soonestQuiet.map { $0 > .zero && $0 <= .seconds(600) } == true)
            let second = await world.cycle.run(now: .seconds(600), logger: logger)
            #expect(second.processed == 4 && second.deferred == 6 && second.soonestQuiet == nil)

            // Behind the exchange's back, one of the files it knows is ready goes, and a new one comes.
            try FileManager.default.removeItem(atPath: "\(inbound)/file-005.csv")
            try "new\n".write(toFile: "\(inbound)/file-010.csv", atomically: true, encoding: .utf8)
            let third = await world.cycle.run(now: .seconds(900), logger: logger)
            // The folder was not listed again: the new file is not even waiting yet, the gone one was passed over.
            #expect(third.processed == 3 && third.deferred == 2 && third.waiting == 0 && third.failed == 0)

            // A quiet period after its listing, the folder is listed again: the new file waits its quiet period.
            let fourth = await world.cycle.run(now: .seconds(1200), logger: logger)
            #expect(fourth.processed == 2 && fourth.deferred == 0 && fourth.waiting == 1)
            #expect(fourth.soonestQuiet.map { $0 > .seconds(1200) && $0 <= .seconds(1800) } == true)
            let fifth = await world.cycle.run(now: .seconds(1800), logger: logger)
            #expect(fifth.processed == 1 && fifth.waiting == 0)
            let expected = (0...10).filter { $0 != 5 }.map { "file-\(String(format: "%03d", $0)).csv" }
            #expect(try await world.claimedNames(of: "061010") == expected)
        }
    }

    @Test("once a pass has used its time and a file waits outside it, it starts only the first file of its first turns; the rest follow the newcomer's, in their order")
    func passBudget() async throws {
        try await withTemporaryDirectory { root in
            let arrived = try CycleWorld(root: root).tree.inbound("061020")
            // The quiet high school's file arrives while the pass runs.
            let clock = ClockPastTheBudget {
                try? "not an exchange file\n".write(toFile: "\(arrived)/file-000.csv", atomically: true, encoding: .utf8)
            }
            var world = try CycleWorld(root: root, sendersAtOnce: 2, monotonic: { clock.read() })
            try world.drop(5, into: "061010")
            try world.drop(3, into: "165901")
            var logger = Logger(label: "test")
            logger.logLevel = .critical

            let first = await world.cycle.run(now: .zero, logger: logger)
            // The two turns started at once each took their first file; then the newcomer ended the pass.
            #expect(first.processed == 2 && first.deferred == 6 && first.moreReady)
            #expect(Set(try await world.claimOrder()) == ["061010", "165901"])
            let second = await world.cycle.run(now: .seconds(1), logger: logger)
            #expect(second.processed == 7 && second.deferred == 0)
            // The newcomer's file went first in the next pass (its sender had the fewest files).
            #expect(try await world.claimOrder()[2] == "061020")
            for (org, count) in [("061010", 5), ("165901", 3), ("061020", 1)] {
                #expect(try await world.claimedNames(of: org) == (0..<count).map { "file-\(String(format: "%03d", $0)).csv" })
            }
        }
    }

    @Test("a pass whose time is used goes on while nothing waits outside it: a backlog alone drains in passes of filesPerPass")
    func backlogAlone() async throws {
        try await withTemporaryDirectory { root in
            let clock = ClockPastTheBudget()
            var world = try CycleWorld(root: root, sendersAtOnce: 2, filesPerPass: 6, monotonic: { clock.read() })
            try world.drop(5, into: "061010")
            try world.drop(3, into: "165901")
            // Upload temporaries outside the pass are never files to wait for.
            try "partial\n".write(toFile: "\(world.tree.inbound("061020"))/next.csv.part", atomically: true, encoding: .utf8)
            var logger = Logger(label: "test")
            logger.logLevel = .critical

            let first = await world.cycle.run(now: .zero, logger: logger)
            #expect(first.processed == 6 && first.deferred == 2)
            let second = await world.cycle.run(now: .seconds(1), logger: logger)
            #expect(second.processed == 2 && second.deferred == 0)
            for (org, count) in [("061010", 5), ("165901", 3)] {
                #expect(try await world.claimedNames(of: org) == (0..<count).map { "file-\(String(format: "%03d", $0)).csv" })
            }
        }
    }
}

@Suite("Hidden temporaries never outlive the step that made them")
struct OrphanTemporaryTests {
    @Test("a pass places a finished receipt's temporary whose delivery waits, removes one with no delivery, and leaves work in progress alone")
    func repaired() async throws {
        try await withTemporaryDirectory { root in
            var world = try CycleWorld(root: root)
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let time = Timestamp(secondsSinceEpoch: 1_000)
            var finished = Receipt(id: "R165901-1", senderOrgId: "165901", originalName: "a.xml", sizeBytes: 1, sha256: "aa", claimedAt: time)
            try await world.ledger.recordClaim(finished)
            finished.state = .finished
            finished.outcome = .accepted
            try await world.ledger.update(finished, recordingDeliveries: [
                Delivery(receiptId: finished.id, recipientOrgId: "061020", fileName: "routed.xml", deliveredAt: time),
            ])
            let inProgress = Receipt(id: "R165901-2", senderOrgId: "165901", originalName: "b.xml", sizeBytes: 1, sha256: "bb", claimedAt: time)
            try await world.ledger.recordClaim(inProgress)
            let outbound = world.tree.outbound("061020")
            for (name, source) in [("routed.xml", finished.id), ("stray.xml", finished.id), ("next.xml", inProgress.id)] {
                try world.tree.prepare(Array("<x/>\n".utf8), named: name, in: outbound, receiptId: source)
            }

            let summary = await world.cycle.run(now: .zero, logger: logger)
            #expect(summary.temporariesRepaired == 2)
            let names = Set(try FileManager.default.contentsOfDirectory(atPath: outbound))
            #expect(names == ["routed.xml", DropTree.temporaryName(for: "next.xml", receiptId: inProgress.id)])
            #expect(try world.tree.temporaries(inOutboundOf: "061020").map(\.sourceId) == [inProgress.id])
            let again = await world.cycle.run(now: .seconds(1), logger: logger)
            #expect(again.temporariesRepaired == 0)
        }
    }
}

@Suite("The pause between passes")
struct PauseTests {
    private func summary(soonestQuiet: Duration?) -> ExchangeCycle.Summary {
        var summary = ExchangeCycle.Summary()
        summary.soonestQuiet = soonestQuiet
        return summary
    }

    @Test("a poll interval, or until the first waiting file is quiet when that is sooner, never under a tenth of the interval")
    func pauseUntilQuiet() {
        let poll = Duration.milliseconds(500)
        // Nothing waiting for its quiet period (or only for done markers): a poll interval.
        #expect(ExchangeService.pause(after: summary(soonestQuiet: nil), now: .seconds(10), pollInterval: poll) == poll)
        // A file quiet in 200 ms: woken just after.
        #expect(ExchangeService.pause(after: summary(soonestQuiet: .milliseconds(10_200)), now: .seconds(10), pollInterval: poll) == .milliseconds(205))
        // Quiet after the next poll anyway, or still being written: a poll interval.
        #expect(ExchangeService.pause(after: summary(soonestQuiet: .seconds(11)), now: .seconds(10), pollInterval: poll) == poll)
        // Quiet already (the pass outlasted it) or in a moment: a tenth of the interval.
        #expect(ExchangeService.pause(after: summary(soonestQuiet: .seconds(9)), now: .seconds(10), pollInterval: poll) == .milliseconds(50))
        #expect(ExchangeService.pause(after: summary(soonestQuiet: .milliseconds(10_010)), now: .seconds(10), pollInterval: poll) == .milliseconds(50))
    }
}
