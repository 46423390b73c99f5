import ExchangeCore
import Foundation

/// The ledger in memory, for tests: the same contract as the SQLite ledger (the contract tests run both).
public final class InMemoryLedger: LedgerStore, @unchecked Sendable {
    private let lock = NSLock()
    private var receipts: [Receipt] = []
    private var deliveries: [Delivery] = []
    private var rejected: [RejectedRecord] = []
    private var issuesByReceipt: [String: [ValidationIssue]] = [:]
    private var held: [String: (record: HeldRecord, pending: Bool, postingRun: String?, everPosted: Bool)] = [:]
    private var heldOrder: [String] = []
    private var notificationList: [(PartnerNotification, String?, Int64?)] = []
    private var waiverList: [WaiverRequest] = []
    private var runs: [JobRun] = []
    private var accepted: [AcceptedRecord] = []
    private var trailEntries: [TrailEntry] = []
    private var retired: [RetiredYear] = []
    /// Leases of unfinished receipts and job runs, by id: holder and when it runs out.
    private var leases: [String: (owner: String, until: Int64)] = [:]
    public let leaseSeconds: Int64
    private let clock: @Sendable () -> Int64

    /// An empty ledger.
    /// - Parameters:
    ///   - leaseSeconds: How long a lease lasts (tests shorten it to see one run out).
    ///   - clock: The ledger's own clock, in seconds (the wall clock unless a test sets one).
    public init(
        leaseSeconds: Int64 = LedgerLease.seconds, clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) {
        self.leaseSeconds = leaseSeconds
        self.clock = clock
    }

    /// Grants `owner` the lease of `id` if it is free, ours or run out.
    private func grant(_ id: String, to owner: String) -> Bool {
        let now = clock()
        if let held = leases[id], held.owner != owner, held.until >= now { return false }
        leases[id] = (owner, now + leaseSeconds)
        return true
    }

    public func lease(receiptId: String, to owner: String) async throws(LedgerError) -> Bool {
        try locked {
            guard let receipt = receipts.first(where: { $0.id == receiptId }), receipt.state != .finished else { return false }
            return grant(receiptId, to: owner)
        }
    }

    public func lease(senders: [String], to owner: String) async throws(LedgerError) -> Set<String> {
        try locked { Set(senders.filter { grant("sender:\($0)", to: owner) }) }
    }

    public func release(senders: [String], by owner: String) async throws(LedgerError) {
        try locked {
            for sender in senders where leases["sender:\(sender)"]?.owner == owner { leases["sender:\(sender)"] = nil }
        }
    }

    private var heldNames: Set<String> = []

    public func holdInstanceName(_ name: String) async throws(LedgerError) -> Bool {
        try locked { heldNames.insert(name).inserted }
    }

    public func lease(jobRunId: String, to owner: String) async throws(LedgerError) -> Bool {
        try locked {
            guard let run = runs.first(where: { $0.id == jobRunId }), run.state != .finished else { return false }
            return grant(jobRunId, to: owner)
        }
    }

    private func locked<T>(_ body: () throws(LedgerError) -> T) throws(LedgerError) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    public func checkStorage() async throws(LedgerError) {}

    @discardableResult
    public func recordClaim(_ receipt: Receipt, leasedTo owner: String?) async throws(LedgerError) -> Receipt? {
        try locked { () throws(LedgerError) -> Receipt? in
            guard !receipts.contains(where: { $0.id == receipt.id }) else {
                throw LedgerError(.duplicateReceipt, "receipt \(receipt.id) exists")
            }
            try checkReprocessedOnce(receipt)
            receipts.append(receipt)
            if let owner { leases[receipt.id] = (owner, clock() + leaseSeconds) }
            return receipts.first { $0.wasAccepted && $0.senderOrgId == receipt.senderOrgId && $0.sha256 == receipt.sha256 }
        }
    }

