import ExchangeCore
import ExchangeRules

#if canImport(Glibc)
import Glibc
#endif

/// What support asks of the exchange — "did you get my file?", "why was it rejected?", "who has not
/// picked up?", "who went quiet?" — answered from the ledger and the drop tree. Shared by the review
/// commands and the review web page; reads only (judging a file again is `FileProcessor.reprocess`).
public struct SupportDesk: Sendable {
    let tree: DropTree
    let ledger: any LedgerStore
    let reference: @Sendable () -> ReferenceData
    let now: @Sendable () -> Timestamp

    /// Creates a desk over a drop tree and its ledger.
    public init(
        tree: DropTree, ledger: any LedgerStore, reference: @escaping @Sendable () -> ReferenceData, now: @escaping @Sendable () -> Timestamp
    ) {
        self.tree = tree
        self.ledger = ledger
        self.reference = reference
        self.now = now
    }

    /// The reference data in force.
    public var referenceData: ReferenceData { reference() }

    // MARK: Status

    /// The exchange at a glance: whether the service is running, what waits, each participant's last file.
    public func status() async throws -> StatusReport {
        let reference = reference()
        let latest = Dictionary(
            uniqueKeysWithValues: try await ledger.latestReceiptPerSender(matching: ReceiptQuery(sentOnly: true)).map { ($0.senderOrgId, $0) })
        let waiting = await waitingInInbound(reference)
        let participants = reference.participants.values.sorted(by: { $0.orgId < $1.orgId }).map { participant in
            StatusReport.ParticipantLine(
                participant: participant, lastReceipt: latest[participant.orgId], waitingInInbound: waiting[participant.orgId] ?? 0)
        }
        var lastRuns: [JobRun] = []
        for job in JobKind.allCases {
            if let last = try await ledger.latestJobRun(job) { lastRuns.append(last) }
        }
        return StatusReport(
            backlog: try await backlog(reference, waitingInInbound: waiting.values.reduce(0, +)), participants: participants, lastJobRuns: lastRuns)
    }

    /// What waits and whether the service runs: the counts `/healthz` and `/metrics` show (cheaper than
    /// `status()`: no job history, no per-participant files).
    public func backlog() async throws -> Backlog {
        let reference = reference()
        return try await backlog(reference, waitingInInbound: await waitingInInbound(reference).values.reduce(0, +))
    }

    private func backlog(_ reference: ReferenceData, waitingInInbound: Int) async throws -> Backlog {
        let time = now()
        // Overdue: waited the pickup threshold or longer (`Delivery.hasWaited`).
        let threshold = Timestamp(secondsSinceEpoch: time.secondsSinceEpoch - Int64(reference.policy.pickupThresholdHours) * 3600)
        let counts = try await ledger.backlogCounts(overdueBefore: threshold)
        let tree = self.tree
        return Backlog(
            generatedAt: time, heartbeat: await BlockingWork.run { tree.heartbeat() }, waitingInInbound: waitingInInbound,
            receiptsInProgress: counts.receiptsInProgress, jobRunsInProgress: counts.jobRunsInProgress,
            deliveriesWaiting: counts.deliveriesWaiting, deliveriesOverdue: counts.deliveriesOverdue)
    }

    /// Entries in each participant's `inbound/` not yet claimed (hidden ones aside).
    private func waitingInInbound(_ reference: ReferenceData) async -> [String: Int] {
        let (tree, orgIds) = (self.tree, Array(reference.participants.keys))
        return await BlockingWork.run {
            orgIds.reduce(into: [:]) { counts, orgId in
                counts[orgId] = ((try? tree.list(tree.inbound(orgId))) ?? []).filter { !$0.name.hasPrefix(".") }.count
            }
        }
    }

    // MARK: Receipts

    /// Receipts matching `query`, newest first.
    public func submissions(_ query: ReceiptQuery) async throws -> [Receipt] {
        try await ledger.receipts(matching: query)
    }

