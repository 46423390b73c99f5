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
        let fileName = try await waitingFile(named: name)
        let (tree, orgId) = (desk.tree, orgId)
        return try await BlockingWork.run { () throws -> [UInt8] in
            let path = "\(tree.outbound(orgId))/\(fileName)"
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
        let fileName = try await waitingFile(named: name)
        let (tree, orgId) = (desk.tree, orgId)
        await BlockingWork.run { tree.fileSystem.removeFile("\(tree.outbound(orgId))/\(fileName)") }
        try await desk.ledger.markPickedUp(recipientOrgId: orgId, fileName: fileName, at: now)
    }

    // MARK: Reports

    /// Whether the participant is a technical center (it has a roster; a high school has an attendance report).
    public var isTechnicalCenter: Bool { participant.classification.isTechnicalCenter }

    /// The most days one attendance report covers.
    public static let maxReportDays = 62

    /// The high school's attendance at the centers from `from` through `through`, as the centers' records
    /// stand now: its students named from its own enrollments only, and the attendance it was sent as
    /// unknown (the unknown-attendance syncs of those days) marked resolved once the center excused it.
    public func attendanceReport(from: LocalDate, through: LocalDate) async throws -> AttendanceReport {
        let ledger = desk.ledger
        let attendance = try await ledger.heldRecords(.attendance, recipientOrgId: orgId, datedFrom: from.description, through: through.description)
        var request = HeldStateRequest()
        request.students = Set(attendance.map { StudentAtCenter(ssid: $0["ssid"], center: $0["techCenterOrgId"]) })
        let enrollments = request.students.isEmpty ? [] : try await ledger.heldState(for: request).enrollments.values.flatMap { $0 }
        var reported = Set<String>()
        var day = from
        while day <= through {
            if let run = try await ledger.jobRun(.unknownSync, runKey: "\(orgId)|\(day)"), run.state == .finished {
                reported.formUnion(try await keysCarried(by: run, held: attendance.filter { $0["attendanceDate"] == day.description }))
            }
            day = day.adding(days: 1)
        }
        // Only the school's own enrollments name a student: another school's roster is not its to show.
        return AttendanceReport(attendance: attendance, ownEnrollments: enrollments.filter { $0.senderOrgId == orgId }, reportedUnknown: reported)
    }

    /// The natural keys of the attendance a job run's files carried: the versions held now by their
    /// record, the versions since replaced through the records their files had accepted.
    private func keysCarried(by run: JobRun, held: [HeldRecord]) async throws -> Set<String> {
        let ledger = desk.ledger
        var wanted = Set(try await ledger.trail(sourceId: run.id).map(\.record))
        var keys = Set<String>()
        for record in held where wanted.remove(RecordReference(receiptId: record.receiptId, recordId: record["recordId"])) != nil {
            keys.insert(record.naturalKey)
        }
        for receiptId in Set(wanted.map(\.receiptId)) {
            guard let receipt = try await ledger.receipt(id: receiptId) else { continue }
            let second = receipt.claimedAt
            for accepted in try await ledger.acceptedRecords(
                claimedFrom: second, before: Timestamp(secondsSinceEpoch: second.secondsSinceEpoch + 1))
            where wanted.contains(accepted.reference) {
                keys.insert(accepted.naturalKey)
            }
        }
        return keys
    }

    /// The technical center's roster on `date`, by section, with the attendance it sent for that day.
    public func roster(on date: LocalDate) async throws -> RosterReport {
        let ledger = desk.ledger
        let enrollments = try await ledger.heldRecords(.enrollment, recipientOrgId: orgId, datedFrom: "", through: date.description)
            .filter { $0.schoolYear == date.schoolYear }
        var attendance: [HeldRecord] = []
        for school in Set(enrollments.filter { !$0.deleted }.map { $0["homeSchoolOrgId"] }).sorted() {
            attendance += try await ledger.heldRecords(.attendance, recipientOrgId: school, datedFrom: date.description, through: date.description)
                .filter { $0["techCenterOrgId"] == orgId }
        }
        return RosterReport(
            center: orgId, date: date, instructional: desk.referenceData.isInstructional(date, at: orgId), enrollments: enrollments,
            attendance: attendance)
    }

    /// Today in the participant's own time zone.
    public var today: LocalDate { desk.referenceData.zone(of: orgId).local(now).date }

    /// `name`, when a delivery of that name waits for `orgId` (the ledger's own name, never a path).
    private func waitingFile(named name: String) async throws -> String {
        guard try await desk.ledger.isPendingDelivery(recipientOrgId: orgId, fileName: name) else {
            throw SupportError(.unknownOutboundFile, "No file of that name waits in your outbound folder.")
        }
        return name
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
