import ExchangeCore
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// A file the exchange writes to a participant's `outbound/`: an acknowledgement, an error file, a routed
/// file, a posting, a sync or a decision.
public struct OutboundFile: Sendable {
    /// Whose `outbound/` it goes to.
    public var recipientOrgId: String
    /// Its name there.
    public var name: String
    /// Its bytes.
    public var bytes: [UInt8]
    /// How many records it carries (0 for an acknowledgement or error file).
    public var records = 0
    /// The received records it carries, for the record trail: a routed file's records, a posting's grades,
    /// a sync's absences (none for an acknowledgement, an error file, a decision or a summary).
    public var carried: [RecordReference] = []
}

/// Writes outbound files in the steps every producer (a receipt, a job run) follows, so that a crash
/// never leaves a partial or a second copy: choose free names, prepare hidden temporaries (flushed),
/// record the deliveries in the ledger, then place them (a link that never replaces) — `place` is safe to
/// repeat after a restart.
struct OutboundWriter: Sendable {
    let tree: DropTree
    let ledger: any LedgerStore
    let now: @Sendable () -> Timestamp

    /// A name an output would like in its recipient's `outbound/`, and the one it takes if that is held.
    struct WantedName: Sendable {
        /// Whose `outbound/`.
        var recipient: String
        /// The name it would like (the partner's file name with a suffix, or the specification's name).
        var preferred: String
        /// The name it takes when the preferred one is held (made of the receipt or run id: never held).
        var fallback: String
    }

    /// For each wanted name, in order: the preferred name when neither a file nor a pending delivery holds
    /// it in the recipient's `outbound/` (and it is not too long), else the fallback. One look at the disk
    /// and one question to the ledger for all of them.
    func freeNames(_ wanted: [WantedName]) async throws -> [String] {
        let tree = self.tree
        let notOnDisk = await BlockingWork.run {
            wanted.map { $0.preferred.utf8.count <= 240 && !tree.exists("\(tree.outbound($0.recipient))/\($0.preferred)") }
        }
        let asked = zip(wanted, notOnDisk).filter(\.1).map { OutboundName(recipientOrgId: $0.0.recipient, fileName: $0.0.preferred) }
        let pending = try await ledger.pendingDeliveries(among: asked)
        return zip(wanted, notOnDisk).map { want, free in
            free && !pending.contains(OutboundName(recipientOrgId: want.recipient, fileName: want.preferred)) ? want.preferred : want.fallback
        }
    }

    /// The names outputs were given when they were written before the ledger was restored from a backup:
    /// `fallback` when a file holds it (a fallback names its receipt, so it is this output), or when a
    /// waiting delivery of another receipt holds `preferred`; otherwise `preferred` (held by this output, or
    /// by nothing: written and taken since).
    func namesWrittenBefore(_ wanted: [WantedName]) async throws -> [String] {
        let tree = self.tree
        let fallbackOnDisk = await BlockingWork.run { wanted.map { tree.exists("\(tree.outbound($0.recipient))/\($0.fallback)") } }
        let claimed = try await ledger.pendingDeliveries(
            among: wanted.map { OutboundName(recipientOrgId: $0.recipient, fileName: $0.preferred) })
        return zip(wanted, fallbackOnDisk).map { want, fallbackHeld in
            fallbackHeld || claimed.contains(OutboundName(recipientOrgId: want.recipient, fileName: want.preferred)) ? want.fallback : want.preferred
        }
    }

    /// `preferred` when neither a file nor a pending delivery holds that name in the recipient's
    /// `outbound/`, else `fallback`.
    func freeName(_ preferred: String, fallback: String, recipient: String) async throws -> String {
        try await freeNames([WantedName(recipient: recipient, preferred: preferred, fallback: fallback)])[0]
    }

    /// Prepares each file as a hidden temporary in its recipient's `outbound/`, its bytes and its name on
    /// disk before the deliveries are recorded (on `BlockingWork`'s threads).
    func prepare(_ files: [OutboundFile], sourceId: String) async throws {
        let tree = self.tree
        try await BlockingWork.run {
            for file in files {
                try tree.prepare(file.bytes, named: file.name, in: tree.outbound(file.recipientOrgId), receiptId: sourceId)
            }
            tree.syncNames(in: files.map { tree.outbound($0.recipientOrgId) })
        }
    }