    /// A receipt's whole story.
    /// - Throws: `SupportError(.unknownReceipt)` when there is no such receipt.
    public func story(of receiptId: String) async throws -> ReceiptStory {
        guard let receipt = try await ledger.receipt(id: receiptId) else {
            throw SupportError(.unknownReceipt, "there is no receipt \(receiptId)")
        }
        let original = tree.filedOriginal(of: receipt)
        return ReceiptStory(
            receipt: receipt, issues: try await ledger.issues(receiptId: receipt.id),
            rejectedRecords: try await ledger.rejectedRecords(receiptId: receipt.id),
            deliveries: try await ledger.deliveries(sourceId: receipt.id),
            reprocessedAs: try await ledger.receipts(matching: ReceiptQuery(reprocessOf: receipt.id)).map(\.id),
            originalKept: original.map { tree.exists($0) } ?? false,
            retiredWith: try await ledger.retiredYears().first { $0.contains(claimedAt: receipt.claimedAt) })
    }

    /// The lines `wanted` (1-based) of a receipt's kept original, for showing errors beside their rows:
    /// only those lines are kept (each cut at `maxLineBytes`, at most `maxBytes` in all), the others are
    /// read past, and reading stops after the last one wanted. Nil when the original is not kept, is not a
    /// regular file, or has another name (a hard link). Invalid UTF-8 is shown replaced.
    public func originalLines(of receipt: Receipt, wanted: [Int], maxLineBytes: Int = 2000, maxBytes: Int = 4 << 20) -> OriginalLines? {
        guard let path = tree.filedOriginal(of: receipt) else { return nil }
        // A file with another name (a hard link from outside the tree) is never shown.
        guard let file = try? tree.fileSystem.openForReading(path), file.entry.links <= 1 else { return nil }
        var reader = OriginalLineReader(wanted: wanted, maxLineBytes: maxLineBytes, maxBytes: maxBytes)
        do {
            try file.forEachChunk { chunk in reader.consume(chunk) }
        } catch {
            return nil
        }
        return reader.finish()
    }

    // MARK: Deliveries and participants

    /// Outbound files not yet picked up, oldest first; with `overdueOnly`, only those waiting longer than
    /// the policy's pickup threshold.
    public func waitingDeliveries(overdueOnly: Bool) async throws -> [WaitingDelivery] {
        let reference = reference()
        let time = now()
        return try await ledger.pendingDeliveries().compactMap { delivery in
            guard !overdueOnly || delivery.hasWaited(hours: reference.policy.pickupThresholdHours, at: time) else { return nil }
            return WaitingDelivery(
                delivery: delivery, recipientName: reference.participants[delivery.recipientOrgId]?.name ?? "",
                hoursWaiting: delivery.hoursWaiting(at: time))
        }
    }

    /// The technical centers that sent no accepted attendance for the policy's number of instructional
    /// days, excluding those with an approved waiver for the current school year. Files judged again by
    /// support do not count as sent.
    public func quietCenters() async throws -> [QuietCenter] {
        let reference = reference()
        let sent = ReceiptQuery(types: [.attendance], outcomes: [.accepted, .acceptedWithErrors], sentOnly: true)
        let last = Dictionary(uniqueKeysWithValues: try await ledger.latestReceiptPerSender(matching: sent).map { ($0.senderOrgId, $0.claimedAt) })
        let approved = try await ledger.allWaivers().filter { $0.status == .approved }.map { ($0.centerOrgId, $0.schoolYear) }
        return QuietCenters.find(reference: reference, lastAttendance: last, approvedWaivers: approved, now: now())
    }

    /// Waiver requests, in the order received; only those of `status` when given.
    public func waivers(status: WaiverRequest.Status? = nil) async throws -> [WaiverRequest] {
        try await ledger.allWaivers().filter { status == nil || $0.status == status }
    }

    /// A waiver request and, once decided, the name of its decision file.
    /// - Throws: `SupportError(.unknownWaiver)` when there is no such request.
    public func waiver(id: String) async throws -> (request: WaiverRequest, decisionFile: String?) {
        guard let request = try await ledger.allWaivers().first(where: { $0.id == id }) else {
            throw SupportError(.unknownWaiver, "there is no waiver request \(id)")
        }
        let run = try await ledger.jobRun(.waiverDecision, runKey: id)
        guard let run else { return (request, nil) }
        return (request, try await ledger.deliveries(sourceId: run.id).first?.fileName)
    }
}

