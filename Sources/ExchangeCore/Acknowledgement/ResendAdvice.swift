/// A record not applied, as the acknowledgement's advice needs it: its codes, and for those no corrected
/// resend can fix, why (the rule that refused it says so, case by case).
public struct RefusedRecord: Sendable, Equatable {
    /// The codes of its violations.
    public var codes: [String]
    /// For each code no resend can fix, why not.
    public var noResendFixes: [String: String]

    /// Creates one.
    public init(codes: [String], noResendFixes: [String: String] = [:]) {
        self.codes = codes
        self.noResendFixes = noResendFixes
    }
}

/// What an acknowledgement tells the sender to do about the records not applied (DESIGN section 4: the
/// advice follows the codes). Most refusals are fixed by correcting the records and sending them again;
/// a record refused for a reason no resend can fix is not, and the acknowledgement says so, and what to do
/// instead.
public enum ResendAdvice {
    /// The advice for the records not applied.
    /// - Parameter othersApplied: Whether the file's other records were applied (send only these, then),
    ///   or none was (send the file again).
    public static func advice(records: [RefusedRecord], othersApplied: Bool) -> String {
        var reasons: [String: String] = [:]
        for record in records { reasons.merge(record.noResendFixes) { first, _ in first } }
        let unfixable = reasons.keys.sorted()
        let fixable = records.filter(\.noResendFixes.isEmpty).count
        let why = unfixable.map { "\($0): \(reasons[$0]!)" }.joined(separator: "; ")
        func theRecords(_ count: Int) -> String { count == 1 ? "the record" : "the \(count) records" }
        if unfixable.isEmpty {
            if !othersApplied { return "Fix it and send it again." }
            return fixable == 1 ? "Fix that record and send only it; the others are on file."
                : "Fix those \(fixable) records and send only them; the others are on file."
        }
        if fixable == 0 {
            let subject = othersApplied ? (records.count == 1 ? "that record" : "those records") : "it"
            return "Sending \(subject) again will not change that (\(why))."
        }
        return "Fix \(theRecords(fixable)) with other errors and send only \(fixable == 1 ? "it" : "them"); \(theRecords(records.count - fixable)) "
            + "refused for \(unfixable.joined(separator: ", ")) cannot come through the exchange (\(why))."
    }
}
