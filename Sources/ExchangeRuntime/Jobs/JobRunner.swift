import ExchangeCore
import ExchangeRules
import Logging

/// A job that cannot run as asked (a waiver already decided, an unknown id): the message is for the
/// support person at the command line.
public struct JobError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    /// Creates one.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// Runs the exchange's jobs — nightly grade posting, the nightly unknown-attendance sync, waiver
/// decisions — each as a `JobRun` recorded in the ledger: claimed once per key, files prepared, run and
/// deliveries recorded (`writing`), files placed (`finished`). A run left unfinished by a crash is
/// finished by `resume`; a run whose key already has a run does nothing, so re-running a night never
/// writes a second file.
public struct JobRunner: Sendable {
    let tree: DropTree
    let ledger: any LedgerStore
    let reference: @Sendable () -> ReferenceData
    let now: @Sendable () -> Timestamp
    let newRunId: @Sendable () -> String
    /// Who holds the leases of the runs in hand.
    let owner: String
    /// The leases of the runs in hand.
    let leases: LeaseKeeper

    /// Creates a runner.
    /// - Parameters:
    ///   - newRunId: A fresh, unique job run id (injected for tests).
    ///   - owner: Who holds the leases of the runs in hand (the instance's name; a command adds its own).
    public init(
        tree: DropTree, ledger: any LedgerStore, reference: @escaping @Sendable () -> ReferenceData,
        now: @escaping @Sendable () -> Timestamp, newRunId: @escaping @Sendable () -> String, owner: String = "ktsx"
    ) {
        self.owner = owner
        leases = LeaseKeeper(ledger: ledger, owner: owner)
        self.tree = tree
        self.ledger = ledger
        self.reference = reference
        self.now = now
        self.newRunId = newRunId
    }

    private var writer: OutboundWriter { OutboundWriter(tree: tree, ledger: ledger, now: now) }

    // MARK: Grade posting

    /// Posts every grade accepted since the last posting: one file per high school. Returns nil when
    /// `runKey` already has a run.
    public func postGrades(runKey: String, logger: Logger) async throws -> JobRun? {
        let run = JobRun(id: newRunId(), job: .gradePosting, runKey: runKey, startedAt: now())
        guard try await claim(run) else { return nil }
        return try await finish(run, logger: logger)
    }

    private func gradePostingFiles(_ run: JobRun, logger: Logger) async throws -> [OutboundFile] {
        let reference = self.reference()
        let rows = GradePosting.rows(for: try await ledger.gradesClaimed(by: run.id), reference: reference)
        // GRD-13 sends grades only to a student's home high school; one that has left participants.csv
        // since gets nothing (and must not stop the posting of every other school).
        for school in rows.keys.sorted() where reference.participants[school] == nil {
            logger.warning(
                "grades for an organisation that is no longer a participant were not posted",
                metadata: ["exchange.school": "\(school)", "exchange.grades": "\(rows[school]!.count)", "exchange.run": "\(run.id)"])
        }
        var files: [OutboundFile] = []
        for school in rows.keys.sorted() where reference.participants[school] != nil {
            files.append(try await file(.gradePosting, for: school, rows: rows[school]!, run: run, reference: reference))
        }
        return files
    }

    // MARK: Unknown-attendance sync

    /// The unknown-attendance sync for one night: for each high school that opted in, the unknown absences
    /// of its previous instructional day (or of `day`, when given). Each (school, day) is sent once.
    /// - Returns: The runs made now (schools already sent for their day are skipped).
    public func syncUnknownAttendance(night: LocalDate, day: LocalDate? = nil, logger: Logger) async throws -> [JobRun] {
        let reference = self.reference()
        var runs: [JobRun] = []
        let schools = reference.participants.values.filter(\.unknownSync).map(\.orgId).sorted()
        for school in schools {
            guard let syncDay = day ?? reference.previousInstructionalDay(before: night, at: school) else { continue }
            let run = JobRun(id: newRunId(), job: .unknownSync, runKey: "\(school)|\(syncDay)", startedAt: now())
            guard try await claim(run) else {
                logger.info("unknown-attendance sync already sent", metadata: ["exchange.school": "\(school)", "exchange.day": "\(syncDay)"])
                continue
            }
            runs.append(try await finish(run, logger: logger))
        }
        return runs
    }