extension SupportDesk {
    /// What the charts show of the last `days` days, for one participant (its own files and its own
    /// `outbound/`) or, with nil, the whole exchange.
    public func activity(of orgId: String?, days: Int = 30) async throws -> Activity {
        let reference = reference()
        let zone = reference.policy.timeZone
        let time = now()
        let today = zone.local(time).date
        let first = today.adding(days: 1 - days)
        // From the start of the first day in the exchange's zone (a day early in UTC, then cut by local date).
        let query = ReceiptQuery(
            senders: orgId.map { [$0] } ?? [], claimedFrom: Timestamp(secondsSinceEpoch: (first.dayNumber - 1) * 86_400), sentOnly: true)
        let receipts = try await ledger.receipts(matching: query).filter { zone.local($0.claimedAt).date >= first }
        let byDay = Dictionary(grouping: receipts) { zone.local($0.claimedAt).date }
        let perDay = (0..<days).map { offset -> Activity.Day in
            let date = first.adding(days: offset)
            let files = byDay[date] ?? []
            return Activity.Day(
                date: date, files: files.count, rejected: files.filter { $0.outcome == .rejected }.count,
                partly: files.filter { $0.outcome == .acceptedWithErrors }.count)
        }
        var counted = query
        counted.claimedFrom = receipts.map(\.claimedAt).min() ?? time
        let codes = receipts.isEmpty ? [:] : try await ledger.issueCodeCounts(matching: counted)
        let waiting = try await ledger.pendingDeliveries().filter { orgId == nil || $0.recipientOrgId == orgId }
        var activity = Activity(
            days: perDay, codes: codes.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.prefix(10).map { ($0.key, $0.value) },
            waitingHours: waiting.map { $0.hoursWaiting(at: time) })
        activity.overdue = waiting.filter { $0.hasWaited(hours: reference.policy.pickupThresholdHours, at: time) }.count
        return activity
    }
}

/// What the charts show: files per day and how many were rejected, the most frequent error codes, and
/// how long the files waiting for pickup have waited.
public struct Activity: Sendable {
    /// One day's files.
    public struct Day: Sendable, Equatable {
        /// The day, in the exchange's time zone.
        public var date: LocalDate
        /// Files received, rejected, and accepted with errors.
        public var files: Int
        public var rejected: Int
        public var partly: Int

        /// One day's counts.
        public init(date: LocalDate, files: Int, rejected: Int, partly: Int) {
            self.date = date
            self.files = files
            self.rejected = rejected
            self.partly = partly
        }
    }
    /// Every day of the period, oldest first (days without files too).
    public var days: [Day]
    /// The most frequent codes in the period's error files, most frequent first (at most ten).
    public var codes: [(code: String, count: Int)]
    /// Hours each file waiting for pickup has waited.
    public var waitingHours: [Int]
    /// Of those files, the ones past the pickup threshold.
    public var overdue = 0

    /// What the charts show.
    public init(days: [Day], codes: [(code: String, count: Int)], waitingHours: [Int]) {
        self.days = days
        self.codes = codes
        self.waitingHours = waitingHours
    }

    /// The waiting files by age: each bucket's label and count, youngest first.
    public var waitingByAge: [(label: String, count: Int)] {
        let buckets: [(String, ClosedRange<Int>)] = [
            ("under 1 h", 0...0), ("1–6 h", 1...5), ("6–24 h", 6...23), ("1–2 days", 24...47), ("2–7 days", 48...167), ("7+ days", 168...Int.max),
        ]
        return buckets.map { label, range in (label, waitingHours.filter { range.contains($0) }.count) }
    }
}

/// What waits, and whether the service runs.
public struct Backlog: Sendable {
    /// When it was counted.
    public var generatedAt: Timestamp
    /// The service's last sign of life.
    public var heartbeat: ServiceHeartbeat?
    /// Files in every `inbound/` not yet claimed.
    public var waitingInInbound: Int
    /// Receipts claimed but not yet acknowledged.
    public var receiptsInProgress: Int
    /// Job runs not yet finished.
    public var jobRunsInProgress: Int
    /// Outbound files not yet picked up.
    public var deliveriesWaiting: Int
    /// Of those, the ones past the pickup threshold.
    public var deliveriesOverdue: Int

    /// Seconds since the service's last pass, if it ever ran here.
    public var secondsSinceLastPass: Int64? { heartbeat.map { generatedAt.secondsSinceEpoch - $0.time.secondsSinceEpoch } }
    /// Whether the service passed over the drop tree within the last minute.
    public var serviceRunning: Bool { (secondsSinceLastPass ?? .max) <= 60 }
}

