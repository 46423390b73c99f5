import ExchangeCore
import ExchangeRules
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// One pass over the drop tree: every participant's `inbound/` is observed, ready files are processed,
/// entries that must not be read are set aside, and outbound files that disappeared are recorded as picked
/// up. Holds the readiness trackers between passes.
public struct ExchangeCycle: Sendable {
    /// What one pass did.
    public struct Summary: Sendable, Equatable {
        /// Files taken to their acknowledgement.
        public var processed = 0
        /// Entries set aside unread.
        public var setAside = 0
        /// Files still waiting (changing, or quiet for less than the quiet period).
        public var waiting = 0
        /// Deliveries newly recorded as picked up.
        public var pickedUp = 0
        /// Files that could not be handled this pass (they stay and are retried).
        public var failed = 0
        /// Hidden temporaries found after their step had finished, and repaired.
        public var temporariesRepaired = 0
        /// Ready files left for the next pass (their sender's turns this pass were used up).
        public var deferred = 0
        /// Whether the next pass should start at once: ready files are left and this pass got on with work.
        public var moreReady: Bool { deferred > 0 && processed + setAside > 0 }
        /// When the first waiting file will have been quiet for the quiet period, if nothing changes it (on
        /// the clock the pass was given): the next pass is due then, not a whole poll interval later.
        public var soonestQuiet: Duration?
        /// Why the exchange cannot go on (the ledger is gone): the service stops without doing more.
        public var fatal: String?
    }

    /// A claimed file found without its receipt while running is taken up once it has been seen so this
    /// long (on our monotonic clock, whatever the wall clock does): long enough that another instance or a
    /// command that claimed it has recorded it. (Unfinished receipts are guarded by their leases.)
    public static let retryAfter: Duration = .seconds(60)
    /// Ready files taken per pass, in turns between participants; those left wait for the next pass, which
    /// starts at once after a fresh look at every folder.
    let filesPerPass: Int
    /// The default of `filesPerPass`: about a quarter of a second's work, so that a file that becomes ready
    /// while a backlog drains waits little for the pass in progress (each pass also lists every folder).
    public static let defaultFilesPerPass = 100
    /// Senders whose files are judged at once (each sender's files in their order): while one waits on
    /// its ledger or its disk, another's is judged. Small files spend most of their life waiting for
    /// flushes (their temporaries, their folders, their commits), so many are in flight at once; of the
    /// files of `mediumFileBytes` or more, whose records and outputs are held in memory until they are
    /// placed, at most `mediumFilesAtOnce`.
    let sendersAtOnce: Int
    /// The default of `sendersAtOnce`: 32 (a 10,000-file backlog drained in 32-36 s here, 40-45 s with 8).
    public static let defaultSendersAtOnce = 32
    /// Files this large or larger (but under the second lane's threshold) are taken at most
    /// `mediumFilesAtOnce` at a time, whatever `sendersAtOnce` is: a day's file of a partner is a few
    /// hundred KB.
    public static let mediumFileBytes: Int64 = 1024 * 1024
    /// How many files of `mediumFileBytes` or more are in flight at once.
    public static let mediumFilesAtOnce = 8
    /// Where files of `mediumFileBytes` or more wait for one of their places.
    private let mediumFiles = Slots(ExchangeCycle.mediumFilesAtOnce)
    /// The pass's chores (retry, pickups, heartbeat, retention), each on its own timer.
    private var chores = ChoreSchedule()

