import ExchangeCore
import Synchronization

/// Makes receipt ids that this process never makes twice: `R<sender>-<time>-<suffix>` with a random suffix
/// of six hex digits, drawn again when the same sender already has that id in the same second. A flood of
/// one sender's files (thousands in a minute, several in each second) would otherwise meet a repeated id
/// now and then: its claim is refused by the ledger and the file is left claimed under another's id. (A
/// sender's files are taken by one instance at a time, under its lease, so one process is all that
/// makes a sender's ids at once.)
public final class ReceiptIds: Sendable {
    private let now: @Sendable () -> Timestamp
    private let randomSuffix: @Sendable () -> String
    /// The second of the ids issued last, and the ids issued in it.
    private let issued = Mutex<(second: Int64, ids: Set<String>)>((0, []))

    /// - Parameters:
    ///   - now: The wall clock.
    ///   - randomSuffix: A random suffix (six hex digits).
    public init(now: @escaping @Sendable () -> Timestamp, randomSuffix: @escaping @Sendable () -> String) {
        self.now = now
        self.randomSuffix = randomSuffix
    }

    /// A fresh receipt id for a file of `sender`.
    public func next(for sender: String) -> String {
        let time = now()
        return issued.withLock { issued in
            if issued.second != time.secondsSinceEpoch { issued = (time.secondsSinceEpoch, []) }
            while true {
                let id = FileProcessor.receiptId(sender: sender, time: time, suffix: randomSuffix())
                if issued.ids.insert(id).inserted { return id }
            }
        }
    }
}
