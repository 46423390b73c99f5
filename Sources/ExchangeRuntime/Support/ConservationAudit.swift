import ExchangeCore
import ExchangeRules
import ExchangeValidation

#if canImport(Glibc)
import Glibc
#endif

/// What `ktsx audit` found: the figures checked and every discrepancy.
public struct ConservationReport: Sendable {
    /// Records accepted in the period.
    public var acceptedRecords = 0
    /// Lines of the record trail checked.
    public var trailEntries = 0
    /// Deliveries checked (written in the period).
    public var deliveries = 0
    /// Files still in an `outbound/` that were read back and compared with their trail.
    public var filesReadBack = 0
    /// Every discrepancy found.
    public var discrepancies: [ConservationDiscrepancy] = []

    /// Whether conservation holds.
    public var holds: Bool { discrepancies.isEmpty }
}

/// Checks conservation (DESIGN section 4) over a period, for support and for every test that runs the
/// service: from the ledger (`ConservationCheck`: each accepted record at exactly its receivers, once;
/// nothing refused delivered), then on disk: every delivery's file present or recorded as picked up, no
/// hidden temporary left behind by finished work, and every file still in an `outbound/` carries exactly
/// the records its trail names and passes its own schema.
public struct ConservationAudit: Sendable {
    let tree: DropTree
    let ledger: any LedgerStore
    let validator: FileValidator

    /// An audit of this drop tree and ledger.
    public init(tree: DropTree, ledger: any LedgerStore, validator: FileValidator) {
        self.tree = tree
        self.ledger = ledger
        self.validator = validator
    }

    /// Audits the records received, and the files delivered, at or after `from` and before `before`
    /// (either bound may be nil: all), in the `outbound/` of `participants`.
    public func run(from: Timestamp?, before: Timestamp?, participants: [String]) async throws -> ConservationReport {
        var report = ConservationReport()
        let accepted = try await ledger.acceptedRecords(claimedFrom: from, before: before)
        let trail = try await ledger.trail(claimedFrom: from, before: before)
        var carriers: [String: ConservationCheck.Carrier] = [:]
        for run in try await ledger.jobRuns(.gradePosting) { carriers[run.id] = .gradePosting }
        for run in try await ledger.jobRuns(.unknownSync) { carriers[run.id] = .unknownSync }
        // A grade whose latest version is this one, and which no posting carried, waits for its posting.
        let postedGrades = Set(trail.filter { carriers[$0.sourceId] == .gradePosting }.map(\.record))
        // Asked a few thousand at a time (a grading day holds tens of thousands), not one by one.
        var waiting: Set<RecordReference> = []
        let unposted = accepted.filter { $0.type.descriptor?.delivery == .nightly && !postedGrades.contains($0.reference) }
        for start in stride(from: 0, to: unposted.count, by: 5_000) {
            let batch = unposted[start..<min(start + 5_000, unposted.count)]
            var request = HeldStateRequest()
            for record in batch { request.keys[record.type, default: []].insert(record.naturalKey) }
            let held = try await ledger.heldState(for: request)
            for record in batch {
                if let latest = held.records[record.type]?[record.naturalKey], latest.receiptId == record.reference.receiptId,
                    latest["recordId"] == record.reference.recordId
                {
                    waiting.insert(record.reference)
                }
            }
        }
        report.acceptedRecords = accepted.count
        report.trailEntries = trail.count
        report.discrepancies = ConservationCheck(accepted: accepted, trail: trail, carriers: carriers, waitingForPosting: waiting)
            .discrepancies()

        // Every file the trail names is a recorded delivery.
        for (source, entries) in Dictionary(grouping: trail, by: \.sourceId).sorted(by: { $0.key < $1.key }) {
            let recorded = Set(try await ledger.deliveries(sourceId: source).map { "\($0.recipientOrgId)/\($0.fileName)" })
            var reported: Set<String> = []
            for entry in entries where !recorded.contains("\(entry.recipientOrgId)/\(entry.fileName)") {
                guard reported.insert("\(entry.recipientOrgId)/\(entry.fileName)").inserted else { continue }
                report.discrepancies.append(
                    ConservationDiscrepancy(
                        .deliveryNotRecorded, sourceId: source, receiverOrgId: entry.recipientOrgId, fileName: entry.fileName,
                        detail: "the record trail names this file, but the ledger has no delivery of it"))
            }
        }

        let deliveries = try await ledger.deliveries(deliveredFrom: from, before: before)
        report.deliveries = deliveries.count
        var finished: [String: Bool] = [:]
        var trails: [String: [TrailEntry]] = [:]
        for delivery in deliveries {
            let source = delivery.receiptId
            if finished[source] == nil { finished[source] = try await ledger.isFinished(sourceId: source) }
            // Work in progress places its files when it finishes.
            guard finished[source] == true, delivery.pickedUpAt == nil else { continue }
            let path = "\(tree.outbound(delivery.recipientOrgId))/\(delivery.fileName)"
            if trails[source] == nil { trails[source] = try await ledger.trail(sourceId: source) }
            let (audit, sourceTrail) = (self, trails[source]!)
            // Read back on a thread of `BlockingWork`; nil when the file is not there.
            guard let found = try await BlockingWork.run({ () throws -> [ConservationDiscrepancy]? in
                guard audit.tree.exists(path) else { return nil }
                return try audit.readBack(delivery, path: path, trail: sourceTrail)
            }) else {
                report.discrepancies.append(
                    ConservationDiscrepancy(
                        .fileMissing, sourceId: source, receiverOrgId: delivery.recipientOrgId, fileName: delivery.fileName,
                        detail: "the file is not in outbound/ and was never recorded as picked up"))
                continue
            }
            report.filesReadBack += 1
            report.discrepancies += found
        }
        let tree = self.tree
        for orgId in participants {
            let (entries, temporaries) = try await BlockingWork.run {
                (try tree.list(tree.outbound(orgId)), try tree.temporaries(inOutboundOf: orgId))
            }
            for entry in entries where !entry.name.hasPrefix(".") {
                if try await !ledger.isPendingDelivery(recipientOrgId: orgId, fileName: entry.name) {
                    report.discrepancies.append(
                        ConservationDiscrepancy(
                            .unrecordedFile, sourceId: "-", receiverOrgId: orgId, fileName: entry.name,
                            detail: "a file in outbound/ that the ledger does not record as a delivery waiting for pickup"))
                }
            }
            for temporary in temporaries where try await ledger.isFinished(sourceId: temporary.sourceId) {
                report.discrepancies.append(
                    ConservationDiscrepancy(
                        .orphanTemporary, sourceId: temporary.sourceId, receiverOrgId: orgId, fileName: temporary.fileName,
                        detail: "a hidden temporary is left in outbound/ though the work that wrote it has finished"))
            }
        }
        return report
    }

