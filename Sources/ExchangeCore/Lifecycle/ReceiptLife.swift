/// A dropped file's life from its claim to its acknowledgement, as a state machine: each event (a step
/// done, or what a restart found) moves it on and returns the one action to take next. It does no IO;
/// `FileProcessor` is the executor that takes the actions on the disk and the ledger and reports back.
///
/// The order of the steps is what makes a crash harmless at any point: the outputs are written hidden
/// before the judgement is committed, and placed only after, so that a restart finds either nothing
/// visible and judges the file again (the same bytes give the same judgement), or a committed judgement
/// whose outputs it places. Every state a crash can leave behind is one `resuming` or `adopting` starts
/// from.
public struct ReceiptLife: Sendable, Equatable {
    /// Where the file is.
    public enum State: Sendable, Equatable {
        /// Ready in the sender's `inbound/`; not yet claimed.
        case ready
        /// Renamed into the work area; no receipt recorded yet.
        case claimed
        /// Its receipt is recorded (`claimed`, leased to us): being judged.
        case recorded
        /// Judged: the outcome, the findings and the outputs (acknowledgement, error file, routed files)
        /// are decided, in memory only.
        case judged
        /// The outputs are written as hidden temporaries in their recipients' `outbound/`.
        case prepared
        /// The judgement, the outputs' deliveries and the accepted records are committed (`writing`):
        /// from here on the file's fate is decided, and only placing is left.
        case committed
        /// Every output is in place.
        case placed
        /// The original is in the archive or the quarantine.
        case filed
        /// Recorded `finished`.
        case finished
        /// Left to someone else or to a later look, for `reason`; nothing more is done now.
        case left(Reason)
    }

    /// Why a file's life stopped short of `finished` for now.
    public enum Reason: Sendable, Equatable {
        /// The file was gone when it was to be claimed (another instance took it, or its sender removed it).
        case goneBeforeClaim
        /// Another instance recorded the same claimed file first; it finishes it.
        case recordedByAnother
        /// The ledger refused the judgement (the lease was lost, or the receipt changed under us): it was
        /// certainly not recorded, so the hidden outputs are removed, and the file is judged afresh later.
        case commitRefused
        /// Committing failed in a way that leaves it unknown whether it happened (a lost connection): the
        /// hidden outputs stay, and a later look finishes the receipt from whatever the ledger holds.
        case commitUncertain
    }

    /// What to do next.
    public enum Action: Sendable, Equatable {
        /// Rename the file from `inbound/` into the work area.
        case claim
        /// Hash the claimed file and record its receipt, leased to us.
        case recordClaim
        /// Copy the kept original into the work area again (a file judged again at support's request,
        /// whose copy a crash interrupted), then judge it.
        case copyOriginalIntoWork
        /// Read and judge the file; decide its outcome and outputs.
        case judge
        /// Write the outputs as hidden temporaries.
        case prepareOutputs
        /// Commit the judgement, the deliveries and the accepted records in one transaction.
        case commitJudgement
        /// Remove the hidden temporaries of a judgement that was refused.
        case discardOutputs
        /// Place every recorded output (a link that never replaces).
        case placeOutputs
        /// Move the original into the archive (accepted) or the quarantine (rejected).
        case fileOriginal
        /// The original was filed before a crash: remove its empty work folder.
        case removeWorkFolder
        /// Record the receipt `finished`.
        case recordFinished
        /// Nothing more: the file is acknowledged.
        case done
        /// Nothing more now, for this reason.
        case stop(Reason)
    }

    /// Where the file is now.
    public private(set) var state: State

    private init(_ state: State) {
        self.state = state
    }

    // MARK: Starting

    /// A ready file's life, from its claim.
    public static func claiming() -> (ReceiptLife, Action) {
        (ReceiptLife(.ready), .claim)
    }

    /// The life of a claimed file found in the work area with no receipt (a crash between claim and record).
    public static func adopting() -> (ReceiptLife, Action) {
        (ReceiptLife(.claimed), .recordClaim)
    }

    /// The life of a receipt found unfinished in the ledger after a restart (or a failure).
    /// - Parameters:
    ///   - stored: The state the ledger holds.
    ///   - originalInWork: Whether the claimed file is still in the work area.
    ///   - isReprocess: Whether the receipt judges a kept original again at support's request (its claimed
    ///     file is a copy, which a crash may have interrupted).
    public static func resuming(_ stored: ReceiptState, originalInWork: Bool, isReprocess: Bool) -> (ReceiptLife, Action) {
        switch stored {
        case .finished:
            return (ReceiptLife(.finished), .done)
        case .claimed:
            // Judged again: the same bytes give the same judgement.
            return (ReceiptLife(.recorded), isReprocess && !originalInWork ? .copyOriginalIntoWork : .judge)
        case .writing:
            // Committed: place what was recorded (outputs placed and taken already are recognised as such).
            return (ReceiptLife(.committed), .placeOutputs)
        }
    }

    // MARK: Events

    /// The claim's rename happened (`found`), or the file was gone.
    public mutating func claimed(found: Bool) -> Action {
        expect(.ready)
        guard found else { return stop(.goneBeforeClaim) }
        state = .claimed
        return .recordClaim
    }

    /// The receipt was recorded, or (`byAnother`) another instance had recorded the same claim first.
    public mutating func claimRecorded(byAnother: Bool = false) -> Action {
        expect(.claimed)
        guard !byAnother else { return stop(.recordedByAnother) }
        state = .recorded
        return .judge
    }

    /// The kept original was copied into the work area again.
    public mutating func originalCopied() -> Action {
        expect(.recorded)
        return .judge
    }

    /// The file was judged and its outputs decided.
    public mutating func judged() -> Action {
        expect(.recorded)
        state = .judged
        return .prepareOutputs
    }

    /// The outputs are written as hidden temporaries.
    public mutating func prepared() -> Action {
        expect(.judged)
        state = .prepared
        return .commitJudgement
    }

    /// The judgement was committed.
    public mutating func committed() -> Action {
        expect(.prepared)
        state = .committed
        return .placeOutputs
    }

    /// Committing failed: `refused` when the ledger certainly did not record it (a lost lease, a receipt
    /// changed under us), otherwise it may have been recorded.
    public mutating func commitFailed(refused: Bool) -> Action {
        expect(.prepared)
        guard refused else { return stop(.commitUncertain) }
        return .discardOutputs
    }

    /// The refused judgement's hidden outputs are removed.
    public mutating func outputsDiscarded() -> Action {
        expect(.prepared)
        return stop(.commitRefused)
    }

    /// Every output is in place; `originalInWork` says whether the original still waits to be filed.
    public mutating func placed(originalInWork: Bool) -> Action {
        expect(.committed)
        state = .placed
        return originalInWork ? .fileOriginal : .removeWorkFolder
    }

    /// The original was filed (or its empty work folder removed).
    public mutating func filed() -> Action {
        expect(.placed)
        state = .filed
        return .recordFinished
    }

    /// The receipt is recorded `finished`.
    public mutating func finished() -> Action {
        expect(.filed)
        state = .finished
        return .done
    }

    private mutating func stop(_ reason: Reason) -> Action {
        state = .left(reason)
        return .stop(reason)
    }

    /// An event out of order is a defect of the executor, never of the input.
    private func expect(_ expected: State, caller: StaticString = #function) {
        precondition(state == expected, "ReceiptLife.\(caller) in state \(state)")
    }
}
