import ExchangeCore
import Logging
import Synchronization

/// The second lane: one file of at least `ServiceSettings.largeFileBytes` at a time is judged beside the
/// passes, so that small files arriving meanwhile keep their latency (a 1 GB file takes many seconds to
/// hash and read).
///
/// Its sender is leased to the lane, under an owner of its own, for as long as the file is judged: the
/// passes (of this instance and of others) leave that sender's later files until it is done, so each
/// sender's files are still judged in the order they came.
final class LargeFileLane: Sendable {
    /// The file in the lane.
    struct InHand: Sendable, Equatable {
        let sender: String
        let name: String
    }

    /// A file the lane finished with, for the next pass to count.
    struct Finished: Sendable {
        let participant: Participant
        let result: ExchangeCycle.FileResult
    }

    private struct State {
        var inHand: InHand?
        var task: Task<Void, Never>?
        var finished: [Finished] = []
    }

    private let state = Mutex(State())
    /// The lane's name in sender leases: the instance's, with a suffix, so that the instance's own passes
    /// do not take (or release) the sender while the lane has it.
    let owner: String

    /// A lane for the instance `owner`.
    init(owner: String) {
        self.owner = owner + "/large-files"
    }

    /// The file being judged, if any.
    var inHand: InHand? { state.withLock { $0.inHand } }

    /// The files finished since the last call.
    func takeFinished() -> [Finished] {
        state.withLock { state in
            defer { state.finished = [] }
            return state.finished
        }
    }

    /// Starts judging `name` from `participant`'s `inbound/`, unless a file is in the lane already.
    /// - Parameter renewEvery: How often the sender's lease is renewed while the file is judged.
    /// - Returns: Whether the file was taken.
    func start(
        _ name: String, from participant: Participant, processor: FileProcessor, renewEvery: Duration, logger: Logger
    ) -> Bool {
        state.withLock { state in
            guard state.inHand == nil else { return false }
            state.inHand = InHand(sender: participant.orgId, name: name)
            state.task = Task {
                let result = await self.judge(name, from: participant, processor: processor, renewEvery: renewEvery, logger: logger)
                self.state.withLock { state in
                    state.inHand = nil
                    state.task = nil
                    if let result { state.finished.append(Finished(participant: participant, result: result)) }
                }
            }
            return true
        }
    }

    /// Waits for the file in the lane, if any (a graceful shutdown finishes it, as a pass finishes its
    /// files).
    func finish() async {
        await state.withLock { $0.task }?.value
    }

    /// Leases the sender, judges the file, releases the sender. Nil when another instance has the sender.
    private func judge(
        _ name: String, from participant: Participant, processor: FileProcessor, renewEvery: Duration, logger: Logger
    ) async -> ExchangeCycle.FileResult? {
        let (ledger, sender, owner) = (processor.ledger, participant.orgId, owner)
        do {
            guard try await ledger.lease(senders: [sender], to: owner).contains(sender) else { return nil }
        } catch {
            return .failed(name: name, error: "\(error)")
        }
        let renewal = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: renewEvery)
                if Task.isCancelled { break }
                _ = try? await ledger.lease(senders: [sender], to: owner)
            }
        }
        let result = await ExchangeCycle.FileResult.of(name, from: participant, processor: processor, logger: logger)
        renewal.cancel()
        do {
            try await ledger.release(senders: [sender], by: owner)
        } catch {
            logger.warning("could not release the sender of a large file; it is free again when its lease runs out", metadata: ["exchange.error": "\(error)"])
        }
        return result
    }
}