    private func unknownSyncFiles(_ run: JobRun) async throws -> [OutboundFile] {
        let parts = run.runKey.split(separator: "|").map(String.init)
        guard parts.count == 2 else { throw JobError("unknown-attendance run \(run.id) has a malformed key \(run.runKey)") }
        let rows = UnknownAttendanceSync.rows(from: try await ledger.attendance(recipientOrgId: parts[0], date: parts[1]))
        guard !rows.isEmpty else { return [] }
        return [try await file(.unknownAttendance, for: parts[0], rows: rows, run: run, reference: reference())]
    }

    // MARK: Daily summaries

    /// Each participant's summary of the day before `night` (the date of the morning the summaries are
    /// written, as nightly runs are named by the date their time falls on):
    /// what it sent and how each file ended, and what waits in its `outbound/`. A participant with
    /// nothing to report gets no file; each (participant, day) is sent once.
    /// - Parameter onlyWithReceipts: Only participants that sent files that day get a summary, and it lists
    ///   only those files (for nights caught up after downtime: what waits is in the latest one).
    /// - Returns: The runs made now.
    public func sendDailySummaries(night: LocalDate, onlyWithReceipts: Bool = false, logger: Logger) async throws -> [JobRun] {
        let reference = self.reference()
        let day = night.adding(days: -1)
        let span = reference.policy.timeZone.span(of: day)
        let received = Dictionary(
            grouping: try await ledger.receipts(matching: ReceiptQuery(claimedFrom: span.lowerBound, claimedBefore: span.upperBound)),
            by: \.senderOrgId)
        let waiting = Dictionary(grouping: try await ledger.pendingDeliveries(), by: \.recipientOrgId)
        var runs: [JobRun] = []
        for participant in reference.participants.values.sorted(by: { $0.orgId < $1.orgId }) {
            let rows = DailySummary.rows(
                orgId: participant.orgId, day: day, received: (received[participant.orgId] ?? []).reversed(),
                waiting: onlyWithReceipts ? [] : waiting[participant.orgId] ?? [], now: now())
            guard !rows.isEmpty else { continue }
            let run = JobRun(
                id: newRunId(), job: .dailySummary, runKey: "\(participant.orgId)|\(day)", startedAt: now(),
                detail: onlyWithReceipts ? DailySummary.receivedOnly : "")
            guard try await claim(run) else { continue }
            runs.append(try await finish(run, logger: logger))
        }
        return runs
    }

    private func dailySummaryFiles(_ run: JobRun) async throws -> [OutboundFile] {
        let parts = run.runKey.split(separator: "|").map(String.init)
        guard parts.count == 2, let day = LocalDate(parts[1]) else { throw JobError("daily summary run \(run.id) has a malformed key \(run.runKey)") }
        let reference = self.reference()
        let span = reference.policy.timeZone.span(of: day)
        let received = try await ledger.receipts(matching: ReceiptQuery(senders: [parts[0]], claimedFrom: span.lowerBound, claimedBefore: span.upperBound))
        let waiting = run.detail == DailySummary.receivedOnly ? [] : try await ledger.pendingDeliveries().filter { $0.recipientOrgId == parts[0] }
        // The ledger lists receipts newest first and deliveries oldest first.
        let rows = DailySummary.rows(orgId: parts[0], day: day, received: received.reversed(), waiting: waiting, now: run.startedAt)
        guard !rows.isEmpty else { return [] }
        return [try await file(.dailySummary, for: parts[0], rows: rows, run: run, reference: reference)]
    }

    /// Records that the scheduled work of `night` is done for `job` (so catch-up after downtime knows
    /// where to start).
    func markNight(_ job: JobKind, _ night: LocalDate) async throws {
        // Recorded finished in one step: a marker has nothing to write, so nothing to finish after a crash.
        var marker = JobRun(id: newRunId(), job: job, runKey: NightlySchedule.nightKey(night), startedAt: now())
        marker.state = .finished
        marker.finishedAt = marker.startedAt
        _ = try await ledger.claimJobRun(marker)
    }

    // MARK: Waiver decisions

    /// Records support's decision on a pending waiver request and sends the decision file to the center.
    public func decideWaiver(id: String, approve: Bool, reason: String, logger: Logger) async throws -> (JobRun, WaiverRequest) {
        guard let request = try await ledger.allWaivers().first(where: { $0.id.lowercased() == id.lowercased() }) else {
            throw JobError("there is no waiver request \(id); `ktsx waivers` lists them")
        }
        guard request.status == .pending else {
            throw JobError("waiver request \(request.id) is already \(request.status.rawValue); a decision is made once")
        }
        let trimmed = reason.trimmingWhitespace()
        guard !trimmed.isEmpty, trimmed.count <= 2000 else {
            throw JobError("give a reason of 1 to 2000 characters with --reason: the center reads it")
        }
        let run = JobRun(
            id: newRunId(), job: .waiverDecision, runKey: request.id, startedAt: now(),
            detail: (approve ? "APPROVED" : "DENIED") + "\n" + trimmed)
        guard try await claim(run) else {
            throw JobError("waiver request \(request.id) was decided by another ktsx at the same time")
        }
        let finished = try await finish(run, logger: logger)
        let decided = try await ledger.allWaivers().first { $0.id == request.id } ?? request
        return (finished, decided)
    }

