/// One record of a received file, named as partners name it: the receipt of the file that carried it and
/// its `recordId` (unique within a file: both bindings' schemas enforce it). Never student data.
public struct RecordReference: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The receipt of the file that carried the record.
    public var receiptId: String
    /// The record's `recordId`.
    public var recordId: String

    /// Names a record.
    public init(receiptId: String, recordId: String) {
        self.receiptId = receiptId
        self.recordId = recordId
    }

    public static func < (a: RecordReference, b: RecordReference) -> Bool { (a.receiptId, a.recordId) < (b.receiptId, b.recordId) }

    /// `receipt/recordId`.
    public var description: String { "\(receiptId)/\(recordId)" }
}

/// A record the rules accepted and the ledger applied: what conservation (DESIGN section 4) is checked
/// against. Enrollments and attendance go to their recipient at once, grades at its next posting.
public struct AcceptedRecord: Sendable, Hashable {
    /// The record.
    public var reference: RecordReference
    /// Its type.
    public var type: ExchangeType
    /// Its natural key (`NaturalKey.of`): later versions of the same fact share it.
    public var naturalKey: String
    /// Whom the rules send it to: the center of an enrollment, the home high school of attendance and grades.
    public var recipientOrgId: String
    /// Whether it deletes the fact.
    public var deleted: Bool

    /// Creates one.
    public init(reference: RecordReference, type: ExchangeType, naturalKey: String, recipientOrgId: String, deleted: Bool) {
        self.reference = reference
        self.type = type
        self.naturalKey = naturalKey
        self.recipientOrgId = recipientOrgId
        self.deleted = deleted
    }

    /// The accepted record a held record's new version stands for.
    public init(_ held: HeldRecord) {
        self.init(
            reference: RecordReference(receiptId: held.receiptId, recordId: held["recordId"]), type: held.type,
            naturalKey: held.naturalKey, recipientOrgId: held.recipientOrgId, deleted: held.deleted)
    }
}

/// One line of the record trail: a record that went into a delivered file for a recipient.
public struct TrailEntry: Sendable, Hashable {
    /// The receipt or job run that wrote the file.
    public var sourceId: String
    /// Whose `outbound/` the file went to.
    public var recipientOrgId: String
    /// The file's name there.
    public var fileName: String
    /// The record it carries.
    public var record: RecordReference

    /// Creates one.
    public init(sourceId: String, recipientOrgId: String, fileName: String, record: RecordReference) {
        self.sourceId = sourceId
        self.recipientOrgId = recipientOrgId
        self.fileName = fileName
        self.record = record
    }
}