    let references: ReferenceStore
    let settings: ServiceSettings
    let tree: DropTree
    let ledger: any LedgerStore
    let processor: FileProcessor
    /// The second lane, where one large file at a time is judged beside the passes.
    let largeFiles: LargeFileLane
    private var trackers: [String: ReadinessTracker] = [:]
    /// Ready files passes left, by sender: taken by the next passes without listing the folder again.
    private var knownReady: [String: KnownReady] = [:]
    /// How long the ready files a listing showed are taken without listing their folder again: a quiet
    /// period, and at least a second (a file that became ready was unchanged for a quiet period; one
    /// changed or gone since is found so when it is claimed).
    var knownReadyFor: Duration { max(settings.quietPeriod, .seconds(1)) }
    /// How long a pass starts files for (beyond the first of each of its first `sendersAtOnce` turns) when
    /// a sender outside it has something in its folder (`PassEnd`): a quarter of a poll interval, so that a file that becomes ready while a backlog drains waits for little
    /// of a pass, and at least 50 ms (a shorter pass spends more on its own rounds, the senders' leases and
    /// the quiet senders' listings, than it saves).
    let passBudget: Duration
    /// A monotonic clock, read for `passBudget`.
    let monotonic: @Sendable () -> Duration
    /// Passes run so far (turns the order of equal senders).
    private var passes = 0
    /// Claimed files without a receipt, by receipt id: since when they were seen so.
    private var unfinishedSince: [String: Duration] = [:]
    /// The same failure, every pass, is logged once a minute: by participant and what failed, the error
    /// and when it was last logged.
    private var failuresLogged: [String: (error: String, at: Duration)] = [:]
    /// How often a failure that repeats every pass is logged again.
    static let repeatLogEvery: Duration = .seconds(60)

    /// Logs a failure at error level, unless the same one was logged for `key` within the last minute.
    private mutating func logFailure(_ message: Logger.Message, key: String, error: any Error, now: Duration, logger: Logger) {
        logFailure(message, key: key, error: "\(error)", now: now, logger: logger)
    }

    /// `logFailure` of an error's text.
    private mutating func logFailure(_ message: Logger.Message, key: String, error text: String, now: Duration, logger: Logger) {
        if let last = failuresLogged[key], last.error == text, now - last.at < ExchangeCycle.repeatLogEvery {
            logger.debug(message, metadata: ["exchange.error": "\(text)"])
            return
        }
        if failuresLogged.count > 10_000 { failuresLogged = failuresLogged.filter { now - $0.value.at < ExchangeCycle.repeatLogEvery } }
        failuresLogged[key] = (text, now)
        logger.error(message, metadata: ["exchange.error": "\(text)"])
    }

    /// Creates the cycle.
    /// - Parameters:
    ///   - filesPerPass: Ready files taken per pass (the rest are left for the next pass).
    ///   - sendersAtOnce: Senders whose files are judged at once.
    ///   - passBudget: How long a pass starts files for; a quarter of the poll interval (at least 50 ms) when not given.
    ///   - monotonic: The clock `passBudget` is read on; a `ContinuousClock` when not given.
    public init(
        references: ReferenceStore, settings: ServiceSettings, tree: DropTree, ledger: any LedgerStore, processor: FileProcessor,
        filesPerPass: Int = ExchangeCycle.defaultFilesPerPass, sendersAtOnce: Int = ExchangeCycle.defaultSendersAtOnce,
        passBudget: Duration? = nil, monotonic: (@Sendable () -> Duration)? = nil
    ) {
        self.passBudget = passBudget ?? max(settings.pollInterval / 4, .milliseconds(50))
        let origin = ContinuousClock.now
        self.monotonic = monotonic ?? { origin.duration(to: .now) }
        self.filesPerPass = max(1, filesPerPass)
        self.sendersAtOnce = max(1, sendersAtOnce)
        self.references = references
        self.settings = settings
        self.tree = tree
        self.ledger = ledger
        self.processor = processor
        largeFiles = LargeFileLane(owner: processor.owner)
    }

    /// Waits for the file in the second lane, if any: the service's last step before it stops.
    public func finishLargeFile() async {
        await largeFiles.finish()
    }

    /// The participants in force, by orgId.
    var participants: [Participant] { references.current.participants.values.sorted { $0.orgId < $1.orgId } }

    /// The readiness tracker of a participant, made (or remade, when its done-marker setting changed) as
    /// needed.
    private mutating func tracker(for participant: Participant) -> ReadinessTracker {
        if let tracker = trackers[participant.orgId], tracker.usesDoneMarker == participant.usesDoneMarker { return tracker }
        let tracker = ReadinessTracker(
            quietPeriod: settings.quietPeriod, usesDoneMarker: participant.usesDoneMarker, maxFileBytes: settings.maxFileBytes)
        trackers[participant.orgId] = tracker
        return tracker
    }