/// The exchange at a glance (`ktsx status`).
public struct StatusReport: Sendable {
    /// One participant's line.
    public struct ParticipantLine: Sendable {
        /// The participant.
        public var participant: Participant
        /// Its newest receipt.
        public var lastReceipt: Receipt?
        /// Entries in its `inbound/` not yet claimed.
        public var waitingInInbound: Int
    }
    /// What waits, and whether the service runs.
    public var backlog: Backlog
    /// Every participant.
    public var participants: [ParticipantLine]
    /// The newest run of each job.
    public var lastJobRuns: [JobRun]
}

/// A receipt's whole story (`ktsx show`).
public struct ReceiptStory: Sendable {
    /// The receipt.
    public var receipt: Receipt
    /// What its error file lists.
    public var issues: [ValidationIssue]
    /// Its records that failed the rules (a file accepted with errors).
    public var rejectedRecords: [RejectedRecord]
    /// What it wrote, to whom, and when each was picked up.
    public var deliveries: [Delivery]
    /// Receipts that judged this file again (`ktsx reprocess`).
    public var reprocessedAs: [String]
    /// Whether the original is still kept in the archive or quarantine.
    public var originalKept: Bool
    /// The retired school year the receipt belongs to, when its year was retired (`ktsx retire`): its
    /// issues, failing records, delivered files and record trail are in that year's archive, not here.
    public var retiredWith: RetiredYear? = nil
}

/// An outbound file waiting for pickup.
public struct WaitingDelivery: Sendable {
    /// The delivery.
    public var delivery: Delivery
    /// The recipient's name.
    public var recipientName: String
    /// Hours since it was written, to the nearest hour.
    public var hoursWaiting: Int
}

/// Lines of a kept original, by number (1-based), and how far the file was read.
public struct OriginalLines: Sendable, Equatable {
    /// The lines kept.
    public var lines: [Int: String]
    /// The number of the last line read (a wanted line beyond it is past the end of the file).
    public var linesRead: Int

    /// Lines read.
    public init(lines: [Int: String], linesRead: Int) {
        self.lines = lines
        self.linesRead = linesRead
    }

    /// The first lines of a file, all kept (`lines[0]` is line 1).
    public init(_ lines: [String]) {
        self.lines = Dictionary(uniqueKeysWithValues: lines.enumerated().map { ($0.offset + 1, $0.element) })
        linesRead = lines.count
    }
}

/// Keeps the wanted lines (1-based) of a file read chunk by chunk, each cut at `maxLineBytes`, at most
/// `maxBytes` in all; the others are read past. Pure: a kept original and an upload are read alike.
public struct OriginalLineReader {
    private let wanted: Set<Int>
    private let last: Int
    private let maxLineBytes: Int
    private let maxBytes: Int
    private var found = OriginalLines(lines: [:], linesRead: 0)
    private var current: [UInt8] = []
    private var keptBytes = 0
    private var number = 1
    private var inLine = false

    /// A reader of the lines `wanted`.
    public init(wanted: [Int], maxLineBytes: Int = 2000, maxBytes: Int = 4 << 20) {
        self.wanted = Set(wanted)
        last = wanted.max() ?? 0
        self.maxLineBytes = maxLineBytes
        self.maxBytes = maxBytes
    }

    /// Reads the next bytes; false once the last wanted line is read (the rest need not be).
    public mutating func consume(_ chunk: some Collection<UInt8>) -> Bool {
        guard number <= last else { return false }
        for byte in chunk {
            if byte == 10 {
                finishLine()
                if number > last { return false }
            } else {
                inLine = true
                if current.count <= maxLineBytes, wanted.contains(number) { current.append(byte) }
            }
        }
        return true
    }

    /// The lines kept (invalid UTF-8 shown replaced).
    public mutating func finish() -> OriginalLines {
        if inLine, number <= last { finishLine() }  // a last line without its line break
        return found
    }

    private mutating func finishLine() {
        inLine = false
        if wanted.contains(number), keptBytes + current.count <= maxBytes {
            if current.last == 13 { current.removeLast() }
            found.lines[number] = String(decoding: current.prefix(maxLineBytes), as: UTF8.self)
            keptBytes += current.count
        }
        found.linesRead = number
        current.removeAll(keepingCapacity: true)
        number += 1
    }
}
