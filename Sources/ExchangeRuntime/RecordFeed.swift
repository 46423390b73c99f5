import Dispatch
import ExchangeCore
import Synchronization

/// Hands a file's records from validation, which reads on a thread of `BlockingWork`, to the judgement,
/// which awaits the ledger: a batch at a time, with at most `depth` events waiting, so a large file's
/// records are never all in memory and reading runs ahead of judging by one batch or two.
///
/// The reading side calls `add`, `send`, `flush` and `finish` (and blocks while the feed is full: it is
/// on a thread of its own, never on the cooperative pool); the judging side iterates `events`, calls
/// `taken()` after each, and `stop()` to make reading stop early. The judging side must take every event
/// until the end, even after it stopped, so that the reading side never waits forever.
final class RecordFeed: Sendable {
    /// What reading hands over.
    enum Event: Sendable {
        /// The next records, in file order.
        case records([RecordFacts])
        /// Reading has reached this many bytes (a long file).
        case progress(read: Int64)
    }

    /// The events, in the order sent; ends when reading finishes.
    let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    private let room: DispatchSemaphore
    private let stopped = Atomic<Bool>(false)
    private let pending: Mutex<[RecordFacts]> = Mutex([])
    /// Records per batch.
    let batchSize: Int

    /// A feed of `batchSize` records per batch, with at most `depth` events waiting to be judged.
    init(batchSize: Int, depth: Int = 2) {
        self.batchSize = max(1, batchSize)
        room = DispatchSemaphore(value: max(1, depth))
        (events, continuation) = AsyncStream.makeStream(of: Event.self)
    }

    /// Whether the judging side asked reading to stop.
    var isStopped: Bool { stopped.load(ordering: .relaxed) }

    // MARK: Reading side

    /// Adds a record to the batch being gathered; a full batch is sent.
    func add(_ record: RecordFacts) {
        let full: [RecordFacts]? = pending.withLock { batch in
            batch.append(record)
            guard batch.count >= batchSize else { return nil }
            defer { batch.removeAll(keepingCapacity: true) }
            return batch
        }
        if let full { send(.records(full)) }
    }

    /// Sends the records gathered so far, if any.
    func flush() {
        let rest: [RecordFacts] = pending.withLock { batch in
            defer { batch = [] }
            return batch
        }
        if !rest.isEmpty { send(.records(rest)) }
    }

    /// Sends an event, waiting while `depth` events wait already; dropped once the judging side stopped.
    func send(_ event: Event) {
        room.wait()
        guard !isStopped else {
            room.signal()
            return
        }
        continuation.yield(event)
    }

    /// Ends the events: reading is over.
    func finish() {
        continuation.finish()
    }

    // MARK: Judging side

    /// Notes an event taken (room for one more).
    func taken() {
        room.signal()
    }

    /// Asks reading to stop; the events already sent still come and must be taken.
    func stop() {
        stopped.store(true, ordering: .relaxed)
    }
}