    /// Rereads the reference files if a support person changed them; a version with problems is logged
    /// and the one in force stays.
    func reloadReference(logger: Logger) {
        switch references.reloadIfChanged() {
        case .success(let reference)?:
            do {
                try tree.prepare(for: reference.participants.values.sorted { $0.orgId < $1.orgId })
            } catch {
                logger.error("could not prepare the folders of the participants", metadata: ["exchange.error": "\(error)"])
            }
            logger.notice("reference data reloaded", metadata: ["exchange.participants": "\(reference.participants.count)"])
        case .failure(let errors)?:
            logger.error(
                "reference data has problems; the previous version stays in force",
                metadata: ["exchange.problems": "\(errors.errors.map(\.description).joined(separator: "; "))"])
        case nil:
            break
        }
    }

    /// Finishes what a crash or a failure left behind: receipts `claimed` or `writing`, and claimed files with
    /// no receipt (at a start: all of them; while running: those of `only`).
    public func recover(logger: Logger, only: Set<String>? = nil) async throws -> Int {
        let byOrg = Dictionary(uniqueKeysWithValues: participants.map { ($0.orgId, $0) })
        var recovered = 0
        let unfinished = try await ledger.unfinishedReceipts()
        for receipt in unfinished where only?.contains(receipt.id) ?? true {
            guard let participant = byOrg[receipt.senderOrgId] else { continue }
            // Another instance's file in hand is left to it while its lease lasts; once ours, the receipt is
            // read again (its holder may have moved it on since the list was read).
            guard try await ledger.lease(receiptId: receipt.id, to: processor.owner),
                let current = try await ledger.receipt(id: receipt.id), current.state != .finished
            else { continue }
            // One receipt that cannot be finished (a full disk, say) must not keep the others waiting; it is
            // taken up again at the next look (or at the next start).
            do {
                try await processor.resume(current, participant: participant, logger: logger)
                recovered += 1
            } catch {
                logger.error("could not finish an unfinished file", metadata: ["exchange.receipt": "\(receipt.id)", "exchange.error": "\(error)"])
            }
        }
        for (receiptId, name) in try await orphanedClaims() where only?.contains(receiptId) ?? true {
            // Claimed, then the process died (or the ledger failed) before the receipt was recorded: the
            // receipt id names the sender.
            if let participant = byOrg[FileProcessor.senderOf(receiptId: receiptId) ?? ""] {
                do {
                    if try await processor.adoptClaimed(receiptId: receiptId, name: name, participant: participant, logger: logger) {
                        recovered += 1
                    } else {
                        logger.info("another instance adopted a claimed file first; it finishes it", metadata: ["exchange.receipt": "\(receiptId)"])
                    }
                } catch {
                    logger.error("could not adopt a claimed file", metadata: ["exchange.receipt": "\(receiptId)", "exchange.error": "\(error)"])
                }
            }
        }
        if recovered > 0 { logger.info("recovered unfinished files", metadata: ["exchange.count": "\(recovered)"]) }
        if only == nil { _ = await outboundWriter.repairOrphanTemporaries(of: participants.map(\.orgId), logger: logger) }
        return recovered
    }

    /// Claimed files in the work area whose receipt was never recorded: receipt id and name (nil for a
    /// receipt's folder left empty).
    private func orphanedClaims() async throws -> [(receiptId: String, name: String?)] {
        let tree = self.tree
        var orphaned: [(receiptId: String, name: String?)] = []
        for (receiptId, name) in try await BlockingWork.run({ try tree.workClaims().sorted { $0.key < $1.key } })
        where try await ledger.receipt(id: receiptId) == nil {
            orphaned.append((receiptId, name))
        }
        return orphaned
    }

