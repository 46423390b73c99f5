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
    /// The default of `filesPerPass`: about a second's work.
    public static let defaultFilesPerPass = 200
    /// When pickups were last looked for (our monotonic clock): at most once a second, as every waiting
    /// delivery is looked for on disk.
    private var lastPickupCheck: Duration?
    /// How often unfinished receipts are looked for while running.
    static let retryEvery: Duration = .seconds(15)

    let references: ReferenceStore
    let settings: ServiceSettings
    let tree: DropTree
    let ledger: any LedgerStore
    let processor: FileProcessor
    private var trackers: [String: ReadinessTracker] = [:]
    /// When retention last ran (our monotonic clock); it runs at most hourly.
    private var lastSweep: Duration?
    /// When the heartbeat was last written (our monotonic clock).
    private var lastHeartbeat: Duration?
    /// When unfinished receipts were last looked for (our monotonic clock).
    private var lastRetry: Duration?
    /// Claimed files without a receipt, by receipt id: since when they were seen so.
    private var unfinishedSince: [String: Duration] = [:]
    /// The same failure, every pass, is logged once a minute: by participant and what failed, the error
    /// and when it was last logged.
    private var failuresLogged: [String: (error: String, at: Duration)] = [:]
    /// How often a failure that repeats every pass is logged again.
    static let repeatLogEvery: Duration = .seconds(60)

    /// Logs a failure at error level, unless the same one was logged for `key` within the last minute.
    private mutating func logFailure(_ message: Logger.Message, key: String, error: any Error, now: Duration, logger: Logger) {
        let text = "\(error)"
        if let last = failuresLogged[key], last.error == text, now - last.at < ExchangeCycle.repeatLogEvery {
            logger.debug(message, metadata: ["exchange.error": "\(text)"])
            return
        }
        if failuresLogged.count > 10_000 { failuresLogged = failuresLogged.filter { now - $0.value.at < ExchangeCycle.repeatLogEvery } }
        failuresLogged[key] = (text, now)
        logger.error(message, metadata: ["exchange.error": "\(text)"])
    }

    /// Creates the cycle.
    /// - Parameter filesPerPass: Ready files taken per pass (the rest are left for the next pass).
    public init(
        references: ReferenceStore, settings: ServiceSettings, tree: DropTree, ledger: any LedgerStore, processor: FileProcessor,
        filesPerPass: Int = ExchangeCycle.defaultFilesPerPass
    ) {
        self.filesPerPass = max(1, filesPerPass)
        self.references = references
        self.settings = settings
        self.tree = tree
        self.ledger = ledger
        self.processor = processor
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
    public func recover(logger: Logger, only: Set<String>? = nil) throws -> Int {
        let byOrg = Dictionary(uniqueKeysWithValues: participants.map { ($0.orgId, $0) })
        var recovered = 0
        let unfinished = try ledger.unfinishedReceipts()
        for receipt in unfinished where only?.contains(receipt.id) ?? true {
            guard let participant = byOrg[receipt.senderOrgId] else { continue }
            // Another instance's file in hand is left to it while its lease lasts; once ours, the receipt is
            // read again (its holder may have moved it on since the list was read).
            guard try ledger.lease(receiptId: receipt.id, to: processor.owner),
                let current = try ledger.receipt(id: receipt.id), current.state != .finished
            else { continue }
            // One receipt that cannot be finished (a full disk, say) must not keep the others waiting; it is
            // taken up again at the next look (or at the next start).
            do {
                try processor.resume(current, participant: participant, logger: logger)
                recovered += 1
            } catch {
                logger.error("could not finish an unfinished file", metadata: ["exchange.receipt": "\(receipt.id)", "exchange.error": "\(error)"])
            }
        }
        for receiptId in try orphanedClaims() where only?.contains(receiptId) ?? true {
            // Claimed, then the process died (or the ledger failed) before the receipt was recorded: the
            // receipt id names the sender.
            if let participant = byOrg[FileProcessor.senderOf(receiptId: receiptId) ?? ""] {
                do {
                    if try processor.adoptClaimed(receiptId: receiptId, participant: participant, logger: logger) {
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
        if only == nil { _ = outboundWriter.repairOrphanTemporaries(of: participants.map(\.orgId), logger: logger) }
        return recovered
    }

    /// Claimed files in the work area whose receipt was never recorded.
    private func orphanedClaims() throws -> [String] {
        try tree.workReceipts().filter { try ledger.receipt(id: $0) == nil }
    }

    /// Takes up, while running, what a failure or a dead instance left unfinished: every unfinished receipt
    /// whose lease can be had (ours, after a failure; another instance's that has run out), and every
    /// claimed file without a receipt once it has been seen so for `retryAfter` (another instance may be
    /// between its claim and its record). Looked for every `retryEvery`.
    private mutating func retryUnfinished(now: Duration, logger: Logger) {
        do {
            let receipts = Set(try ledger.unfinishedReceipts().map(\.id))
            let claims = Set(try orphanedClaims())
            unfinishedSince = unfinishedSince.filter { claims.contains($0.key) }
            for id in claims where unfinishedSince[id] == nil { unfinishedSince[id] = now }
            let due = receipts.union(unfinishedSince.filter { now - $0.value >= ExchangeCycle.retryAfter }.keys)
            guard !due.isEmpty else { return }
            for id in due where claims.contains(id) { unfinishedSince[id] = now }
            _ = try recover(logger: logger, only: due)
        } catch {
            logger.error("could not take up unfinished files", metadata: ["exchange.error": "\(error)"])
        }
    }

    /// Runs one pass at `now` (our monotonic clock, for readiness).
    public mutating func run(now: Duration, logger: Logger) -> Summary {
        var summary = Summary()
        do {
            try ledger.checkStorage()
        } catch {
            logger.critical("the exchange stops: its ledger is gone", metadata: ["exchange.error": "\(error)"])
            summary.fatal = error.description
            return summary
        }
        reloadReference(logger: logger)
        if lastRetry.map({ now - $0 >= ExchangeCycle.retryEvery }) ?? true {
            lastRetry = now
            retryUnfinished(now: now, logger: logger)
        }
        // Each participant's ready files are queued, then taken in turns, one file of each participant at
        // a time, at most `filesPerPass` in all: a flood from one sender (or from many) keeps another
        // sender's new file waiting for one short pass at most.
        var queues: [(participant: Participant, logger: Logger, ready: ArraySlice<String>)] = []
        for participant in participants {
            _ = tracker(for: participant)
            var participantLogger = logger
            participantLogger[metadataKey: "exchange.participant"] = "\(participant.orgId)"
            do {
                let entries = try tree.list(tree.inbound(participant.orgId))
                let decisions = trackers[participant.orgId]?.observe(entries, now: now) ?? [:]
                var ready: [String] = []
                for entry in entries {
                    switch decisions[entry.name] {
                    case .ready:
                        ready.append(entry.name)
                    case .setAside:
                        do {
                            if try processor.setAside(entry, from: participant, logger: participantLogger) != nil {
                                summary.setAside += 1
                            }
                        } catch {
                            summary.failed += 1
                            logFailure(
                                "could not set an entry aside", key: "\(participant.orgId)/\(entry.name)", error: error, now: now,
                                logger: participantLogger)
                        }
                    case .wait:
                        summary.waiting += 1
                    case .ignore, nil:
                        break
                    }
                }
                // Files that failed lately go last, so that one file that cannot be claimed does not use up
                // its sender's turns.
                let failedLately = Set(ready.filter { failuresLogged["\(participant.orgId)/\($0)"] != nil })
                if !failedLately.isEmpty { ready = ready.filter { !failedLately.contains($0) } + ready.filter(failedLately.contains) }
                if !ready.isEmpty { queues.append((participant, participantLogger, ready[...])) }
            } catch {
                summary.failed += 1
                logFailure("could not read the inbound folder", key: participant.orgId, error: error, now: now, logger: participantLogger)
            }
        }
        // One instance at a time takes a sender's files, so they are judged in the order they came: a
        // sender is leased at its first turn in this pass (skipped if another instance has it) and released
        // when the pass ends.
        var taken = 0
        var leased: [String] = []
        while taken < filesPerPass, queues.contains(where: { !$0.ready.isEmpty }) {
            for index in queues.indices where taken < filesPerPass && !queues[index].ready.isEmpty {
                let (participant, participantLogger) = (queues[index].participant, queues[index].logger)
                if !leased.contains(participant.orgId) {
                    let granted: Bool
                    do {
                        granted = try ledger.lease(sender: participant.orgId, to: processor.owner)
                    } catch {
                        granted = false
                        logFailure("could not lease a sender's folder", key: participant.orgId, error: error, now: now, logger: participantLogger)
                    }
                    guard granted else {
                        summary.waiting += queues[index].ready.count
                        queues[index].ready = []
                        continue
                    }
                    leased.append(participant.orgId)
                }
                guard let name = queues[index].ready.popFirst() else { continue }
                taken += 1
                do {
                    if try processor.process(name, from: participant, logger: participantLogger) != nil {
                        summary.processed += 1
                    }
                    trackers[participant.orgId]?.forget(name)
                    failuresLogged["\(participant.orgId)/\(name)"] = nil
                } catch {
                    summary.failed += 1
                    ExchangeMetrics.fileFailed()
                    logFailure(
                        "could not process a file", key: "\(participant.orgId)/\(name)", error: error, now: now,
                        logger: participantLogger)
                }
            }
        }
        for sender in leased {
            do {
                try ledger.release(sender: sender, by: processor.owner)
            } catch {
                logger.warning("could not release a sender's folder; it is free again when its lease runs out", metadata: ["exchange.error": "\(error)"])
            }
        }
        summary.deferred = queues.reduce(0) { $0 + $1.ready.count }
        if lastPickupCheck.map({ now - $0 >= .seconds(1) }) ?? true {
            lastPickupCheck = now
            summary.pickedUp = recordPickups(logger: logger)
        }
        summary.temporariesRepaired = outboundWriter.repairOrphanTemporaries(of: participants.map(\.orgId), logger: logger)
        if lastHeartbeat.map({ now - $0 >= .seconds(5) }) ?? true {
            lastHeartbeat = now
            do {
                try tree.writeHeartbeat(ServiceHeartbeat(time: processor.now(), processId: getpid()))
            } catch {
                logger.warning("could not write the heartbeat", metadata: ["exchange.error": "\(error)"])
            }
        }
        if lastSweep.map({ now - $0 >= .seconds(3600) }) ?? true {
            lastSweep = now
            do {
                let removed = try tree.sweep(retentionDays: settings.retentionDays, now: processor.now())
                if removed > 0 { logger.info("removed expired originals", metadata: ["exchange.months": "\(removed)"]) }
            } catch {
                logger.error("could not remove expired originals", metadata: ["exchange.error": "\(error)"])
            }
        }
        return summary
    }

    private var outboundWriter: OutboundWriter { OutboundWriter(tree: tree, ledger: ledger, now: processor.now) }

    /// Records deliveries whose files are gone from `outbound/` as picked up.
    func recordPickups(logger: Logger) -> Int {
        var count = 0
        do {
            for delivery in try ledger.pendingDeliveries() {
                let path = "\(tree.outbound(delivery.recipientOrgId))/\(delivery.fileName)"
                let temporary = "\(tree.outbound(delivery.recipientOrgId))/\(DropTree.temporaryName(for: delivery.fileName, receiptId: delivery.receiptId))"
                guard !tree.exists(path), !tree.exists(temporary) else { continue }
                // Another instance may have seen it gone first: counted by whoever recorded it.
                if try ledger.markPickedUp(recipientOrgId: delivery.recipientOrgId, fileName: delivery.fileName, at: processor.now()) {
                    count += 1
                }
            }
        } catch {
            logger.error("could not record pickups", metadata: ["exchange.error": "\(error)"])
        }
        return count
    }
}
