import ExchangeCore

/// Something that breaks conservation (DESIGN section 4): a record lost, doubled, misrouted or routed
/// though refused, a delivered file gone without a pickup, a file that differs from its trail, a hidden
/// temporary left behind. Names receipts, record ids, receivers and files: never student data.
public struct ConservationDiscrepancy: Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as a stable code.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// An accepted record never reached its receiver.
        case notDelivered = "not-delivered"
        /// An accepted record reached its receiver more than once.
        case deliveredTwice = "delivered-twice"
        /// A record went to someone the rules do not name.
        case wrongReceiver = "wrong-receiver"
        /// A record that was not accepted (refused, or never received) went into a delivered file.
        case notAccepted = "routed-not-accepted"
        /// A delivery's file is neither in `outbound/` nor recorded as picked up.
        case fileMissing = "file-missing"
        /// The record trail names a delivered file that the ledger does not record as a delivery.
        case deliveryNotRecorded = "delivery-not-recorded"
        /// A file in `outbound/` that the ledger does not record as a delivery waiting for pickup.
        case unrecordedFile = "unrecorded-file"
        /// A file in `outbound/` carries other records than its trail says.
        case fileDiffersFromTrail = "file-differs-from-trail"
        /// A file in `outbound/` fails its own schema.
        case fileInvalid = "file-invalid"
        /// A hidden temporary in `outbound/` whose step has finished.
        case orphanTemporary = "orphan-temporary"
    }

    /// What went wrong.
    public var kind: Kind
    /// The receipt of the record or file concerned, or the job run that wrote the file.
    public var sourceId: String
    /// The record's `recordId`, when a record is concerned.
    public var recordId: String?
    /// The receiver concerned.
    public var receiverOrgId: String?
    /// The file concerned, in the receiver's `outbound/`.
    public var fileName: String?
    /// One sentence for support.
    public var detail: String

    /// Creates one.
    public init(
        _ kind: Kind, sourceId: String, recordId: String? = nil, receiverOrgId: String? = nil, fileName: String? = nil, detail: String
    ) {
        self.kind = kind
        self.sourceId = sourceId
        self.recordId = recordId
        self.receiverOrgId = receiverOrgId
        self.fileName = fileName
        self.detail = detail
    }

    /// `kind receipt/record → receiver file: detail`.
    public var description: String {
        var text = "\(kind.rawValue) \(sourceId)"
        if let recordId { text += "/\(recordId)" }
        if let receiverOrgId { text += " → \(receiverOrgId)" }
        if let fileName { text += " \(fileName)" }
        return text + ": \(detail)"
    }
}

/// Checks conservation from the ledger alone (pure): every accepted record reaches exactly the receivers
/// the rules name, once, and nothing else is delivered.
///
/// - An enrollment or attendance record goes at once, in a file its own receipt wrote, to its receiver
///   (the center of an enrollment, the home high school of attendance).
/// - A grade goes to its home high school in one grade posting, unless a later version of the same grade
///   (same natural key) replaced it before a posting, it still waits for its posting, or it deletes a
///   grade the high school never received.
/// - A record in an unknown-attendance sync is accepted attendance of that school.
public struct ConservationCheck: Sendable {
    /// The kinds of job runs that carry received records.
    public enum Carrier: Sendable, Equatable {
        /// A grade posting run.
        case gradePosting
        /// An unknown-attendance sync run.
        case unknownSync
    }

    /// The records accepted, in the order the ledger recorded them.
    public var accepted: [AcceptedRecord]
    /// The record trail of those records (and of any record named as theirs).
    public var trail: [TrailEntry]
    /// The job runs that carry records, by id; any other source is a receipt.
    public var carriers: [String: Carrier]
    /// Grades whose latest version still waits for its posting.
    public var waitingForPosting: Set<RecordReference>

    /// A check over these facts.
    public init(
        accepted: [AcceptedRecord], trail: [TrailEntry], carriers: [String: Carrier], waitingForPosting: Set<RecordReference>
    ) {
        self.accepted = accepted
        self.trail = trail
        self.carriers = carriers
        self.waitingForPosting = waitingForPosting
    }