    /// Takes up, while running, what a failure or a dead instance left unfinished: every unfinished receipt
    /// whose lease can be had (ours, after a failure; another instance's that has run out), and every
    /// claimed file without a receipt once it has been seen so for `retryAfter` (another instance may be
    /// between its claim and its record).
    private mutating func retryUnfinished(now: Duration, logger: Logger) async {
        do {
            let receipts = Set(try await ledger.unfinishedReceipts().map(\.id))
            let claims = Set(try await orphanedClaims().map(\.receiptId))
            unfinishedSince = unfinishedSince.filter { claims.contains($0.key) }
            for id in claims where unfinishedSince[id] == nil { unfinishedSince[id] = now }
            let due = receipts.union(unfinishedSince.filter { now - $0.value >= ExchangeCycle.retryAfter }.keys)
            guard !due.isEmpty else { return }
            for id in due where claims.contains(id) { unfinishedSince[id] = now }
            _ = try await recover(logger: logger, only: due)
        } catch {
            logger.error("could not take up unfinished files", metadata: ["exchange.error": "\(error)"])
        }
    }

    /// A sender's files taken in this pass, in the order they came.
    struct SenderTurn: Sendable {
        let participant: Participant
        let logger: Logger
        let names: [String]
        /// Those of `names` of `mediumFileBytes` or more.
        let medium: Set<String>
    }

    /// A sender's ready files in their order, as its folder's listing at `listedAt` showed them, with which
    /// of them are large and how many other files were still waiting to become ready.
    struct KnownReady: Sendable {
        var names: [String]
        var large: Set<String>
        /// Those of `mediumFileBytes` or more, under the second lane's threshold.
        var medium: Set<String>
        var listedAt: Duration
        var waiting: Int
    }

    /// A sender's files in a pass: those it may be dealt (`ready`), those held behind a large file, and what
    /// the pass knew of them.
    struct SenderQueue {
        let participant: Participant
        let logger: Logger
        var ready: ArraySlice<String>
        let held: [String]
        let known: KnownReady
    }

    /// What became of one file of a turn.
    enum FileResult: Sendable {
        /// Taken to its acknowledgement (or gone before its claim, when `acknowledged` is false).
        case done(name: String, acknowledged: Bool)
        /// Not handled; it stays and is retried.
        case failed(name: String, error: String)

        /// What became of `name` when `processor` took it.
        static func of(_ name: String, from participant: Participant, processor: FileProcessor, logger: Logger) async -> FileResult {
            do {
                let acknowledged = try await processor.process(name, from: participant, logger: logger) != nil
                return .done(name: name, acknowledged: acknowledged)
            } catch {
                return .failed(name: name, error: "\(error)")
            }
        }
    }

