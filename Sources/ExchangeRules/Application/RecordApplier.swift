import ExchangeCore

/// Judges the records of one file in file order and keeps what the accepted ones change: the held
/// records (roster, attendance, grades), the waiver register, and the records to route. Pure: the
/// caller commits the changes (in one ledger transaction with the acknowledgement) only if the file as a
/// whole passes the gate.
///
/// Each record is judged against what was held before the file plus what the records before it in the
/// same file changed.
public final class RecordApplier {
    /// The rules.
    public let rules: RuleBook
    /// The receipt of the file.
    public let receiptId: String
    private var context: RuleContext
    private let overlay: FileOverlay
    private let fieldTypes: [String: TableSchema.FieldType]

    /// Accepted changes of held records, in file order.
    public private(set) var changes: [HeldRecord] = []
    /// New or changed waiver requests, in file order.
    public private(set) var waiverChanges: [WaiverRequest] = []
    /// Records identical to the version on file from the same sender (a resend): accepted, and nothing
    /// applied or routed again.
    public private(set) var alreadyOnFile = 0

    /// An applier for one file.
    /// - Parameters:
    ///   - context: Sender, reference data, held records before the file, time of receipt.
    ///   - fieldTypes: Each field's type, to put values in canonical form (`FieldValues`).
    public init(rules: RuleBook, context: RuleContext, receiptId: String, fieldTypes: [String: TableSchema.FieldType]) {
        self.rules = rules
        self.receiptId = receiptId
        self.fieldTypes = fieldTypes
        overlay = FileOverlay(base: context.held)
        self.context = context
        self.context.held = overlay
    }

    /// Judges one record; when it passes every rule, applies it to the overlay and keeps the change.
    /// - Returns: The violations (empty when accepted).
    public func consider(_ facts: RecordFacts) -> [RuleViolation] {
        considerCanonical(canonical(facts))
    }

    /// The record with its values in canonical form (what is judged, keyed and held).
    public func canonical(_ facts: RecordFacts) -> RecordFacts {
        var record = facts
        for (field, value) in record.values {
            if let type = fieldTypes[field] { record.values[field] = FieldValues.canonical(value, as: type) }
        }
        return record
    }

    /// `consider` for a record already in canonical form (`canonical`).
    public func considerCanonical(_ record: RecordFacts) -> [RuleViolation] {
        if isOnFileAlready(record) {
            alreadyOnFile += 1
            return []
        }
        let violations = rules.judge(record, context: context)
        guard violations.isEmpty else { return violations }
        apply(record)
        return []
    }

    /// Whether the version on file under the record's natural key came from the same sender with the
    /// same values, `recordId` and action included: a record sent again, which changes nothing (a clerk
    /// resending a whole file after fixing its failed records). Waiver requests have their own actions.
    private func isOnFileAlready(_ record: RecordFacts) -> Bool {
        guard record.type.descriptor?.holding == .byNaturalKey,
            let held = context.held.record(record.type, key: record.naturalKey)
        else { return false }
        return !held.deleted && held.senderOrgId == context.senderOrgId && held.values == record.values
    }

    private func apply(_ record: RecordFacts) {
        guard let descriptor = record.type.descriptor else { return }
        switch descriptor.holding {
        case .waiverRegister: applyWaiver(record)
        case .byNaturalKey: hold(record)
        }
    }

    private func hold(_ record: RecordFacts) {
        guard let recipient = RecordApplier.recipient(of: record), let year = record.schoolYear else { return }
        let held = HeldRecord(
            type: record.type, naturalKey: record.naturalKey, senderOrgId: context.senderOrgId, recipientOrgId: recipient,
            schoolYear: year, values: record.values, receiptId: receiptId, acceptedAt: context.receivedAt,
            deleted: record["action"] == "delete")
        overlay.changes.hold(held)
        changes.append(held)
    }

    private func applyWaiver(_ record: RecordFacts) {
        guard let year = record.schoolYear else { return }
        let center = context.senderOrgId
        func change(_ request: WaiverRequest) {
            overlay.changes.waiverRequests.removeAll { $0.id == request.id }
            overlay.changes.waiverRequests.append(request)
            waiverChanges.removeAll { $0.id == request.id }
            waiverChanges.append(request)
        }
        let prior = overlay.waivers(center: center, schoolYear: year).first { $0.id.lowercased() == record["priorWaiverId"].lowercased() }
        switch record["action"] {
        case "withdraw":
            guard var prior else { return }
            prior.status = .withdrawn
            prior.decisionReason = "Withdrawn by the center (\(record["recordId"]))."
            prior.decidedAt = context.receivedAt
            change(prior)
        default:
            if record["action"] == "amend", var prior {
                prior.status = .withdrawn
                prior.decisionReason = "Replaced by the amended request \(record["recordId"])."
                prior.decidedAt = context.receivedAt
                change(prior)
            }
            change(
                WaiverRequest(
                    id: record["recordId"], centerOrgId: center, schoolYear: year, values: record.values, receiptId: receiptId,
                    receivedAt: context.receivedAt))
        }
    }

    /// Who a record goes to (its descriptor's `receiverField`): the center for an enrollment, the home
    /// high school for attendance and grades; nil for a waiver, which support decides.
    public static func recipient(of record: RecordFacts) -> String? {
        record.type.descriptor?.receiverField.flatMap { record.values[$0] }
    }

    /// The accepted records to route at once (the types delivered `atOnce`: enrollments to their
    /// centers, attendance to the home high schools), by recipient, in file order. Grades wait for the
    /// nightly posting.
    public var routedNow: [String: [HeldRecord]] {
        var routed: [String: [HeldRecord]] = [:]
        for change in changes where change.type.descriptor?.delivery == .atOnce {
            routed[change.recipientOrgId, default: []].append(change)
        }
        return routed
    }
}