    private func decision(of run: JobRun) async throws -> WaiverRequest {
        guard var request = try await ledger.allWaivers().first(where: { $0.id == run.runKey }) else {
            throw JobError("waiver decision run \(run.id) names an unknown request \(run.runKey)")
        }
        let lines = run.detail.split(separator: "\n", maxSplits: 1).map(String.init)
        request.status = lines.first == "APPROVED" ? .approved : .denied
        request.decisionReason = lines.count > 1 ? lines[1] : ""
        request.decidedAt = run.startedAt
        return request
    }

    private func decisionFiles(_ run: JobRun, decided request: WaiverRequest) async throws -> [OutboundFile] {
        let row: [String: String] = [
            "waiverId": request.id, "centerOrgId": request.centerOrgId, "waiverSchoolYear": "\(request.schoolYear)",
            "decision": request.status == .approved ? "APPROVED" : "DENIED", "reason": request.decisionReason ?? "",
            "decidedDateTime": (request.decidedAt ?? run.startedAt).iso8601, "requestReceiptId": request.receiptId,
        ]
        return [try await file(.waiverDecision, for: request.centerOrgId, rows: [row], run: run, reference: reference())]
    }

    // MARK: Steps shared by every job

    private func file(_ type: ExchangeType, for recipient: String, rows: [[String: String]], run: JobRun, reference: ReferenceData)
        async throws -> OutboundFile
    {
        let binding = RecordFiles.binding(for: reference.participants[recipient])
        let tag = String(run.id.split(separator: "-").last ?? "")
        let preferred = RecordFiles.name(type, orgId: recipient, time: run.startedAt, tag: tag, binding: binding)
        let name = try await writer.freeName(preferred, fallback: "\(run.id).\(type.code).\(binding.fileExtension)", recipient: recipient)
        // Postings and syncs name the received record each row carries.
        let carried = rows.compactMap { row in
            row["receiptId"].flatMap { receipt in row["recordId"].map { RecordReference(receiptId: receipt, recordId: $0) } }
        }
        return OutboundFile(
            recipientOrgId: recipient, name: name, bytes: RecordFiles.render(type, rows: rows, binding: binding), records: rows.count,
            carried: type == .gradePosting || type == .unknownAttendance ? carried : [])
    }

    /// Takes a claimed run to `finished`: prepare its files, record them, place them.
    private func finish(_ claimed: JobRun, logger: Logger) async throws -> JobRun {
        CrashPoint.jobClaimed.reach()
        try await holdLease(claimed)
        var run = claimed
        var decided: WaiverRequest?
        let files: [OutboundFile]
        switch run.job {
        case .gradePosting:
            files = try await gradePostingFiles(run, logger: logger)
        case .unknownSync:
            files = try await unknownSyncFiles(run)
        case .waiverDecision:
            let request = try await decision(of: run)
            decided = request
            files = try await decisionFiles(run, decided: request)
        case .dailySummary:
            files = try await dailySummaryFiles(run)
        }
        try await writer.prepare(files, sourceId: run.id)
        CrashPoint.jobPrepared.reach()
        run.state = .writing
        run.files = files.count
        run.records = files.reduce(0) { $0 + $1.records }
        try await holdLease(run)
        try await ledger.updateJobRun(run, recordingDeliveries: writer.deliveries(of: files, sourceId: run.id, at: now()), decision: decided)
        CrashPoint.jobCommitted.reach()
        return try await place(run, logger: logger)
    }

    private func place(_ writing: JobRun, logger: Logger) async throws -> JobRun {
        try await holdLease(writing)
        var run = writing
        try await writer.placeAll(sourceId: run.id)
        run.state = .finished
        run.finishedAt = now()
        try await ledger.updateJobRun(run, recordingDeliveries: [], decision: nil)
        ExchangeMetrics.jobRunFinished(run)
        logger.info(
            "job run finished",
            metadata: ["exchange.job": "\(run.job.rawValue)", "exchange.run": "\(run.id)", "exchange.files": "\(run.files)"])
        return run
    }