    /// Runs one pass at `now` (our monotonic clock, for readiness). Blocking work (the disk, validation)
    /// runs on `BlockingWork`'s threads, never on the caller's; the ledger is awaited.
    public mutating func run(now: Duration, logger: Logger) async -> Summary {
        var summary = Summary()
        let cycle = self
        // What the second lane finished since the last pass counts in this one.
        var turnsTaken: [(Participant, Logger, [FileResult])] = largeFiles.takeFinished().map { finished in
            (finished.participant, ExchangeCycle.logger(logger, for: finished.participant), [finished.result])
        }
        do {
            try await ledger.checkStorage()
        } catch {
            logger.critical("the exchange stops: its ledger is gone", metadata: ["exchange.error": "\(error)"])
            summary.fatal = "\(error)"
            return summary
        }
        await BlockingWork.run { cycle.reloadReference(logger: logger) }
        // A backlog drains while the last pass left ready files.
        let due = chores.due(at: now, backlog: !knownReady.isEmpty)
        // Not while a file is in the second lane: its receipt is this instance's, unfinished, and in hand.
        if due.contains(.retryUnfinished), largeFiles.inHand == nil { await retryUnfinished(now: now, logger: logger) }

        // Each participant's ready files are queued, then taken in turns, one file of each participant at
        // a time, at most `filesPerPass` in all: a flood from one sender (or from many) keeps another
        // sender's new file waiting for one short pass at most. A sender whose ready files a pass left is
        // not listed again until they run out or its listing is `knownReadyFor` old: a folder with thousands
        // of files waiting is not read again for every short pass.
        let participants = self.participants
        for participant in participants { _ = tracker(for: participant) }
        let known = knownReady.filter { now - $0.value.listedAt < knownReadyFor }
        knownReady = [:]
        let toList = participants.filter { known[$0.orgId] == nil }
        let listings = await BlockingWork.run {
            toList.map { participant in WorkFailure.capture { try cycle.tree.list(cycle.tree.inbound(participant.orgId)) } }
        }
        var fresh: [String: KnownReady] = [:]
        var setAside: [(Participant, Logger, DropEntry)] = []
        for (participant, listing) in zip(toList, listings) {
            let participantLogger = ExchangeCycle.logger(logger, for: participant)
            switch listing {
            case .failure(let error):
                summary.failed += 1
                logFailure("could not read the inbound folder", key: participant.orgId, error: error, now: now, logger: participantLogger)
            case .success(let entries):
                let decisions = trackers[participant.orgId]?.observe(entries, now: now) ?? [:]
                var ready: [String] = []
                var large: Set<String> = []
                var medium: Set<String> = []
                var waiting = 0
                for entry in entries {
                    switch decisions[entry.name] {
                    case .ready:
                        ready.append(entry.name)
                        if entry.size >= settings.largeFileBytes {
                            large.insert(entry.name)
                        } else if entry.size >= ExchangeCycle.mediumFileBytes {
                            medium.insert(entry.name)
                        }
                    case .setAside: setAside.append((participant, participantLogger, entry))
                    case .wait(let quietAt):
                        waiting += 1
                        // (A sender not listed again, whose files are known, is looked at on its own schedule.)
                        if let quietAt { summary.soonestQuiet = min(summary.soonestQuiet ?? quietAt, quietAt) }
                    case .ignore, nil: break
                    }
                }
                // Files that failed lately go last, so that one file that cannot be claimed does not use up
                // its sender's turns.
                let failedLately = Set(ready.filter { failuresLogged["\(participant.orgId)/\($0)"] != nil })
                if !failedLately.isEmpty { ready = ready.filter { !failedLately.contains($0) } + ready.filter(failedLately.contains) }
                summary.waiting += waiting
                fresh[participant.orgId] = KnownReady(names: ready, large: large, medium: medium, listedAt: now, waiting: waiting)
            }
        }
        // (Files a known sender's last listing showed still changing are counted as still waiting.)
        summary.waiting += known.values.reduce(0) { $0 + $1.waiting }
        var queues: [SenderQueue] = []
        for participant in participants {
            guard let ready = known[participant.orgId] ?? fresh[participant.orgId], !ready.names.isEmpty else { continue }
            let participantLogger = ExchangeCycle.logger(logger, for: participant)
            let (offered, held) = takeLargeFile(from: participant, ready: ready, summary: &summary, logger: participantLogger)
            queues.append(SenderQueue(participant: participant, logger: participantLogger, ready: offered[...], held: held, known: ready))
        }
        if !setAside.isEmpty {
            let entries = setAside
            for (participant, entryLogger, entry) in entries {
                do {
                    if try await processor.setAside(entry, from: participant, logger: entryLogger) != nil { summary.setAside += 1 }
                } catch {
                    summary.failed += 1
                    logFailure("could not set an entry aside", key: "\(participant.orgId)/\(entry.name)", error: error, now: now, logger: entryLogger)
                }
            }
        }

        // The turns: files dealt to senders one at a time, in turns, up to `filesPerPass`. When there are more
        // senders with files than the pass takes, the senders with the fewest files are dealt first, and among
        // equals the first place moves on each pass: no sender waits for others merely by its name.
        passes += 1
        let rotation = passes
        queues = queues.enumerated()
            .sorted { first, second in
                let (one, other) = ((first.offset + rotation) % queues.count, (second.offset + rotation) % queues.count)
                return (first.element.ready.count, one) < (second.element.ready.count, other)
            }
            .map(\.element)
        var turns: [[String]] = queues.map { _ in [] }
        var taken = 0
        while taken < filesPerPass, queues.contains(where: { !$0.ready.isEmpty }) {
            for index in queues.indices where taken < filesPerPass {
                guard let name = queues[index].ready.popFirst() else { continue }
                turns[index].append(name)
                taken += 1
            }
        }
        // Senders with the fewest files go first: a quiet sender's file does not wait behind a flood's turn.
        let ordered = zip(queues, turns).filter { !$0.1.isEmpty }.enumerated()
            .sorted { ($0.element.1.count, $0.offset) < ($1.element.1.count, $1.offset) }
            .map { turn in
                let (queue, names) = turn.element
                return SenderTurn(participant: queue.participant, logger: queue.logger, names: names, medium: queue.known.medium.intersection(names))
            }
        // One instance at a time takes a sender's files, so they are judged in the order they came: the
        // pass's senders are leased for their turns in one write (those another instance has are skipped),
        // and released in one write after the turns.
        var granted: [SenderTurn] = []
        var notTaken: Set<String> = []
        let senders = ordered.map(\.participant.orgId)
        do {
            let leased = try await ledger.lease(senders: senders, to: processor.owner)
            granted = ordered.filter { leased.contains($0.participant.orgId) }
            notTaken = Set(senders).subtracting(leased)
        } catch {
            logFailure("could not lease the senders' folders", key: "senders", error: error, now: now, logger: logger)
            notTaken = Set(senders)
        }
        for turn in ordered where notTaken.contains(turn.participant.orgId) { summary.waiting += turn.names.count }
        let inPass = Set(queues.map(\.participant.orgId))
        let outside = participants.map(\.orgId).filter { !inPass.contains($0) }
        let (finishedTurns, notStarted) = await takeTurns(granted, outside: outside)
        turnsTaken += finishedTurns
        do {
            try await ledger.release(senders: granted.map(\.participant.orgId), by: processor.owner)
        } catch {
            logger.warning("could not release the senders' folders; they are free again when their leases run out", metadata: ["exchange.error": "\(error)"])
        }
        var failedSenders: Set<String> = []
        for (participant, participantLogger, files) in turnsTaken {
            for file in files {
                switch file {
                case .done(let name, let acknowledged):
                    if acknowledged { summary.processed += 1 }
                    trackers[participant.orgId]?.forget(name)
                    failuresLogged["\(participant.orgId)/\(name)"] = nil
                case .failed(let name, let error):
                    summary.failed += 1
                    failedSenders.insert(participant.orgId)
                    ExchangeMetrics.fileFailed()
                    logFailure("could not process a file", key: "\(participant.orgId)/\(name)", error: error, now: now, logger: participantLogger)
                }
            }
        }
        // What the pass left of each sender's ready files, in their order, is known to the next passes: the
        // files dealt but not started (the pass ran out of time), those not dealt, those behind a large file.
        // A sender another instance had, or one of whose files failed, is listed again.
        for queue in queues {
            let orgId = queue.participant.orgId
            if notTaken.contains(orgId) {
                summary.waiting += queue.ready.count
                continue
            }
            let left = (notStarted[orgId] ?? []) + queue.ready
            summary.deferred += left.count
            guard !failedSenders.contains(orgId), !left.isEmpty || !queue.held.isEmpty else { continue }
            knownReady[orgId] = KnownReady(
                names: left + queue.held, large: queue.known.large, medium: queue.known.medium, listedAt: queue.known.listedAt,
                waiting: queue.known.waiting)
        }

        // The file in the second lane is still to be acknowledged.
        if largeFiles.inHand != nil { summary.waiting += 1 }

        let writer = outboundWriter
        let orgIds = participants.map(\.orgId)
        if due.contains(.pickups) { summary.pickedUp = await recordPickups(logger: logger) }
        // Orphaned temporaries are looked for with unfinished work (every outbound folder is listed, some
        // with thousands of files waiting): often enough for what should never happen.
        if due.contains(.retryUnfinished) {
            summary.temporariesRepaired = await writer.repairOrphanTemporaries(of: orgIds, logger: logger)
        }
        if due.contains(.heartbeat) {
            do {
                try await BlockingWork.run { try cycle.tree.writeHeartbeat(ServiceHeartbeat(time: cycle.processor.now(), processId: getpid())) }
            } catch {
                logger.warning("could not write the heartbeat", metadata: ["exchange.error": "\(error)"])
            }
        }
        if due.contains(.retention) {
            do {
                let removed = try await BlockingWork.run { try cycle.tree.sweep(retentionDays: cycle.settings.retentionDays, now: cycle.processor.now()) }
                if removed > 0 { logger.info("removed expired originals", metadata: ["exchange.months": "\(removed)"]) }
            } catch {
                logger.error("could not remove expired originals", metadata: ["exchange.error": "\(error)"])
            }
        }
        return summary
    }