    /// A file is being judged again, or has been with records accepted, by one receipt at most.
    private func checkReprocessedOnce(_ receipt: Receipt) throws(LedgerError) {
        guard let earlier = receipt.reprocessOf, receipt.state != .finished || receipt.wasAccepted else { return }
        if receipts.contains(where: { $0.id != receipt.id && $0.reprocessOf == earlier && ($0.state != .finished || $0.wasAccepted) }) {
            throw LedgerError(.duplicateReceipt, "receipt \(earlier) is judged again by another receipt")
        }
    }

    public func update(
        _ receipt: Receipt, recordingDeliveries newDeliveries: [Delivery], findings: ReceiptFindings, applying changes: LedgerChanges
    ) async throws(LedgerError) {
        try locked { () throws(LedgerError) in
            guard let index = receipts.firstIndex(where: { $0.id == receipt.id }) else {
                throw LedgerError(.unknownReceipt, "no receipt \(receipt.id)")
            }
            try checkReprocessedOnce(receipt)
            if receipt.wasAccepted, !receipt.failedRecordsOnly,
                receipts.contains(where: {
                    $0.id != receipt.id && $0.wasAccepted && !$0.failedRecordsOnly && $0.senderOrgId == receipt.senderOrgId
                        && $0.sha256 == receipt.sha256
                })
            {
                throw LedgerError(.duplicateReceipt, "these bytes were already accepted from \(receipt.senderOrgId)")
            }
            receipts[index] = receipt
            insert(newDeliveries)
            for record in changes.held {
                let key = "\(record.type.code)|\(record.naturalKey)"
                if held[key] == nil { heldOrder.append(key) }
                let earlier = held[key]
                held[key] = (record, HeldRecordRow(record).pendingPosting, nil, earlier?.postingRun != nil || (earlier?.everPosted ?? false))
                let acceptedRecord = AcceptedRecord(record)
                if !accepted.contains(where: { $0.reference == acceptedRecord.reference }) { accepted.append(acceptedRecord) }
            }
            for waiver in changes.waivers { save(waiver) }
            for record in findings.rejectedRecords
            where !rejected.contains(where: { $0.receiptId == record.receiptId && $0.line == record.line }) {
                rejected.append(record)
            }
            let known = issuesByReceipt[receipt.id, default: []]
            if findings.issues.count > known.count {
                issuesByReceipt[receipt.id] = known + findings.issues[known.count...].map { issue in
                    var kept = issue
                    kept.message = LedgerRecordFields.storable(issue.message)
                    kept.path = LedgerRecordFields.storable(issue.path)
                    kept.field = LedgerRecordFields.storable(issue.field)
                    kept.recordKey = LedgerRecordFields.storable(issue.recordKey)
                    return kept
                }
            }
        }
    }

    public func rejectedRecords(receiptId: String) async throws(LedgerError) -> [RejectedRecord] {
        try locked { rejected.filter { $0.receiptId == receiptId }.sorted { $0.line < $1.line } }
    }

    public func issues(receiptId: String) async throws(LedgerError) -> [ValidationIssue] {
        try locked { issuesByReceipt[receiptId] ?? [] }
    }

    public func issueCodeCounts(matching query: ReceiptQuery) async throws(LedgerError) -> [String: Int] {
        var all = query
        all.limit = nil
        let matching = try await receipts(matching: all)
        return try locked {
            matching.flatMap { issuesByReceipt[$0.id] ?? [] }.reduce(into: [:]) { $0[$1.code.rawValue, default: 0] += 1 }
        }
    }

    /// Receipts newest first by claim time (later recorded first among equals).
    private var newestFirst: [Receipt] {
        receipts.enumerated().sorted { ($0.element.claimedAt, $0.offset) > ($1.element.claimedAt, $1.offset) }.map(\.element)
    }

    public func receipts(matching query: ReceiptQuery) async throws(LedgerError) -> [Receipt] {
        try locked {
            let matching = newestFirst.filter(query.matches)
            return query.limit.map { Array(matching.prefix(max(0, $0))) } ?? matching
        }
    }

    public func latestReceiptPerSender(matching query: ReceiptQuery) async throws(LedgerError) -> [Receipt] {
        try locked {
            var latest: [String: Receipt] = [:]
            for receipt in newestFirst where query.matches(receipt) && latest[receipt.senderOrgId] == nil {
                latest[receipt.senderOrgId] = receipt
            }
            return latest.values.sorted { $0.senderOrgId < $1.senderOrgId }
        }
    }