    /// Every discrepancy, in the order of the records concerned.
    public func discrepancies() -> [ConservationDiscrepancy] {
        var found: [ConservationDiscrepancy] = []
        let byRecord = Dictionary(grouping: trail, by: \.record)
        let acceptedReferences = Set(accepted.map(\.reference))
        // Later versions of each grade, to tell a replaced grade from a lost one.
        var gradeVersions: [String: [Int]] = [:]
        for (index, record) in accepted.enumerated() where record.type == .grades {
            gradeVersions[record.naturalKey, default: []].append(index)
        }
        for (index, record) in accepted.enumerated() {
            let entries = byRecord[record.reference] ?? []
            let reference = record.reference
            func report(_ kind: ConservationDiscrepancy.Kind, _ entry: TrailEntry?, _ detail: String) {
                found.append(
                    ConservationDiscrepancy(
                        kind, sourceId: reference.receiptId, recordId: reference.recordId,
                        receiverOrgId: entry?.recipientOrgId ?? record.recipientOrgId, fileName: entry?.fileName, detail: detail))
            }
            for entry in entries where carriers[entry.sourceId] == .unknownSync {
                if record.type != .attendance || entry.recipientOrgId != record.recipientOrgId {
                    report(.wrongReceiver, entry, "an unknown-attendance sync carried it to a school that is not its home high school \(record.recipientOrgId)")
                }
            }
            let syncs = entries.filter { carriers[$0.sourceId] == .unknownSync && $0.recipientOrgId == record.recipientOrgId }
            if syncs.count > 1 {
                report(.deliveredTwice, syncs[1], "it was in \(syncs.count) unknown-attendance syncs")
            }
            let delivered = entries.filter { carriers[$0.sourceId] != .unknownSync }
            for entry in delivered where entry.recipientOrgId != record.recipientOrgId {
                report(.wrongReceiver, entry, "it went to \(entry.recipientOrgId), but its receiver is \(record.recipientOrgId)")
            }
            let toReceiver = delivered.filter { $0.recipientOrgId == record.recipientOrgId }
            switch record.type.descriptor?.delivery {
            case .atOnce:
                for entry in toReceiver where entry.sourceId != reference.receiptId {
                    report(.wrongReceiver, entry, "it was delivered by \(entry.sourceId), not with its own receipt's routed files")
                }
                let routed = toReceiver.filter { $0.sourceId == reference.receiptId }
                if routed.isEmpty {
                    report(.notDelivered, nil, "accepted, but no routed file carried it to \(record.recipientOrgId)")
                } else if routed.count > 1 {
                    report(.deliveredTwice, routed[1], "\(routed.count) routed files carried it to its receiver")
                }
            case .nightly:
                let postings = toReceiver.filter { carriers[$0.sourceId] == .gradePosting }
                for entry in toReceiver where carriers[entry.sourceId] != .gradePosting {
                    report(.wrongReceiver, entry, "a grade went out in \(entry.sourceId), which is not a grade posting")
                }
                if postings.count > 1 {
                    report(.deliveredTwice, postings[1], "it was in \(postings.count) grade postings")
                } else if postings.isEmpty {
                    let versions = gradeVersions[record.naturalKey] ?? []
                    let replaced = versions.contains { $0 > index }
                    let earlierPosted = versions.contains { other in
                        other < index && (byRecord[accepted[other].reference] ?? []).contains { carriers[$0.sourceId] == .gradePosting }
                    }
                    let neverHeld = record.deleted && !earlierPosted
                    if !replaced, !neverHeld, !waitingForPosting.contains(reference) {
                        report(.notDelivered, nil, "an accepted grade that no posting carried to \(record.recipientOrgId), and it no longer waits for one")
                    }
                }
            case .decision, nil:
                for entry in delivered {
                    report(.wrongReceiver, entry, "a \(record.type.code) record is not sent on, but went to \(entry.recipientOrgId)")
                }
            }
        }
        for entry in trail where !acceptedReferences.contains(entry.record) {
            found.append(
                ConservationDiscrepancy(
                    .notAccepted, sourceId: entry.record.receiptId, recordId: entry.record.recordId, receiverOrgId: entry.recipientOrgId,
                    fileName: entry.fileName, detail: "\(entry.sourceId) delivered a record that was not accepted"))
        }
        return found
    }
}