    /// The part of a sender's ready files this pass may take (`offered`): those before its first large file.
    /// The large file goes to the second lane when it is first in line and the lane is free; it and the files
    /// after it wait (`held`, in order) until then. A sender whose file is in the lane waits for it whole.
    private func takeLargeFile(
        from participant: Participant, ready: KnownReady, summary: inout Summary, logger: Logger
    ) -> (offered: [String], held: [String]) {
        let names = ready.names
        if largeFiles.inHand?.sender == participant.orgId {
            summary.waiting += names.count
            return ([], names)
        }
        guard let first = names.firstIndex(where: ready.large.contains) else { return (names, []) }
        let renewEvery = Duration.seconds(max(1, settings.leaseSeconds / 3))
        if first == 0, largeFiles.start(names[0], from: participant, processor: processor, renewEvery: renewEvery, logger: logger) {
            summary.waiting += names.count - 1  // the file in the lane is counted at the end of the pass
            return ([], Array(names.dropFirst()))
        }
        summary.waiting += names.count - first
        return (Array(names[..<first]), Array(names[first...]))
    }

    /// Takes the leased senders' turns, `sendersAtOnce` senders at a time, each sender's files one after
    /// another in their order, until the pass ends (`PassEnd`): from then on no file is started but the first
    /// of each of the first `sendersAtOnce` turns (so every pass gets on). The files not started are returned
    /// by sender.
    /// - Parameter outside: The senders with no files in the pass, whose folders `PassEnd` looks at.
    private func takeTurns(
        _ turns: [SenderTurn], outside: [String]
    ) async -> (finished: [(Participant, Logger, [FileResult])], notStarted: [String: [String]]) {
        let cycle = self
        let tree = self.tree
        let passEnd = PassEnd(budget: passBudget, monotonic: monotonic) {
            await BlockingWork.run {
                outside.contains { orgId in
                    (try? tree.names(in: tree.inbound(orgId)))?.contains { !ReadinessTracker.isIgnored(name: $0) } ?? false
                }
            }
        }
        return await withTaskGroup(of: (Int, [FileResult]).self) { group in
            var next = 0
            var results: [(Int, [FileResult])] = []
            func start(_ index: Int) {
                let turn = turns[index]
                group.addTask { (index, await cycle.take(turn, until: passEnd)) }
            }
            while next < min(sendersAtOnce, turns.count) {
                start(next)
                next += 1
            }
            for await result in group {
                results.append(result)
                if next < turns.count, await !passEnd.reached() {
                    start(next)
                    next += 1
                }
            }
            var notStarted: [String: [String]] = [:]
            for (index, files) in results where files.count < turns[index].names.count {
                notStarted[turns[index].participant.orgId] = Array(turns[index].names.dropFirst(files.count))
            }
            for turn in turns[next...] { notStarted[turn.participant.orgId] = turn.names }
            let finished = results.sorted { $0.0 < $1.0 }.map { (turns[$0.0].participant, turns[$0.0].logger, $0.1) }
            return (finished, notStarted)
        }
    }