    public func receipt(id: String) async throws(LedgerError) -> Receipt? {
        try locked { receipts.first { $0.id == id } }
    }

    public func firstAccepted(sender: String, sha256: String) async throws(LedgerError) -> Receipt? {
        try locked { receipts.first { $0.wasAccepted && $0.senderOrgId == sender && $0.sha256 == sha256 } }
    }

    public func unfinishedReceipts() async throws(LedgerError) -> [Receipt] {
        try locked { receipts.filter { $0.state != .finished } }
    }

    public func allReceipts() async throws(LedgerError) -> [Receipt] {
        try locked { receipts }
    }

    public func pendingDeliveries() async throws(LedgerError) -> [Delivery] {
        try locked {
            deliveries.enumerated().filter { $0.element.pickedUpAt == nil }
                .sorted { ($0.element.deliveredAt, $0.offset) < ($1.element.deliveredAt, $1.offset) }.map(\.element)
        }
    }

    public func pendingDeliveries(among names: [OutboundName]) async throws(LedgerError) -> Set<OutboundName> {
        try locked {
            let pending = Set(deliveries.filter { $0.pickedUpAt == nil }.map { OutboundName(recipientOrgId: $0.recipientOrgId, fileName: $0.fileName) })
            return Set(names).intersection(pending)
        }
    }

    @discardableResult
    public func markPickedUp(recipientOrgId: String, fileName: String, at time: Timestamp) async throws(LedgerError) -> Bool {
        try locked {
            var marked = false
            for index in deliveries.indices
            where deliveries[index].recipientOrgId == recipientOrgId && deliveries[index].fileName == fileName
                && deliveries[index].pickedUpAt == nil
            {
                deliveries[index].pickedUpAt = time
                marked = true
            }
            return marked
        }
    }

    private func insert(_ newDeliveries: [Delivery]) {
        for delivery in newDeliveries {
            if !deliveries.contains(where: {
                $0.receiptId == delivery.receiptId && $0.recipientOrgId == delivery.recipientOrgId && $0.fileName == delivery.fileName
            }) {
                var stored = delivery
                stored.records = []
                deliveries.append(stored)
            }
            for record in delivery.records {
                let entry = TrailEntry(
                    sourceId: delivery.receiptId, recipientOrgId: delivery.recipientOrgId, fileName: delivery.fileName, record: record)
                if !trailEntries.contains(entry) { trailEntries.append(entry) }
            }
        }
    }

    /// Whether a receipt was claimed at or after `from` and before `before`.
    private func claimed(_ receiptId: String, from: Timestamp?, before: Timestamp?) -> Bool {
        guard let receipt = receipts.first(where: { $0.id == receiptId }) else { return false }
        return from.map { receipt.claimedAt >= $0 } ?? true && before.map { receipt.claimedAt < $0 } ?? true
    }

    public func deliveries(deliveredFrom from: Timestamp?, before: Timestamp?) async throws(LedgerError) -> [Delivery] {
        try locked {
            deliveries.filter { delivery in
                from.map { delivery.deliveredAt >= $0 } ?? true && before.map { delivery.deliveredAt < $0 } ?? true
            }
        }
    }

    public func acceptedRecords(claimedFrom from: Timestamp?, before: Timestamp?) async throws(LedgerError) -> [AcceptedRecord] {
        try locked { accepted.filter { claimed($0.reference.receiptId, from: from, before: before) } }
    }

    public func trail(sourceId: String) async throws(LedgerError) -> [TrailEntry] {
        try locked { trailEntries.filter { $0.sourceId == sourceId } }
    }

    public func trail(claimedFrom from: Timestamp?, before: Timestamp?) async throws(LedgerError) -> [TrailEntry] {
        try locked { trailEntries.filter { claimed($0.record.receiptId, from: from, before: before) } }
    }

