/// A support action that cannot be done, with a stable code and a message for the support person.
public struct SupportError: Error, Sendable, CustomStringConvertible {
    /// Stable classification.
    public enum Code: String, Sendable {
        /// No receipt with that id.
        case unknownReceipt = "support-unknown-receipt"
        /// The receipt is still being processed.
        case notFinished = "support-not-finished"
        /// The receipt's records were all applied (or it was a duplicate): nothing to judge again.
        case nothingToReprocess = "support-nothing-to-reprocess"
        /// The original is no longer kept (past retention) or was never a regular file.
        case originalGone = "support-original-gone"
        /// The receipt was judged again already, and that judgement accepted records.
        case alreadyReprocessed = "support-already-reprocessed"
        /// The sender is no longer a participant.
        case unknownParticipant = "support-unknown-participant"
        /// A search filter that is not understood.
        case badFilter = "support-bad-filter"
        /// No waiver request with that id.
        case unknownWaiver = "support-unknown-waiver"
        /// No file of that name waits in the participant's `outbound/`.
        case unknownOutboundFile = "support-unknown-outbound-file"
        /// The file is too large to hand over on a page.
        case tooLargeForPage = "support-too-large-for-page"
    }

    /// The classification.
    public var code: Code
    /// What is wrong and what to do instead.
    public var message: String

    /// Creates one.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
