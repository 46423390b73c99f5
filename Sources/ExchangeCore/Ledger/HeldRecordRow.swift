/// The columns every ledger stores for a held record, decided once here for SQLite, PostgreSQL and the
/// in-memory twin: the adapters bind these values and decide nothing about the record's type.
public struct HeldRecordRow: Sendable, Equatable {
    /// The type code (ENR, ATT, GRD).
    public var type: String
    /// The natural key.
    public var naturalKey: String
    /// Who sent it.
    public var senderOrgId: String
    /// Who receives it.
    public var recipientOrgId: String
    /// The school year.
    public var schoolYear: Int
    /// The student's state ID (the lookups by student use it).
    public var ssid: String
    /// The technical center the record is about (the descriptor's `centerField`).
    public var centerOrgId: String
    /// The date the record is filed under (the descriptor's `dateField`; "" when the type has none).
    public var recordDate: String
    /// The fields as JSON (`LedgerRecordFields.encode`).
    public var fields: String
    /// The receipt of the file that carried this version.
    public var receiptId: String
    /// When this version was accepted, in seconds since 1970.
    public var acceptedAt: Int64
    /// Whether the last action on the key was `delete`.
    public var deleted: Bool
    /// Whether the version waits for the night's posting (types delivered nightly).
    public var pendingPosting: Bool

    /// The row of `held`.
    public init(_ held: HeldRecord) {
        let descriptor = held.type.descriptor
        type = held.type.code
        naturalKey = held.naturalKey
        senderOrgId = held.senderOrgId
        recipientOrgId = held.recipientOrgId
        schoolYear = held.schoolYear
        ssid = held["ssid"]
        centerOrgId = descriptor.map { held[$0.centerField] } ?? held.senderOrgId
        recordDate = descriptor?.dateField.map { held[$0] } ?? ""
        fields = LedgerRecordFields.encode(held.values)
        receiptId = held.receiptId
        acceptedAt = held.acceptedAt.secondsSinceEpoch
        deleted = held.deleted
        pendingPosting = descriptor?.delivery == .nightly
    }
}