    private func save(_ waiver: WaiverRequest) {
        if let index = waiverList.firstIndex(where: { $0.id == waiver.id }) {
            waiverList[index].status = waiver.status
            waiverList[index].decisionReason = waiver.decisionReason
            waiverList[index].decidedAt = waiver.decidedAt
        } else {
            waiverList.append(waiver)
        }
    }

    public func deliveries(sourceId: String) async throws(LedgerError) -> [Delivery] {
        try locked { deliveries.filter { $0.receiptId == sourceId } }
    }

    public func heldRecord(_ type: ExchangeType, key: String) async throws(LedgerError) -> HeldRecord? {
        try locked { held["\(type.code)|\(key)"]?.record }
    }

    public func enrollments(ssid: String, center: String) async throws(LedgerError) -> [HeldRecord] {
        try locked {
            heldOrder.compactMap { held[$0]?.record }.filter {
                $0.type == .enrollment && $0["ssid"] == ssid && HeldRecordRow($0).centerOrgId == center
            }.sorted { $0.naturalKey < $1.naturalKey }
        }
    }

    public func attendance(recipientOrgId: String, date: String) async throws(LedgerError) -> [HeldRecord] {
        try locked {
            heldOrder.compactMap { held[$0]?.record }.filter {
                $0.type == .attendance && $0.recipientOrgId == recipientOrgId && $0["attendanceDate"] == date
            }.sorted { $0.naturalKey < $1.naturalKey }
        }
    }

    public func recordNotifications(_ notifications: [PartnerNotification]) async throws(LedgerError) -> Int {
        try locked {
            var added = 0
            for notification in notifications where !notificationList.contains(where: { $0.0.eventId == notification.eventId && $0.0.contact == notification.contact }) {
                notificationList.append((notification, nil, nil))
                added += 1
            }
            return added
        }
    }

    public func takeDueNotifications(at now: Timestamp, owner: String, limit: Int) async throws(LedgerError) -> [PartnerNotification] {
        try locked {
            var taken: [PartnerNotification] = []
            for index in notificationList.indices where taken.count < limit {
                let (notification, holder, until) = notificationList[index]
                guard notification.state == .pending, notification.nextAttemptAt <= now,
                    until.map({ $0 < now.secondsSinceEpoch }) ?? true || holder == owner
                else { continue }
                notificationList[index] = (notification, owner, now.secondsSinceEpoch + leaseSeconds)
                taken.append(notification)
            }
            return taken
        }
    }

    public func finishNotificationAttempt(_ notification: PartnerNotification) async throws(LedgerError) {
        try locked {
            guard let index = notificationList.firstIndex(where: { $0.0.eventId == notification.eventId && $0.0.contact == notification.contact }) else { return }
            var updated = notificationList[index].0
            (updated.state, updated.attempts, updated.nextAttemptAt) = (notification.state, notification.attempts, notification.nextAttemptAt)
            (updated.sentAt, updated.lastError) = (notification.sentAt, notification.lastError)
            notificationList[index] = (updated, nil, nil)
        }
    }

    public func notifications(orgId: String?, limit: Int) async throws(LedgerError) -> [PartnerNotification] {
        try locked { Array(notificationList.map(\.0).filter { orgId == nil || $0.orgId == orgId }.reversed().prefix(limit)) }
    }

    public func heldRecords(_ type: ExchangeType, recipientOrgId: String, datedFrom from: String, through: String) async throws(LedgerError)
        -> [HeldRecord]
    {
        try locked {
            heldOrder.compactMap { held[$0]?.record }.filter { record in
                let date = type.descriptor?.dateField.map { record[$0] } ?? ""
                return record.type == type && record.recipientOrgId == recipientOrgId && date >= from && date <= through
            }.sorted { a, b in
                let (x, y) = (type.descriptor?.dateField.map { a[$0] } ?? "", type.descriptor?.dateField.map { b[$0] } ?? "")
                return x != y ? x < y : a.naturalKey < b.naturalKey
            }
        }
    }

    public func backlogCounts(overdueBefore: Timestamp) async throws(LedgerError) -> BacklogCounts {
        try await countByListing(overdueBefore: overdueBefore)
    }

    public func heldState(for request: HeldStateRequest) async throws(LedgerError) -> HeldState {
        try await answerOneByOne(request)
    }

