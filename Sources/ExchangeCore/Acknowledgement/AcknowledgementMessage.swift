/// The acknowledgement's `message` (pure): what was applied and what to do next, by cause (issue 18).
/// A partly accepted file names the records not applied and says to send only those; a file refused at
/// the gate says its records were not checked against the rules yet; "send it again" only where a resend
/// can help (`ResendAdvice`).
public struct AcknowledgementMessage: Sendable, Equatable {
    /// The file's outcome.
    public var outcome: FileOutcome
    /// Errors in all (the error file lists them).
    public var errorCount: Int
    /// Records the file held, and those not applied.
    public var recordsReceived: Int
    public var recordsRejected: Int
    /// The lines the records not applied start on (a partly accepted file), in file order.
    public var rejectedLines: [Int]
    /// Each record refused under the rules (the first ones kept).
    public var refusedRecords: [RefusedRecord]
    /// Records accepted as identical to the version on file (sent again): nothing changed for them.
    public var alreadyOnFile: Int
    /// Whether the file's records were judged under the rules (false: the file was refused as a whole
    /// before, for its form, its encoding or its schema).
    public var rulesChecked: Bool
    /// The first receipt of the same bytes (a duplicate).
    public var duplicateOf: EarlierReceipt?
    /// The earlier receipt judged again at support's request.
    public var reprocessOf: String?

    /// The receipt a duplicate repeats: what the sender needs to know of it.
    public struct EarlierReceipt: Sendable, Equatable {
        /// Its receipt id, its day of receipt (`YYYY-MM-DD`), its outcome and its records not applied.
        public var id: String
        public var received: String
        public var outcome: FileOutcome
        public var recordsNotApplied: Int

        /// Creates one.
        public init(id: String, received: String, outcome: FileOutcome, recordsNotApplied: Int) {
            self.id = id
            self.received = received
            self.outcome = outcome
            self.recordsNotApplied = recordsNotApplied
        }
    }

    /// Lines named in the message before "and N more".
    public static let linesNamed = 10

    /// Creates the facts a message is made from.
    public init(
        outcome: FileOutcome, errorCount: Int, recordsReceived: Int, recordsRejected: Int, rejectedLines: [Int] = [],
        refusedRecords: [RefusedRecord] = [], alreadyOnFile: Int = 0, rulesChecked: Bool, duplicateOf: EarlierReceipt? = nil,
        reprocessOf: String? = nil
    ) {
        self.outcome = outcome
        self.errorCount = errorCount
        self.recordsReceived = recordsReceived
        self.recordsRejected = recordsRejected
        self.rejectedLines = rejectedLines
        self.refusedRecords = refusedRecords
        self.alreadyOnFile = alreadyOnFile
        self.rulesChecked = rulesChecked
        self.duplicateOf = duplicateOf
        self.reprocessOf = reprocessOf
    }

    /// The message.
    public var text: String {
        guard let earlier = reprocessOf else { return verdict }
        return "Judged again at support's request (earlier receipt \(earlier)). " + verdict
    }

    private var verdict: String {
        let errors = "\(errorCount) error\(errorCount == 1 ? "" : "s")"
        switch outcome {
        case .accepted:
            return "Accepted: \(Self.records(recordsReceived)).\(onFile)"
        case .acceptedWithErrors:
            let applied = recordsReceived - recordsRejected
            let notApplied = "\(recordsRejected) not applied\(Self.naming(lines: rejectedLines))"
            return "\(applied) of \(Self.records(recordsReceived)) applied; \(notApplied), with \(errors) listed in the error file.\(onFile) "
                + ResendAdvice.advice(records: refusedRecords, othersApplied: true)
        case .rejected where !rulesChecked:
            return "Rejected: the file has \(errors) (see the error file), so nothing in it was applied and its records were not "
                + "yet checked against the exchange's rules. Fix it and send the whole file again."
        case .rejected:
            let none = recordsReceived == 1 ? "its one record was not applied" : "none of its \(recordsReceived) records was applied"
            return "Rejected: \(none) (\(errors), see the error file). " + ResendAdvice.advice(records: refusedRecords, othersApplied: false)
        case .duplicate:
            guard let earlier = duplicateOf else { return "These bytes were already received from you; nothing was applied again." }
            let first = "These bytes were already received from you on \(earlier.received) as receipt \(earlier.id) "
                + "(\(earlier.outcome.rawValue)); nothing was applied again."
            guard earlier.outcome == .acceptedWithErrors, earlier.recordsNotApplied > 0 else {
                return first + " There is no need to send them again."
            }
            let them = earlier.recordsNotApplied == 1 ? "it" : "them"
            return first + " It changes nothing for the \(Self.records(earlier.recordsNotApplied)) not applied then: if you have not "
                + "sent \(them) again yet, fix \(them) (the error file of \(earlier.id) names \(them)) and send only \(them), in a new file."
        }
    }

    /// What the records sent again came to, if any were.
    private var onFile: String {
        let applied = recordsReceived - recordsRejected
        switch alreadyOnFile {
        case 0: return ""
        case applied where applied > 1: return " All \(applied) applied were on file already, exactly as sent before: nothing changed."
        case 1: return " 1 record applied was on file already, exactly as sent before: nothing changed for it."
        default: return " \(alreadyOnFile) records applied were on file already, exactly as sent before: nothing changed for those."
        }
    }

    private static func records(_ count: Int) -> String { "\(count) record\(count == 1 ? "" : "s")" }

    /// " (lines 4, 6)", the first `linesNamed` of them and "and N more"; empty for no lines.
    public static func naming(lines: [Int]) -> String {
        guard !lines.isEmpty else { return "" }
        let shown = lines.prefix(linesNamed).map(String.init).joined(separator: ", ")
        let more = lines.count > linesNamed ? " and \(lines.count - linesNamed) more" : ""
        return " (line\(lines.count == 1 ? "" : "s") \(shown)\(more))"
    }
}