    /// Records a new run leased to us (false when its key has a run already).
    private func claim(_ run: JobRun) async throws -> Bool {
        guard try await ledger.claimJobRun(run, leasedTo: owner) else { return false }
        leases.noteGranted(run.id)
        return true
    }

    /// Renews the run's lease, or throws if another owner took it over (this process stalled past it).
    private func holdLease(_ run: JobRun) async throws {
        guard try await leases.holdJobRun(run.id) else { throw LeaseLost(what: "job run \(run.id)") }
    }

    /// Finishes a run a crash left `claimed` or `writing`.
    public func resume(_ run: JobRun, logger: Logger) async throws {
        switch run.state {
        case .claimed: _ = try await finish(run, logger: logger)
        case .writing: _ = try await place(run, logger: logger)
        case .finished: break
        }
    }

    /// Finishes every unfinished run started at least `minimumAge` ago (after a restart: all of them; while
    /// running: those a failure left behind, not one another process may be writing right now).
    public func recover(logger: Logger, minimumAge: Int64 = 0) async -> Int {
        var recovered = 0
        let time = now()
        do {
            for run in try await ledger.unfinishedJobRuns() where time.secondsSinceEpoch - run.startedAt.secondsSinceEpoch >= minimumAge {
                // Another instance's run in hand is left to it while its lease lasts; once ours, it is read
                // again (its holder may have moved it on since the list was read).
                guard try await ledger.lease(jobRunId: run.id, to: owner), let current = try await ledger.jobRun(run.job, runKey: run.runKey),
                    current.state != .finished
                else { continue }
                do {
                    try await resume(current, logger: logger)
                    recovered += 1
                } catch {
                    logger.error("could not finish a job run after a restart", metadata: ["exchange.run": "\(run.id)", "exchange.error": "\(error)"])
                }
            }
        } catch {
            logger.error("could not list unfinished job runs", metadata: ["exchange.error": "\(error)"])
        }
        return recovered
    }

    // MARK: Scheduling

    /// How old an unfinished run must be before a running process finishes it (so that a command never
    /// takes over a run the service is writing at that moment).
    public static let retryAfterSeconds: Int64 = 300

    /// Whole milliseconds since `start`.
    static func milliseconds(since start: ContinuousClock.Instant) -> Int64 {
        let elapsed = (ContinuousClock.now - start).components
        return elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000
    }

    /// Runs every night of every nightly job that is due at `now` (catching up missed nights), and
    /// returns the runs made; each job's night is logged with how long it took.
    public func runDueJobs(logger: Logger) async -> [JobRun] {
        // A run that failed (a full disk, a missing folder) keeps its key: finish it before anything new.
        _ = await recover(logger: logger, minimumAge: JobRunner.retryAfterSeconds)
        let time = now()
        let schedule = NightlySchedule(policy: reference().policy)
        var runs: [JobRun] = []
        for job in [JobKind.unknownSync, .dailySummary, .gradePosting] {
            do {
                let lastNight = try await ledger.latestRunKey(job, prefix: NightlySchedule.nightKeyPrefix).flatMap(NightlySchedule.night(ofKey:))
                let nights = schedule.dueNights(of: job, now: time, lastNight: lastNight)
                for night in nights {
                    let began = ContinuousClock.now
                    let runsBefore = runs.count
                    switch job {
                    case .gradePosting:
                        if let run = try await postGrades(runKey: NightlySchedule.nightKey(night), logger: logger) { runs.append(run) }
                    case .dailySummary:
                        runs += try await sendDailySummaries(night: night, onlyWithReceipts: night != nights.last, logger: logger)
                        try await markNight(job, night)
                    case .unknownSync:
                        runs += try await syncUnknownAttendance(night: night, logger: logger)
                        try await markNight(job, night)
                    case .waiverDecision:
                        break  // made when support decides, never by the night
                    }
                    // How long each night's job took: what an operator (and the year's benchmark) watches grow.
                    logger.notice(
                        "nightly job done",
                        metadata: [
                            "exchange.job": "\(job.rawValue)", "exchange.night": "\(night)", "exchange.runs": "\(runs.count - runsBefore)",
                            "exchange.milliseconds": "\(JobRunner.milliseconds(since: began))",
                        ])
                }
            } catch {
                logger.error("a nightly job failed; it is retried", metadata: ["exchange.job": "\(job.rawValue)", "exchange.error": "\(error)"])
            }
        }
        return runs
    }
}
