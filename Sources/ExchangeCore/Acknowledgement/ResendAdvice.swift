/// What an acknowledgement tells the sender to do about the records not applied (DESIGN section 4: the
/// advice follows the codes). Most refusals are fixed by correcting the records and sending them again;
/// a record refused for a code no resend can fix is not, and the acknowledgement says so, and what to do
/// instead.
public enum ResendAdvice {
    /// Rule codes that no corrected resend through the exchange can fix, with what to do instead.
    public static let unfixableByResend: [RuleCode: String] = [
        .wvr01: "only a district-operated CTC (class A2) may ask for a waiver; a state-operated ATC (C2) may not",
        .att12: "the center's waiver for the school year was approved: send attendance by the waiver's alternate process",
        .grd12: "the center's waiver for the school year was approved: send grades by the waiver's alternate process",
        .enr09: "the school year is closed and retired from the exchange: ask KTS support how to correct it",
        .att13: "the school year is closed and retired from the exchange: ask KTS support how to correct it",
        .grd14: "the school year is closed and retired from the exchange: ask KTS support how to correct it",
    ]

    /// The advice for the records not applied, each given by its codes.
    /// - Parameter othersApplied: Whether the file's other records were applied (send only these, then),
    ///   or none was (send the file again).
    public static func advice(records: [[String]], othersApplied: Bool) -> String {
        let refusedFor = records.map { Set(unfixableCodes(in: Set($0))) }
        let unfixable = refusedFor.reduce(into: Set<RuleCode>()) { $0.formUnion($1) }.sorted { $0.rawValue < $1.rawValue }
        let fixable = refusedFor.filter(\.isEmpty).count
        let reasons = unfixable.map { "\($0.rawValue): \(unfixableByResend[$0]!)" }.joined(separator: "; ")
        func theRecords(_ count: Int) -> String { count == 1 ? "the record" : "the \(count) records" }
        if unfixable.isEmpty {
            if !othersApplied { return "Fix it and send it again." }
            return fixable == 1 ? "Fix that record and send only it; the others are on file."
                : "Fix those \(fixable) records and send only them; the others are on file."
        }
        if fixable == 0 {
            let subject = othersApplied ? (records.count == 1 ? "that record" : "those records") : "it"
            return "Sending \(subject) again will not change that (\(reasons))."
        }
        return "Fix \(theRecords(fixable)) with other errors and send only \(fixable == 1 ? "it" : "them"); \(theRecords(records.count - fixable)) "
            + "refused for \(unfixable.map(\.rawValue).joined(separator: ", ")) cannot come through the exchange (\(reasons))."
    }

    private static func unfixableCodes(in codes: Set<String>) -> [RuleCode] {
        codes.compactMap { RuleCode(rawValue: $0) }.filter { unfixableByResend[$0] != nil }
    }
}