    public func waivers(center: String, schoolYear: Int) async throws(LedgerError) -> [WaiverRequest] {
        try locked { waiverList.filter { $0.centerOrgId == center && $0.schoolYear == schoolYear } }
    }

    public func allWaivers() async throws(LedgerError) -> [WaiverRequest] {
        try locked { waiverList }
    }

    public func claimJobRun(_ run: JobRun, leasedTo owner: String?) async throws(LedgerError) -> Bool {
        try locked { () throws(LedgerError) -> Bool in
            guard !runs.contains(where: { $0.job == run.job && $0.runKey == run.runKey }) else { return false }
            guard !runs.contains(where: { $0.id == run.id }) else { throw LedgerError(.duplicateReceipt, "job run \(run.id) exists") }
            runs.append(run)
            if let owner { leases[run.id] = (owner, clock() + leaseSeconds) }
            if run.job == .gradePosting {
                for key in heldOrder where held[key]!.pending && held[key]!.postingRun == nil { held[key]!.postingRun = run.id }
            }
            return true
        }
    }

    public func jobRun(_ job: JobKind, runKey: String) async throws(LedgerError) -> JobRun? {
        try locked { runs.first { $0.job == job && $0.runKey == runKey } }
    }

    public func jobRun(id: String) async throws(LedgerError) -> JobRun? {
        try locked { runs.first { $0.id == id } }
    }

    public func unfinishedJobRuns() async throws(LedgerError) -> [JobRun] {
        try locked { runs.filter { $0.state != .finished } }
    }

    public func latestRunKey(_ job: JobKind, prefix: String) async throws(LedgerError) -> String? {
        try locked { runs.filter { $0.job == job && $0.runKey.hasPrefix(prefix) }.map(\.runKey).max() }
    }

    public func jobRuns(_ job: JobKind) async throws(LedgerError) -> [JobRun] {
        try locked { runs.filter { $0.job == job } }
    }

    public func latestJobRun(_ job: JobKind) async throws(LedgerError) -> JobRun? {
        try await jobRuns(job).last
    }

    public func retiredYears() async throws(LedgerError) -> [RetiredYear] {
        try locked { retired.sorted { $0.schoolYear < $1.schoolYear } }
    }

    /// Records `year` as retired (this ledger moves no rows: tests of what the exchange does with a retired
    /// year start from here; the SQLite and PostgreSQL ledgers' retirement has tests of its own).
    public func recordRetired(_ year: RetiredYear) {
        lock.withLock { retired.append(year) }
    }

    public func gradesClaimed(by runId: String) async throws(LedgerError) -> [GradeToPost] {
        try locked {
            heldOrder.compactMap { held[$0] }.filter { $0.pending && $0.postingRun == runId }
                .map { GradeToPost(grade: $0.record, postedBefore: $0.everPosted) }
                .sorted { ($0.grade.recipientOrgId, $0.grade.naturalKey) < ($1.grade.recipientOrgId, $1.grade.naturalKey) }
        }
    }

    public func updateJobRun(_ run: JobRun, recordingDeliveries newDeliveries: [Delivery], decision: WaiverRequest?) async throws(LedgerError) {
        try locked { () throws(LedgerError) in
            guard let index = runs.firstIndex(where: { $0.id == run.id }), runs[index].state == JobRun.predecessor(of: run.state) else {
                throw LedgerError(.conflict, "job run \(run.id) is not \(JobRun.predecessor(of: run.state)?.rawValue ?? "new") any more")
            }
            if let decision {
                guard waiverList.contains(where: { $0.id == decision.id && $0.status == .pending }) else {
                    throw LedgerError(.conflict, "waiver \(decision.id) is not pending any more")
                }
                save(decision)
            }
            runs[index] = run
            insert(newDeliveries)
            if run.state == .writing, run.job == .gradePosting {
                for key in heldOrder where held[key]!.postingRun == run.id && held[key]!.pending {
                    held[key]!.pending = false
                    held[key]!.everPosted = !held[key]!.record.deleted
                    held[key]!.postingRun = nil
                }
            }
        }
    }
}