    /// Removes the hidden temporaries `prepare` wrote, when their judgement was not recorded (it failed,
    /// or another instance recorded the same bytes first): nobody would ever place or remove them.
    func discard(_ files: [OutboundFile], sourceId: String) async {
        let tree = self.tree
        await BlockingWork.run {
            for file in files {
                tree.discardPrepared(file.name, in: tree.outbound(file.recipientOrgId), receiptId: sourceId)
            }
        }
    }

    /// The deliveries of prepared files.
    func deliveries(of files: [OutboundFile], sourceId: String, at time: Timestamp) -> [Delivery] {
        files.map {
            Delivery(receiptId: sourceId, recipientOrgId: $0.recipientOrgId, fileName: $0.name, deliveredAt: time, records: $0.carried)
        }
    }

    /// Places every delivery recorded for `sourceId`, in the order recorded. A file placed and already
    /// taken by its recipient is recorded as picked up. `afterFirst` is called between the first file
    /// placed and the second (a crash point).
    /// - Parameter recorded: The deliveries as just committed, when the caller committed them (saves
    ///   reading them back); nil to read them from the ledger (after a restart).
    func placeAll(
        sourceId: String, recorded: [Delivery]? = nil, afterFirst: @escaping @Sendable () throws -> Void = {}
    ) async throws {
        let tree = self.tree
        let deliveries = if let recorded { recorded } else { try await ledger.deliveries(sourceId: sourceId) }
        // One trip to a blocking thread for all of them; placing stops at a name another file holds.
        let placements = try await BlockingWork.run { () throws -> [DropTree.Placement] in
            var placements: [DropTree.Placement] = []
            for (index, delivery) in deliveries.enumerated() {
                if index == 1 { try afterFirst() }
                let placement = try tree.place(delivery.fileName, in: tree.outbound(delivery.recipientOrgId), receiptId: sourceId)
                placements.append(placement)
                if placement == .nameTaken { break }
            }
            return placements
        }
        for (delivery, placement) in zip(deliveries, placements) {
            switch placement {
            case .placed: break
            case .alreadyTaken:
                try await ledger.markPickedUp(recipientOrgId: delivery.recipientOrgId, fileName: delivery.fileName, at: now())
            case .nameTaken:
                throw DropTreeError(
                    "another file already holds the name", "\(tree.outbound(delivery.recipientOrgId))/\(delivery.fileName)", EEXIST)
            }
        }
    }

    /// Repairs the hidden temporaries in these participants' `outbound/` whose receipt or job run has
    /// finished (a temporary never outlives the step that made it: one that did is an error): placed
    /// when its delivery is recorded and waits for pickup, removed otherwise. Temporaries of work in
    /// progress are left to it. Returns how many were repaired.
    func repairOrphanTemporaries(of orgIds: [String], logger: Logger) async -> Int {
        let tree = self.tree
        var repaired = 0
        // Every folder listed in one trip to a blocking thread (a pass looks at hundreds of them).
        let found = await BlockingWork.run {
            orgIds.map { orgId in (orgId, WorkFailure.capture { try tree.temporaries(inOutboundOf: orgId) }) }
        }
        for (orgId, listing) in found {
            do {
                for temporary in try listing.get() {
                    guard try await ledger.isFinished(sourceId: temporary.sourceId) else { continue }
                    // Still there once its source is seen finished (not placed by its step meanwhile).
                    guard await BlockingWork.run({ tree.exists("\(tree.outbound(orgId))/\(temporary.name)") }) else { continue }
                    let delivery = try await ledger.deliveries(sourceId: temporary.sourceId).first {
                        $0.recipientOrgId == orgId && $0.fileName == temporary.fileName
                    }
                    let placeable = delivery.map { $0.pickedUpAt == nil } ?? false
                    let placed = try await BlockingWork.run {
                        let placed = try placeable && tree.place(temporary.fileName, in: tree.outbound(orgId), receiptId: temporary.sourceId) == .placed
                        if !placed { tree.removeTemporary(temporary, inOutboundOf: orgId) }
                        return placed
                    }
                    repaired += 1
                    ExchangeMetrics.orphanTemporaryRepaired()
                    logger.error(
                        "a hidden temporary outlived the step that made it; repaired",
                        metadata: [
                            "exchange.participant": "\(orgId)", "exchange.source": "\(temporary.sourceId)",
                            "exchange.repair": "\(placed ? "placed" : "removed")",
                        ])
                }
            } catch {
                logger.warning(
                    "could not look for hidden temporaries", metadata: ["exchange.participant": "\(orgId)", "exchange.error": "\(error)"])
            }
        }
        return repaired
    }
}
