import ExchangeCore

/// What a rule knows besides the record: who sent the file. (Reference data — catalogs, calendars,
/// scales — joins it with the rules module.)
public struct RuleContext: Sendable {
    /// The sender: the folder the file was dropped in.
    public var senderOrgId: String

    /// Creates a context.
    public init(senderOrgId: String) {
        self.senderOrgId = senderOrgId
    }
}

/// A record that breaks a rule: the rule's code (what partners see in the error file), the field and a
/// message a clerk can act on. Messages never carry student data.
public struct RuleViolation: Sendable, Equatable {
    /// The rule's code, e.g. `ENR-01`.
    public var code: String
    /// The field at fault.
    public var field: String?
    /// What is wrong and what to do.
    public var message: String

    /// Creates a violation.
    public init(code: String, field: String?, message: String) {
        self.code = code
        self.field = field
        self.message = message
    }
}

/// A named rule: a small pure function of one record and the context. Adding a rule is one file and
/// one test.
public protocol RecordRule: Sendable {
    /// The fields (logical names) the rule reads, per type; a rule reads nothing of the types it omits.
    var fields: [ExchangeType: Set<String>] { get }
    /// The violation, if the record breaks the rule.
    func check(_ record: RecordFacts, context: RuleContext) -> RuleViolation?
}

/// The rules the exchange applies to every record that passed the schema.
public struct RuleBook: Sendable {
    /// The rules, in the order their violations are listed.
    public var rules: [any RecordRule]

    /// A rule book with the given rules.
    public init(rules: [any RecordRule]) {
        self.rules = rules
    }

    /// The rules in force.
    public static let standard = RuleBook(rules: [SenderMatchesRecord()])

    /// Every field some rule reads, in any type, plus `recordId` (the key of error rows).
    public var capturedFields: Set<String> {
        rules.reduce(into: ["recordId"]) { fields, rule in
            for set in rule.fields.values { fields.formUnion(set) }
        }
    }

    /// Every violation of `record`.
    public func judge(_ record: RecordFacts, context: RuleContext) -> [RuleViolation] {
        rules.compactMap { $0.check(record, context: context) }
    }
}