    /// When a pass stops starting files: once it has run for its budget and a sender outside it has
    /// something in its folder (a file on its way to being ready, or a new one), so that file waits for one
    /// short pass at most. While nothing waits elsewhere, a backlog is drained in passes of `filesPerPass`
    /// (each pass's own work, the turns' last files finishing one by one, the senders' leases, costs a short
    /// pass about a quarter of its time); the folders outside are looked at again after each budget.
    actor PassEnd {
        private let budget: Duration
        private let monotonic: @Sendable () -> Duration
        /// Whether a sender outside the pass has something in its folder.
        private let othersWaiting: @Sendable () async -> Bool
        private var deadline: Duration
        private var ended = false
        /// The look at the folders outside in progress: turns that ask meanwhile wait for its answer.
        private var look: Task<Bool, Never>?

        init(budget: Duration, monotonic: @escaping @Sendable () -> Duration, othersWaiting: @escaping @Sendable () async -> Bool) {
            self.budget = budget
            self.monotonic = monotonic
            self.othersWaiting = othersWaiting
            deadline = monotonic() + budget
        }

        /// Whether the pass has ended (looking at the folders outside it when its budget has run out).
        func reached() async -> Bool {
            if ended { return true }
            if let look { return await settle(look) }
            guard monotonic() >= deadline else { return false }
            let started = Task { [othersWaiting] in await othersWaiting() }
            look = started
            return await settle(started)
        }

        /// The answer of a look; the first to have it ends the pass or gives it another budget.
        private func settle(_ started: Task<Bool, Never>) async -> Bool {
            let waiting = await started.value
            if look == started {
                look = nil
                if waiting { ended = true } else { deadline = monotonic() + budget }
            }
            return ended || waiting
        }
    }

