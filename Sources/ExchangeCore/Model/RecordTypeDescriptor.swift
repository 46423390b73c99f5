/// What the exchange knows about one record type partners send, in one place: the fields that name a
/// record, who sends and who receives it, the year and date it belongs to, and how it travels. The
/// values for each type are generated with the schemas from `tools/schema_fields.py`
/// (`RecordTypeDescriptor.enrollment`, ...; `ExchangeType.descriptor`), so a new type is described once.
public struct RecordTypeDescriptor: Sendable, Equatable {
    /// How an accepted record reaches its receiver.
    public enum Delivery: Sendable, Equatable {
        /// Routed at once: the receiver's file is placed with the sender's acknowledgement.
        case atOnce
        /// Staged and carried by the night's posting (one file per receiver and night).
        case nightly
        /// Kept for support's decision; the decision goes back to the sender.
        case decision
    }

    /// Where the exchange keeps accepted records of the type.
    public enum Holding: Sendable, Equatable {
        /// Held records by natural key (the roster, attendance, staged grades).
        case byNaturalKey
        /// The waiver register (requests and their decisions).
        case waiverRegister
    }

    /// The type.
    public let type: ExchangeType
    /// The natural key (record-layouts §8): the fields that name the same real-world fact, so that a
    /// later record updates or deletes an earlier one.
    public let keyFields: [String]
    /// The field naming the sending organisation: it must be the folder the file came from.
    public let senderField: String
    /// The field naming the technical center the record is about.
    public let centerField: String
    /// The field naming who receives the record; nil when support decides it.
    public let receiverField: String?
    /// The field holding the record's school year.
    public let yearField: String
    /// The date a held record is filed under (the attendance day, the enrollment's entry, the grade's
    /// as-of date); nil when there is none.
    public let dateField: String?
    /// How an accepted record reaches its receiver.
    public let delivery: Delivery
    /// The type of the file that carries accepted records to their receiver.
    public let output: ExchangeType
    /// Where accepted records are kept.
    public let holding: Holding
    /// The rule that refuses a record whose `senderField` is not the sender (ENR-01, ATT-10, ...).
    public let senderRule: RuleCode
    /// The rule that refuses an `add` of a key on file or a change of one not on file; nil for a type not
    /// held by key.
    public let keyRule: RuleCode?
    /// The rule that refuses a record from a center waived for the year; nil when the type has none.
    public let waivedRule: RuleCode?

    /// A descriptor (the generated ones are the only ones the exchange uses).
    public init(
        type: ExchangeType, keyFields: [String], senderField: String, centerField: String, receiverField: String?,
        yearField: String, dateField: String?, delivery: Delivery, output: ExchangeType, holding: Holding, senderRule: RuleCode,
        keyRule: RuleCode?, waivedRule: RuleCode?
    ) {
        self.type = type
        self.keyFields = keyFields
        self.senderField = senderField
        self.centerField = centerField
        self.receiverField = receiverField
        self.yearField = yearField
        self.dateField = dateField
        self.delivery = delivery
        self.output = output
        self.holding = holding
        self.senderRule = senderRule
        self.keyRule = keyRule
        self.waivedRule = waivedRule
    }

    /// The natural key of a record with `values`: its key fields' values joined with `|`.
    public func naturalKey(_ values: [String: String]) -> String {
        keyFields.map { values[$0] ?? "" }.joined(separator: "|")
    }
}
