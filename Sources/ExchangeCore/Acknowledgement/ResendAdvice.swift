/// What an acknowledgement tells the sender of a file in which no record was accepted (DESIGN section 4:
/// the advice follows the codes). Most refusals are fixed by correcting the file and sending it again;
/// some no resend can fix, and the acknowledgement says so instead.
public enum ResendAdvice {
    /// Rule codes that no corrected resend through the exchange can fix, with what to do instead.
    public static let unfixableByResend: [String: String] = [
        "WVR-01": "only a district-operated CTC (class A2) may ask for a waiver; a state-operated ATC (C2) may not",
        "ATT-12": "the center's waiver for the school year was approved: send attendance by the waiver's alternate process",
        "GRD-12": "the center's waiver for the school year was approved: send grades by the waiver's alternate process",
    ]

    /// The advice after "Nothing in the file was applied" for a rejected file whose errors carry `codes`.
    public static func forRejection(codes: Set<String>) -> String {
        let unfixable = codes.filter { unfixableByResend[$0] != nil }.sorted()
        guard !unfixable.isEmpty else { return "fix it and send it again." }
        let reasons = unfixable.map { "\($0): \(unfixableByResend[$0]!)" }.joined(separator: "; ")
        if unfixable.count == codes.count {
            return "sending it again will not change that (\(reasons))."
        }
        return "fix the other errors and send those records again; records refused for "
            + unfixable.joined(separator: ", ") + " cannot come through the exchange (\(reasons))."
    }
}