    /// One leased sender's turn: its files in order, the first whatever the time, the others until the
    /// pass ends.
    private func take(_ turn: SenderTurn, until passEnd: PassEnd) async -> [FileResult] {
        let (participant, logger, processor) = (turn.participant, turn.logger, processor)
        var results: [FileResult] = []
        for name in turn.names {
            if !results.isEmpty, await passEnd.reached() { break }
            let medium = turn.medium.contains(name)
            if medium { await mediumFiles.take() }
            results.append(await FileResult.of(name, from: participant, processor: processor, logger: logger))
            if medium { await mediumFiles.giveBack() }
        }
        return results
    }

    /// `logger` with the participant in its metadata.
    static func logger(_ logger: Logger, for participant: Participant) -> Logger {
        var participantLogger = logger
        participantLogger[metadataKey: "exchange.participant"] = "\(participant.orgId)"
        return participantLogger
    }

    private var outboundWriter: OutboundWriter { OutboundWriter(tree: tree, ledger: ledger, now: processor.now) }

    /// Records deliveries whose files are gone from `outbound/` as picked up.
    func recordPickups(logger: Logger) async -> Int {
        var count = 0
        let tree = self.tree
        do {
            let pending = try await ledger.pendingDeliveries()
            let gone = await BlockingWork.run {
                // Each recipient's folder is listed once; a delivery missing from the listing is then looked at
                // by name, its temporary before its file (placing links the file before it removes the
                // temporary), so one placed meanwhile is never taken for one picked up.
                var gone: [Delivery] = []
                for (recipient, deliveries) in Dictionary(grouping: pending, by: \.recipientOrgId) {
                    let outbound = tree.outbound(recipient)
                    guard let present = try? tree.names(in: outbound) else { continue }
                    for delivery in deliveries where !present.contains(delivery.fileName) {
                        let temporary = DropTree.temporaryName(for: delivery.fileName, receiptId: delivery.receiptId)
                        if !tree.exists("\(outbound)/\(temporary)"), !tree.exists("\(outbound)/\(delivery.fileName)") {
                            gone.append(delivery)
                        }
                    }
                }
                return gone
            }
            for delivery in gone {
                // Another instance may have seen it gone first: counted by whoever recorded it.
                if try await ledger.markPickedUp(recipientOrgId: delivery.recipientOrgId, fileName: delivery.fileName, at: processor.now()) {
                    count += 1
                }
            }
        } catch {
            logger.error("could not record pickups", metadata: ["exchange.error": "\(error)"])
        }
        return count
    }
}
