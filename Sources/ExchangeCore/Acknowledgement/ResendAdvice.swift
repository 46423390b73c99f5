/// What an acknowledgement tells the sender of a file in which no record was accepted (DESIGN section 4:
/// the advice follows the codes). Most refusals are fixed by correcting the file and sending it again;
/// some no resend can fix, and the acknowledgement says so instead.
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

    /// The advice after "Nothing in the file was applied" for a rejected file whose errors carry `codes`.
    public static func forRejection(codes: Set<String>) -> String {
        let unfixable = codes.compactMap { RuleCode(rawValue: $0) }.filter { unfixableByResend[$0] != nil }.sorted { $0.rawValue < $1.rawValue }
        guard !unfixable.isEmpty else { return "fix it and send it again." }
        let reasons = unfixable.map { "\($0.rawValue): \(unfixableByResend[$0]!)" }.joined(separator: "; ")
        if unfixable.count == codes.count {
            return "sending it again will not change that (\(reasons))."
        }
        return "fix the other errors and send those records again; records refused for "
            + unfixable.map(\.rawValue).joined(separator: ", ") + " cannot come through the exchange (\(reasons))."
    }
}
