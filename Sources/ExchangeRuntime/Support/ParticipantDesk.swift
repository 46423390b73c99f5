import ExchangeCore
import ExchangeRules

/// What one participant may see and do of the exchange, for its own pages on the review site: its
/// submissions and their errors, its `outbound/` folder. Every answer is scoped to `orgId` here, so a page
/// cannot ask for another organisation's: a receipt another organisation sent is unknown, exactly as one
/// that does not exist, and an outbound file is only ever one the ledger delivered to `orgId`.
public struct ParticipantDesk: Sendable {
    /// The participant.
    public let participant: Participant
    let desk: SupportDesk

    /// The organisation.
    public var orgId: String { participant.orgId }

    /// The desk of `orgId`; nil when it is not a participant (any more).
    public init?(orgId: String, desk: SupportDesk) {
        guard let participant = desk.referenceData.participants[orgId] else { return nil }
        self.participant = participant
        self.desk = desk
    }

    /// The reference data in force.
    public var referenceData: ReferenceData { desk.referenceData }

    /// The time now, on the exchange's clock.
    public var now: Timestamp { desk.now() }

    // MARK: Submissions

    /// Its own files matching `filter` (whatever participants the filter names), newest first.
    /// - Throws: `SupportError(.badFilter)`.
    public func submissions(_ filter: SubmissionFilter) async throws -> [Receipt] {
        var filter = filter
        filter.participants = [orgId]
        return try await desk.submissions(try filter.query(zone: desk.referenceData.policy.timeZone))
    }

    /// The whole story of one of its own files.
    /// - Throws: `SupportError(.unknownReceipt)` when there is no such receipt, or another organisation
    ///   sent it: the same error, with the same words, either way.
    public func story(of receiptId: String) async throws -> ReceiptStory {
        let unknown = SupportError(.unknownReceipt, "There is no such file among your organisation's submissions.")
        guard let receipt = try await desk.ledger.receipt(id: receiptId), receipt.senderOrgId == orgId else { throw unknown }
        return try await desk.story(of: receipt.id)
    }

    /// Lines of one of its own files' kept original (see `SupportDesk.originalLines`).
    public func originalLines(of receipt: Receipt, wanted: [Int]) -> OriginalLines? {
        guard receipt.senderOrgId == orgId else { return nil }
        return desk.originalLines(of: receipt, wanted: wanted)
    }

    // MARK: Outbound

    /// Its `outbound/`: the files waiting there (oldest first) and those taken in the last `days` days
    /// (newest first).
    public func outbound(takenWithinDays days: Int = 14) async throws -> OutboundFolder {
        let time = now
        let waiting = try await desk.ledger.pendingDeliveries().filter { $0.recipientOrgId == orgId }
        let since = Timestamp(secondsSinceEpoch: time.secondsSinceEpoch - Int64(days) * 86_400)
        let taken = try await desk.ledger.deliveries(deliveredFrom: since, before: nil)
            .filter { $0.recipientOrgId == orgId && $0.pickedUpAt != nil }
            .sorted { ($0.pickedUpAt?.secondsSinceEpoch ?? 0) > ($1.pickedUpAt?.secondsSinceEpoch ?? 0) }
        return OutboundFolder(
            waiting: waiting, taken: taken, pickupThresholdHours: desk.referenceData.policy.pickupThresholdHours, now: time, takenWithinDays: days)
    }

    /// The bytes of a file waiting in its `outbound/`, as the exchange wrote it. Reading is not taking:
    /// the file stays and waits for pickup.
    /// - Throws: `SupportError(.unknownOutboundFile)` when no delivery of that name waits for `orgId`,
    ///   or the file is not the exchange's any more (not a regular file, or a second name);
    ///   `.tooLargeForPage` over `maxBytes`.
    public func outboundFile(named name: String, maxBytes: Int = 32 << 20) async throws -> [UInt8] {
        let delivery = try await waitingDelivery(named: name)
        let (tree, orgId) = (desk.tree, orgId)
        return try await BlockingWork.run { () throws -> [UInt8] in
            let path = "\(tree.outbound(orgId))/\(delivery.fileName)"
            guard let file = try? tree.fileSystem.openForReading(path), file.entry.links <= 1 else {
                throw SupportError(.unknownOutboundFile, "That file is no longer in your outbound folder.")
            }
            guard file.entry.size <= Int64(maxBytes) else {
                throw SupportError(
                    .tooLargeForPage, "This file is too large to download here (\(file.entry.size) bytes); take it from your outbound folder over SFTP.")
            }
            var bytes: [UInt8] = []
            try file.forEachChunk { chunk in
                bytes.append(contentsOf: chunk)
                return bytes.count <= maxBytes
            }
            return bytes
        }
    }

    /// Takes a file waiting in its `outbound/`, as removing it over SFTP would: the file is removed and
    /// its pickup recorded.
    /// - Throws: `SupportError(.unknownOutboundFile)` when no delivery of that name waits for `orgId`.
    public func take(named name: String) async throws {
        let delivery = try await waitingDelivery(named: name)
        let (tree, orgId) = (desk.tree, orgId)
        await BlockingWork.run { tree.fileSystem.removeFile("\(tree.outbound(orgId))/\(delivery.fileName)") }
        try await desk.ledger.markPickedUp(recipientOrgId: orgId, fileName: delivery.fileName, at: now)
    }

    private func waitingDelivery(named name: String) async throws -> Delivery {
        guard let delivery = try await desk.ledger.pendingDeliveries().first(where: { $0.recipientOrgId == orgId && $0.fileName == name })
        else { throw SupportError(.unknownOutboundFile, "No file of that name waits in your outbound folder.") }
        return delivery
    }
}

/// A participant's `outbound/` folder as the ledger knows it.
public struct OutboundFolder: Sendable {
    /// Files waiting for pickup, oldest first.
    public var waiting: [Delivery]
    /// Files taken in the last `takenWithinDays` days, newest first.
    public var taken: [Delivery]
    /// Hours after which a waiting file is reported to support.
    public var pickupThresholdHours: Int
    /// When it was looked at.
    public var now: Timestamp
    /// How many days of taken files are listed.
    public var takenWithinDays: Int
}
