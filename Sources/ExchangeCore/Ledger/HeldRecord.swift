/// The latest accepted version of a record, by its natural key: the roster (ENR), attendance (ATT) and
/// staged grades (GRD) the exchange holds. Values are canonical (`FieldValues`), so the record can be
/// written again in either binding.
public struct HeldRecord: Sendable, Equatable {
    /// The record's type.
    public var type: ExchangeType
    /// The natural key (`NaturalKey.of`).
    public var naturalKey: String
    /// Who sent it (the folder it came from).
    public var senderOrgId: String
    /// Who it goes to: the center for an enrollment, the home high school for attendance and grades.
    public var recipientOrgId: String
    /// The record's school year.
    public var schoolYear: Int
    /// The record's fields, by logical name; empty fields are absent.
    public var values: [String: String]
    /// The receipt of the file that carried this version.
    public var receiptId: String
    /// When this version was accepted.
    public var acceptedAt: Timestamp
    /// Whether the last action on the key was `delete`.
    public var deleted: Bool

    /// Creates a held record.
    public init(
        type: ExchangeType, naturalKey: String, senderOrgId: String, recipientOrgId: String, schoolYear: Int,
        values: [String: String], receiptId: String, acceptedAt: Timestamp, deleted: Bool
    ) {
        self.type = type
        self.naturalKey = naturalKey
        self.senderOrgId = senderOrgId
        self.recipientOrgId = recipientOrgId
        self.schoolYear = schoolYear
        self.values = values
        self.receiptId = receiptId
        self.acceptedAt = acceptedAt
        self.deleted = deleted
    }

    /// A field's value, or "".
    public subscript(_ field: String) -> String { values[field] ?? "" }
}

/// The natural key of a record (record-layouts §8): the fields that name the same real-world fact, so
/// that a later record updates or deletes an earlier one. Each partner type's key fields are in its
/// `RecordTypeDescriptor`; a file the processor writes is named by its `recordId`.
public enum NaturalKey {
    /// The key fields of `type`.
    public static func fields(of type: ExchangeType) -> [String] { type.descriptor?.keyFields ?? ["recordId"] }

    /// The key of a record: its key fields' values joined with `|`.
    public static func of(_ type: ExchangeType, _ values: [String: String]) -> String {
        fields(of: type).map { values[$0] ?? "" }.joined(separator: "|")
    }
}

/// A waiver request a center sent and where it stands.
public struct WaiverRequest: Sendable, Equatable {
    /// Where a request stands.
    public enum Status: String, Sendable, CaseIterable {
        /// Waiting for support's decision.
        case pending
        /// Approved: the center is exempt for the year.
        case approved
        /// Denied.
        case denied
        /// Withdrawn by the center.
        case withdrawn
    }

    /// The request's recordId (the id support uses).
    public var id: String
    /// The center.
    public var centerOrgId: String
    /// The year it covers.
    public var schoolYear: Int
    /// The request's fields (no student data in a waiver).
    public var values: [String: String]
    /// The receipt of the file that carried it.
    public var receiptId: String
    /// When it was received.
    public var receivedAt: Timestamp
    /// Where it stands.
    public var status: Status
    /// Support's reason, once decided.
    public var decisionReason: String?
    /// When support decided.
    public var decidedAt: Timestamp?

    /// Creates a request.
    public init(
        id: String, centerOrgId: String, schoolYear: Int, values: [String: String], receiptId: String, receivedAt: Timestamp,
        status: Status = .pending, decisionReason: String? = nil, decidedAt: Timestamp? = nil
    ) {
        self.id = id
        self.centerOrgId = centerOrgId
        self.schoolYear = schoolYear
        self.values = values
        self.receiptId = receiptId
        self.receivedAt = receivedAt
        self.status = status
        self.decisionReason = decisionReason
        self.decidedAt = decidedAt
    }

    /// Whether the request still counts (pending or approved).
    public var isActive: Bool { status == .pending || status == .approved }
}