    /// Reads a delivered file back: it must pass its schema, and a file of records (routed, posted,
    /// synced) must carry exactly the records its trail (`trail`, its source's) names, each once.
    private func readBack(_ delivery: Delivery, path: String, trail: [TrailEntry]) throws -> [ConservationDiscrepancy] {
        guard let file = try? tree.fileSystem.openForReading(path) else { return [] }  // taken meanwhile
        var carried: [RecordReference] = []
        let source = delivery.receiptId
        let report = try validator.validate(
            reading: { buffer throws(FileReadError) in
                do {
                    return try file.read(into: buffer)
                } catch {
                    throw FileReadError(file: delivery.fileName, reason: "\(error)")
                }
            },
            rewind: { () throws(FileReadError) in
                do {
                    try file.rewind()
                } catch {
                    throw FileReadError(file: delivery.fileName, reason: "\(error)")
                }
            }, displayName: delivery.fileName, capturing: ["recordId", "receiptId"],
            onRecord: { record in
                carried.append(RecordReference(receiptId: record.values["receiptId"] ?? source, recordId: record.values["recordId"] ?? ""))
            })
        func discrepancy(_ kind: ConservationDiscrepancy.Kind, _ detail: String) -> ConservationDiscrepancy {
            ConservationDiscrepancy(kind, sourceId: source, receiverOrgId: delivery.recipientOrgId, fileName: delivery.fileName, detail: detail)
        }
        var found: [ConservationDiscrepancy] = []
        if report.errorCount > 0 || report.type == nil {
            let codes = Set(report.issues.map(\.code.rawValue)).sorted().joined(separator: ", ")
            found.append(discrepancy(.fileInvalid, "the file fails its own schema (\(codes))"))
        }
        guard let type = report.type, [.enrollment, .attendance, .gradePosting, .unknownAttendance].contains(type) else { return found }
        let expected = trail.filter { $0.recipientOrgId == delivery.recipientOrgId && $0.fileName == delivery.fileName }
            .map(\.record)
        if carried.sorted() != expected.sorted() {
            let inFile = Set(carried), inTrail = Set(expected)
            let extra = inFile.subtracting(inTrail).count, missing = inTrail.subtracting(inFile).count
            let repeated = carried.count - inFile.count
            found.append(
                discrepancy(
                    .fileDiffersFromTrail,
                    "the file carries \(carried.count) records, its trail \(expected.count): \(extra) not in the trail, "
                        + "\(missing) missing from the file, \(repeated) repeated"))
        }
        return found
    }
}
