import ExchangeCore
import ExchangeLedgerPostgres
import ExchangeLedgerSQLite
import ExchangeRuntime
import ExchangeTesting
import Foundation
import Testing

/// A ledger implementation under test, with a name for the test report.
struct LedgerUnderTest: CustomStringConvertible, Sendable {
    let description: String
    /// Makes an empty ledger whose leases last the given seconds.
    let makeWithLease: @Sendable (URL, Int64) async throws -> any LedgerStore

    /// Runs `body` with an empty ledger (leases of `leaseSeconds`) made in `directory`, its background work
    /// (PostgreSQL's pool) running for it.
    func with(at directory: URL, leaseSeconds: Int64 = LedgerLease.seconds, _ body: (any LedgerStore) async throws -> Void) async throws {
        let store = try await makeWithLease(directory, leaseSeconds)
        try await LedgerRunning.with(store) { try await body(store) }
    }

    /// Runs `body` with a fresh temporary directory and an empty ledger made in it.
    func withFresh(_ body: (URL, any LedgerStore) async throws -> Void) async throws {
        try await withTemporaryDirectory { directory in
            try await with(at: directory) { store in try await body(directory, store) }
        }
    }

    /// The PostgreSQL server the tests use (`scripts/test.sh` starts one on loopback and sets it).
    static let postgresURL = ProcessInfo.processInfo.environment["KTSX_TEST_POSTGRES_URL"]

    static let all = [
        LedgerUnderTest(description: "in memory") { _, lease in InMemoryLedger(leaseSeconds: lease) },
        LedgerUnderTest(description: "SQLite") { directory, lease in
            try SQLiteLedger(path: directory.appendingPathComponent("ledger.sqlite").path, leaseSeconds: lease)
        },
    ] + (postgresURL.map { url in [LedgerUnderTest(description: "PostgreSQL") { _, lease in try await freshPostgresLedger(url, leaseSeconds: lease) }] } ?? [])
}

/// A PostgreSQL ledger in a schema of its own, so that every test starts empty.
func freshPostgresLedger(_ url: String, leaseSeconds: Int64 = LedgerLease.seconds) async throws -> PostgresLedger {
    var settings = try PostgresLedgerSettings.parse(url).get()
    settings.schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    settings.poolSize = 2
    settings.leaseSeconds = leaseSeconds
    return try await PostgresLedger.open(settings: settings)
}

private func receipt(_ id: String, sender: String = "061014", sha: String = "aa", at seconds: Int64 = 100) -> Receipt {
    Receipt(id: id, senderOrgId: sender, originalName: "f.csv", sizeBytes: 10, sha256: sha, claimedAt: Timestamp(secondsSinceEpoch: seconds))
}

@Suite("Ledger contract: every ledger behaves the same")
struct LedgerContractTests {
    @Test("a claim is recorded once, read back, and updated with its judgement", arguments: LedgerUnderTest.all)
    func claimAndFinish(ledger: LedgerUnderTest) async throws {
        try await ledger.withFresh { directory, store in
            try await store.recordClaim(receipt("R1"))
            await #expect(throws: LedgerError.self) { try await store.recordClaim(receipt("R1")) }
            #expect(try await store.unfinishedReceipts().map(\.id) == ["R1"])
            var finished = try #require(try await store.receipt(id: "R1"))
            finished.state = .finished
            finished.outcome = .accepted
            finished.fileType = .attendance
            finished.binding = .csv
            finished.recordsReceived = 3
            finished.recordsAccepted = 3
            finished.ackFile = "f.csv.ack.csv"
            finished.finishedAt = Timestamp(secondsSinceEpoch: 200)
            try await store.update(finished)
            #expect(try await store.receipt(id: "R1") == finished)
            #expect(try await store.unfinishedReceipts().isEmpty)
            await #expect(throws: LedgerError.self) { try await store.update(receipt("missing")) }
        }
    }

    @Test("the same bytes from the same sender are accepted at most once", arguments: LedgerUnderTest.all)
    func acceptedOnce(ledger: LedgerUnderTest) async throws {
        try await ledger.withFresh { directory, store in
            for (id, sender) in [("R1", "061014"), ("R2", "061014"), ("R3", "165901")] {
                try await store.recordClaim(receipt(id, sender: sender))
            }
            #expect(try await store.firstAccepted(sender: "061014", sha256: "aa") == nil)
            var first = try #require(try await store.receipt(id: "R1"))
            first.outcome = .accepted
            first.state = .finished
            try await store.update(first)
            #expect(try await store.firstAccepted(sender: "061014", sha256: "aa")?.id == "R1")
            #expect(try await store.firstAccepted(sender: "165901", sha256: "aa") == nil)
            var second = try #require(try await store.receipt(id: "R2"))
            second.outcome = .acceptedWithErrors
            await #expect(throws: LedgerError.self) { try await store.update(second) }
            second.outcome = .duplicate
            second.duplicateOf = "R1"
            try await store.update(second)
            var other = try #require(try await store.receipt(id: "R3"))
            other.outcome = .accepted
            try await store.update(other)
            // A claim recorded later learns, with its record, which receipt accepted its bytes first.
            #expect(try await store.recordClaim(receipt("R4", sender: "061014"))?.id == "R1")
            #expect(try await store.recordClaim(receipt("R5", sender: "061020")) == nil)
        }
    }

    @Test("deliveries are recorded once and marked picked up once", arguments: LedgerUnderTest.all)
    func deliveries(ledger: LedgerUnderTest) async throws {
        try await ledger.withFresh { directory, store in
            try await store.recordClaim(receipt("R1"))
            let delivery = Delivery(
                receiptId: "R1", recipientOrgId: "061014", fileName: "f.csv.ack.csv", deliveredAt: Timestamp(secondsSinceEpoch: 5))
            try await store.recordDelivery(delivery)
            try await store.recordDelivery(delivery)
            #expect(try await store.pendingDeliveries() == [delivery])
            #expect(try await store.markPickedUp(recipientOrgId: "061014", fileName: "f.csv.ack.csv", at: Timestamp(secondsSinceEpoch: 9)))
            #expect(try await store.pendingDeliveries().isEmpty)
            // A second instance that saw the same file gone records (and counts) nothing more.
            #expect(try await !store.markPickedUp(recipientOrgId: "061014", fileName: "f.csv.ack.csv", at: Timestamp(secondsSinceEpoch: 10)))
            #expect(try await store.deliveries(sourceId: "R1").map(\.pickedUpAt) == [Timestamp(secondsSinceEpoch: 9)])
        }
    }

    @Test("the backlog is counted by the ledger as the lists count it: work in hand, files waiting, files overdue", arguments: LedgerUnderTest.all)
    func backlogCounts(ledger: LedgerUnderTest) async throws {
        try await ledger.withFresh { directory, store in
            #expect(try await store.backlogCounts(overdueBefore: Timestamp(secondsSinceEpoch: 0)) == BacklogCounts(
                receiptsInProgress: 0, jobRunsInProgress: 0, deliveriesWaiting: 0, deliveriesOverdue: 0))
            try await store.recordClaim(receipt("R1"))
            try await store.recordClaim(receipt("R2", sha: "bb"))
            var finished = try #require(try await store.receipt(id: "R2"))
            finished.state = .finished
            finished.outcome = .accepted
            try await store.update(finished)
            #expect(try await store.claimJobRun(JobRun(id: "J1", job: .gradePosting, runKey: "night:1", startedAt: Timestamp(secondsSinceEpoch: 1))))
            for (name, seconds) in [("a.ack.csv", 5), ("b.ack.csv", 10), ("c.ack.csv", 11), ("d.ack.csv", 20)] {
                try await store.recordDelivery(
                    Delivery(receiptId: "R1", recipientOrgId: "061014", fileName: name, deliveredAt: Timestamp(secondsSinceEpoch: Int64(seconds))))
            }
            #expect(try await store.markPickedUp(recipientOrgId: "061014", fileName: "a.ack.csv", at: Timestamp(secondsSinceEpoch: 30)))
            for threshold in [0, 10, 11, 100] {
                let counted = try await store.backlogCounts(overdueBefore: Timestamp(secondsSinceEpoch: Int64(threshold)))
                #expect(counted == (try await store.countByListing(overdueBefore: Timestamp(secondsSinceEpoch: Int64(threshold)))))
            }
            #expect(try await store.backlogCounts(overdueBefore: Timestamp(secondsSinceEpoch: 10)) == BacklogCounts(
                receiptsInProgress: 1, jobRunsInProgress: 1, deliveriesWaiting: 3, deliveriesOverdue: 1))
        }
    }

    @Test("records that failed the rules are kept with their receipt, once", arguments: LedgerUnderTest.all)
    func rejectedRecords(ledger: LedgerUnderTest) async throws {
        try await ledger.withFresh { directory, store in
            try await store.recordClaim(receipt("R1"))
            var judged = try #require(try await store.receipt(id: "R1"))
            judged.outcome = .acceptedWithErrors
            let records = [
                RejectedRecord(receiptId: "R1", line: 7, recordKey: "k7", codes: ["ENR-01"]),
                RejectedRecord(receiptId: "R1", line: 3, recordKey: nil, codes: ["ENR-01", "ENR-04"]),
            ]
            try await store.update(judged, recordingDeliveries: [], findings: ReceiptFindings(rejectedRecords: records), applying: .none)
            try await store.update(judged, recordingDeliveries: [], findings: ReceiptFindings(rejectedRecords: records), applying: .none)
            #expect(try await store.rejectedRecords(receiptId: "R1") == [records[1], records[0]])
            #expect(try await store.rejectedRecords(receiptId: "R2").isEmpty)
        }
    }

    @Test("a receipt's issues are kept in order, once, with every location", arguments: LedgerUnderTest.all)
    func issues(ledger: LedgerUnderTest) async throws {
        try await ledger.withFresh { directory, store in
            try await store.recordClaim(receipt("R1"))
            var judged = try #require(try await store.receipt(id: "R1"))
            judged.outcome = .rejected
            let issues = [
                ValidationIssue(code: .typeError, message: "Not a date.", line: 4, column: 9, field: "entryDate", row: 3, recordKey: "k3"),
                ValidationIssue(code: .missingElement, message: "Missing \"SSID\".", line: 12, path: "/KtsxEnrollmentFile/Enrollment[2]"),
                ValidationIssue(code: .emptyFile, message: "Empty."),
            ]
            try await store.update(judged, recordingDeliveries: [], findings: ReceiptFindings(issues: issues), applying: .none)
            try await store.update(judged, recordingDeliveries: [], findings: ReceiptFindings(issues: issues), applying: .none)
            #expect(try await store.issues(receiptId: "R1") == issues)
            #expect(try await store.issues(receiptId: "R2").isEmpty)
            // Counted by code over the receipts a query selects (by sender and time here).
            try await store.recordClaim(receipt("R2", sender: "165901", at: 200))
            var other = try #require(try await store.receipt(id: "R2"))
            other.outcome = .rejected
            let more = [ValidationIssue(code: .typeError, message: "Not a number.", line: 2), ValidationIssue(code: .emptyFile, message: "Empty.")]
            try await store.update(other, recordingDeliveries: [], findings: ReceiptFindings(issues: more), applying: .none)
            #expect(try await store.issueCodeCounts(matching: ReceiptQuery()) == ["type-error": 2, "missing-element": 1, "empty-file": 2])
            #expect(try await store.issueCodeCounts(matching: ReceiptQuery(senders: ["165901"])) == ["type-error": 1, "empty-file": 1])
            #expect(try await store.issueCodeCounts(matching: ReceiptQuery(claimedFrom: Timestamp(secondsSinceEpoch: 150))) == ["type-error": 1, "empty-file": 1])
            #expect(try await store.issueCodeCounts(matching: ReceiptQuery(claimedFrom: Timestamp(secondsSinceEpoch: 300))).isEmpty)
        }
    }

    @Test("receipts are found by sender, type, outcome, time and origin, newest first", arguments: LedgerUnderTest.all)
    func search(ledger: LedgerUnderTest) async throws {
        try await ledger.withFresh { directory, store in
            let rows: [(String, String, ExchangeType?, FileOutcome?, Int64)] = [
                ("R1", "061014", .enrollment, .accepted, 100), ("R2", "061014", .attendance, .rejected, 300),
                ("R3", "165901", .attendance, .acceptedWithErrors, 200), ("R4", "165901", nil, .rejected, 400),
                ("R5", "165901", .attendance, nil, 500),
            ]
            for (id, sender, type, outcome, time) in rows {
                var made = receipt(id, sender: sender, sha: id, at: time)
                try await store.recordClaim(made)
                made.fileType = type
                made.outcome = outcome
                made.state = outcome == nil ? .claimed : .finished
                made.reprocessOf = id == "R3" ? "R2" : nil
                try await store.update(made)
            }
            func ids(_ query: ReceiptQuery) async throws -> [String] { try await store.receipts(matching: query).map(\.id) }
            #expect(try await ids(ReceiptQuery()) == ["R5", "R4", "R2", "R3", "R1"])
            #expect(try await ids(ReceiptQuery(limit: 2)) == ["R5", "R4"])
            #expect(try await ids(ReceiptQuery(senders: ["061014"])) == ["R2", "R1"])
            #expect(try await ids(ReceiptQuery(types: [.attendance])) == ["R5", "R2", "R3"])
            #expect(try await ids(ReceiptQuery(outcomes: [.rejected])) == ["R4", "R2"])
            #expect(try await ids(ReceiptQuery(outcomes: [.rejected, .acceptedWithErrors], claimedFrom: Timestamp(secondsSinceEpoch: 200),
                                         claimedBefore: Timestamp(secondsSinceEpoch: 400))) == ["R2", "R3"])
            #expect(try await ids(ReceiptQuery(reprocessOf: "R2")) == ["R3"])
            #expect(try await ids(ReceiptQuery(types: [.attendance], sentOnly: true)) == ["R5", "R2"])
            #expect(try await store.latestReceiptPerSender(matching: ReceiptQuery()).map(\.id) == ["R2", "R5"])
            #expect(try await store.latestReceiptPerSender(matching: ReceiptQuery(outcomes: [.accepted, .acceptedWithErrors])).map(\.id) == ["R1", "R3"])
        }
    }

    @Test("a re-judgement of the failed records only may be accepted beside the receipt that accepted the rest", arguments: LedgerUnderTest.all)
    func reprocessAcceptsAgain(ledger: LedgerUnderTest) async throws {
        try await ledger.withFresh { directory, store in
            var first = receipt("R1")
            try await store.recordClaim(first)
            first.outcome = .acceptedWithErrors
            try await store.update(first)
            var again = receipt("R2", at: 200)
            again.reprocessOf = "R1"
            again.failedRecordsOnly = true
            again.reprocessReason = "jdoe: the AUT101 catalog entry was added, é \"quoted\""
            try await store.recordClaim(again)
            #expect(try await store.receipt(id: "R2")?.reprocessReason == again.reprocessReason)
            again.outcome = .accepted
            try await store.update(again)
            #expect(try await store.receipt(id: "R2")?.reprocessOf == "R1")
            #expect(try await store.receipt(id: "R2")?.reprocessReason == again.reprocessReason)
            #expect(try await store.receipt(id: "R2")?.failedRecordsOnly == true)
            #expect(try await store.firstAccepted(sender: "061014", sha256: "aa")?.id == "R1")
            // The same bytes sent again, or judged whole again, are not accepted a second time.
            var resent = receipt("R3", at: 300)
            try await store.recordClaim(resent)
            resent.outcome = .accepted
            await #expect(throws: LedgerError.self) { try await store.update(resent) }
        }
    }

    @Test("a file is judged again by one receipt at a time, and accepted by one at most", arguments: LedgerUnderTest.all)
    func reprocessedOnce(ledger: LedgerUnderTest) async throws {
        try await ledger.withFresh { directory, store in
            var original = receipt("R1", sha: "bb")
            try await store.recordClaim(original)
            original.outcome = .rejected
            original.state = .finished
            try await store.update(original)
            var first = receipt("R2", sha: "bb", at: 200)
            first.reprocessOf = "R1"
            try await store.recordClaim(first)
            // A second request while the first is being judged is refused at its claim.
            var second = receipt("R3", sha: "bb", at: 201)
            second.reprocessOf = "R1"
            await #expect(throws: LedgerError.self) { try await store.recordClaim(second) }
            // Rejected again: it may be judged again once more.
            first.state = .finished
            first.outcome = .rejected
            try await store.update(first)
            try await store.recordClaim(second)
            second.state = .finished
            second.outcome = .accepted
            try await store.update(second)
            var third = receipt("R4", sha: "bb", at: 202)
            third.reprocessOf = "R1"
            await #expect(throws: LedgerError.self) { try await store.recordClaim(third) }
        }
    }

    @Test("each sender's latest receipt: of two in the same second, the one recorded last", arguments: LedgerUnderTest.all)
    func latestTies(ledger: LedgerUnderTest) async throws {
        try await ledger.withFresh { directory, store in
            for id in ["R1", "R2", "R3"] { try await store.recordClaim(receipt(id, sha: id, at: 500)) }
            try await store.recordClaim(receipt("R0", sha: "R0", at: 400))
            #expect(try await store.latestReceiptPerSender(matching: ReceiptQuery()).map(\.id) == ["R3"])
            #expect(try await store.receipts(matching: ReceiptQuery(limit: 2)).map(\.id) == ["R3", "R2"])
        }
    }

    @Test("work in progress is leased to one owner at a time; another takes it only when the lease has run out", arguments: LedgerUnderTest.all)
    func leases(ledger: LedgerUnderTest) async throws {
        try await ledger.withFresh { directory, store in
            try await store.recordClaim(receipt("R1"), leasedTo: "instance-a")
            #expect(try await !store.lease(receiptId: "R1", to: "instance-b"), "another owner's live lease")
            #expect(try await store.lease(receiptId: "R1", to: "instance-a"), "the owner renews")
            try await store.recordClaim(receipt("R2", sha: "bb"))
            #expect(try await store.lease(receiptId: "R2", to: "instance-b"), "a receipt leased to nobody")
            #expect(try await !store.lease(receiptId: "R2", to: "instance-a"))
            var finished = try #require(try await store.receipt(id: "R1"))
            finished.state = .finished
            try await store.update(finished)
            #expect(try await !store.lease(receiptId: "R1", to: "instance-a"), "nothing to lease once finished")
            #expect(try await !store.lease(receiptId: "missing", to: "instance-a"))

            let run = JobRun(id: "J1", job: .dailySummary, runKey: "061014|2026-01-14", startedAt: Timestamp(secondsSinceEpoch: 1))
            #expect(try await store.claimJobRun(run, leasedTo: "instance-a"))
            #expect(try await !store.lease(jobRunId: "J1", to: "instance-b"))
            #expect(try await store.lease(jobRunId: "J1", to: "instance-a"))

            // A sender's folder: one owner at a time takes its files; a pass's senders are leased and
            // released together, each as if alone.
            #expect(try await store.lease(senders: ["061014"], to: "instance-a") == ["061014"])
            #expect(try await store.lease(senders: ["165901", "061014"], to: "instance-b") == ["165901"])
            #expect(try await store.lease(senders: ["061014", "061010"], to: "instance-a") == ["061014", "061010"])
            #expect(try await store.lease(senders: [], to: "instance-a") == [])
            try await store.release(senders: ["061014", "165901"], by: "instance-a")
            #expect(try await store.lease(senders: ["061014", "165901", "061010"], to: "instance-b") == ["061014", "165901"], "only the holder's leases are released")

            // Leases that run out at once: the holder died; anyone may take its work, one at a time.
            let short = directory.appendingPathComponent("short")
            try FileManager.default.createDirectory(at: short, withIntermediateDirectories: true)
            try await ledger.with(at: short, leaseSeconds: -1) { shortLived in
                try await shortLived.recordClaim(receipt("R1"), leasedTo: "instance-a")
                #expect(try await shortLived.lease(receiptId: "R1", to: "instance-b"))
                #expect(try await shortLived.claimJobRun(run, leasedTo: "instance-a"))
                #expect(try await shortLived.lease(jobRunId: "J1", to: "instance-b"))
                #expect(try await shortLived.lease(senders: ["061014"], to: "instance-a") == ["061014"])
                #expect(try await shortLived.lease(senders: ["061014"], to: "instance-b") == ["061014"])
            }
        }
    }

    @Test("a message quoting a NUL character from a file is kept whole, the NUL as U+FFFD", arguments: LedgerUnderTest.all)
    func nulInMessage(ledger: LedgerUnderTest) async throws {
        try await ledger.withFresh { directory, store in
            try await store.recordClaim(receipt("R1"))
            var judged = try #require(try await store.receipt(id: "R1"))
            judged.state = .finished
            judged.outcome = .rejected
            let issue = ValidationIssue(code: .unknownType, message: "The header row 'a\u{0}b' is not one of ours.", line: 1, recordKey: "k\u{0}")
            try await store.update(judged, recordingDeliveries: [], findings: ReceiptFindings(issues: [issue]), applying: .none)
            let kept = try await store.issues(receiptId: "R1")
            #expect(kept.map(\.message) == ["The header row 'a\u{FFFD}b' is not one of ours."])
            #expect(kept.map(\.recordKey) == ["k\u{FFFD}"])
            #expect(try await store.receipt(id: "R1")?.state == .finished)
        }
    }

    @Test("a SQLite ledger removed or replaced under a running process says so")
    func storageGone() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("ledger.sqlite").path
            let store = try SQLiteLedger(path: path)
            try await store.checkStorage()
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            await #expect(throws: LedgerError.self) { try await store.checkStorage() }
            _ = try SQLiteLedger(path: path)  // another file at the same path
            await #expect(throws: LedgerError.self) { try await store.checkStorage() }
        }
    }

    private func grade(_ ssid: String, period: String, receipt: String = "R1", deleted: Bool = false) -> HeldRecord {
        let values = [
            "ssid": ssid, "techCenterOrgId": "165901", "homeSchoolOrgId": "061010", "ktsCourseNumber": "WLD101", "sectionNumber": "AM-01",
            "gradeType": "GRADING_PERIOD", "gradingPeriodCode": period, "asOfDate": "2025-10-10",
        ]
        return HeldRecord(
            type: .grades, naturalKey: NaturalKey.of(.grades, values), senderOrgId: "165901", recipientOrgId: "061010", schoolYear: 2026,
            values: values, receiptId: receipt, acceptedAt: Timestamp(secondsSinceEpoch: 100), deleted: deleted)
    }

    @Test("held records are upserted by natural key and found by student and by day", arguments: LedgerUnderTest.all)
    func heldRecords(ledger: LedgerUnderTest) async throws {
        try await ledger.withFresh { directory, store in
            try await store.recordClaim(receipt("R1"))
            var judged = try #require(try await store.receipt(id: "R1"))
            judged.outcome = .accepted
            let enrollment = HeldRecord(
                type: .enrollment, naturalKey: "1234567890|165901|WLD101|AM-01|2025-08-13", senderOrgId: "061010", recipientOrgId: "165901",
                schoolYear: 2026, values: ["ssid": "1234567890", "techCenterOrgId": "165901", "entryDate": "2025-08-13", "note": "é, \"q\" \\ line\nbreak \u{1}"],
                receiptId: "R1", acceptedAt: Timestamp(secondsSinceEpoch: 100), deleted: false)
            let attendance = HeldRecord(
                type: .attendance, naturalKey: "1234567890|165901|2025-10-14|||", senderOrgId: "165901", recipientOrgId: "061010",
                schoolYear: 2026, values: ["ssid": "1234567890", "attendanceDate": "2025-10-14", "excuseStatus": "UK"], receiptId: "R1",
                acceptedAt: Timestamp(secondsSinceEpoch: 100), deleted: false)
            var deleted = enrollment
            deleted.deleted = true
            try await store.update(judged, recordingDeliveries: [], findings: ReceiptFindings(), applying: LedgerChanges(held: [enrollment, attendance]))
            #expect(try await store.heldRecord(.enrollment, key: enrollment.naturalKey) == enrollment)
            #expect(try await store.enrollments(ssid: "1234567890", center: "165901") == [enrollment])
            #expect(try await store.enrollments(ssid: "1234567890", center: "061014").isEmpty)
            #expect(try await store.attendance(recipientOrgId: "061010", date: "2025-10-14") == [attendance])
            // By date range: the bounds are included, in date then key order, other schools and types left out.
            var later = attendance
            later.naturalKey = "1234567890|165901|2025-10-16|||"
            later.values["attendanceDate"] = "2025-10-16"
            var earlierKey = attendance
            earlierKey.naturalKey = "0234567890|165901|2025-10-16|||"
            earlierKey.values["attendanceDate"] = "2025-10-16"
            var elsewhere = attendance
            elsewhere.naturalKey = "1234567891|165901|2025-10-15|||"
            elsewhere.recipientOrgId = "061020"
            elsewhere.values["attendanceDate"] = "2025-10-15"
            try await store.update(judged, recordingDeliveries: [], findings: ReceiptFindings(), applying: LedgerChanges(held: [later, earlierKey, elsewhere]))
            #expect(try await store.heldRecords(.attendance, recipientOrgId: "061010", datedFrom: "2025-10-14", through: "2025-10-16") == [attendance, earlierKey, later])
            #expect(try await store.heldRecords(.attendance, recipientOrgId: "061010", datedFrom: "2025-10-15", through: "2025-10-15").isEmpty)
            #expect(try await store.heldRecords(.attendance, recipientOrgId: "061020", datedFrom: "2025-10-01", through: "2025-10-31") == [elsewhere])
            #expect(try await store.heldRecords(.enrollment, recipientOrgId: "165901", datedFrom: "", through: "9999-12-31") == [enrollment])
            try await store.update(judged, recordingDeliveries: [], findings: ReceiptFindings(), applying: LedgerChanges(held: [deleted]))
            #expect(try await store.heldRecord(.enrollment, key: enrollment.naturalKey)?.deleted == true)
            #expect(try await store.heldRecords(.enrollment, recipientOrgId: "165901", datedFrom: "", through: "9999-12-31").map(\.deleted) == [true])
        }
    }

    @Test("a notification is recorded once per event and contact, taken by one owner at a time, and finished", arguments: LedgerUnderTest.all)
    func notifications(ledger: LedgerUnderTest) async throws {
        try await ledger.withFresh { directory, store in
            let at = { (seconds: Int64) in Timestamp(secondsSinceEpoch: seconds) }
            let event = NotificationEvent(
                id: "file-rejected:R1", kind: .fileRejected, orgId: "061010", subject: "KTS Exchange: f.csv was rejected", body: "Line one\nline \"two\"\n",
                facts: ["receiptId": "R1", "file": "f.csv"])
            let email = PartnerNotification(event: event, contact: "email:clerk@example.org", at: at(1000))
            let hook = PartnerNotification(event: event, contact: "webhook:https://example.org/hook", at: at(1001))
            #expect(try await store.recordNotifications([email, hook]) == 2)
            #expect(try await store.recordNotifications([email, hook]) == 0, "an event is recorded once per contact")
            #expect(try await store.notifications(orgId: "061010", limit: 10).map(\.contact) == [hook.contact, email.contact])
            #expect(try await store.notifications(orgId: "061020", limit: 10).isEmpty)
            #expect(try await store.notifications(orgId: nil, limit: 1).count == 1)
            #expect(try await store.takeDueNotifications(at: at(999), owner: "a", limit: 10).isEmpty, "not due yet")
            let taken = try await store.takeDueNotifications(at: at(1002), owner: "a", limit: 10)
            #expect(taken == [email, hook])
            #expect(try await store.takeDueNotifications(at: at(1003), owner: "b", limit: 10).isEmpty, "leased to a")
            // A failed attempt waits; a sent one is done; a lease run out lets another owner take what is left.
            var retry = taken[0]
            retry.attempts = 1
            retry.nextAttemptAt = at(1100)
            retry.lastError = "sendmail exited 75"
            try await store.finishNotificationAttempt(retry)
            var sent = taken[1]
            sent.attempts = 1
            sent.state = .sent
            sent.sentAt = at(1004)
            try await store.finishNotificationAttempt(sent)
            #expect(try await store.takeDueNotifications(at: at(1050), owner: "b", limit: 10).isEmpty)
            let again = try await store.takeDueNotifications(at: at(1100), owner: "b", limit: 10)
            #expect(again.map(\.contact) == [email.contact] && again.first?.attempts == 1 && again.first?.lastError == "sendmail exited 75")
            let afterLease = try await store.takeDueNotifications(at: at(1100 + store.leaseSeconds + 1), owner: "c", limit: 10)
            #expect(afterLease.map(\.contact) == [email.contact], "b's lease ran out")
            let stored = try await store.notifications(orgId: nil, limit: 10)
            #expect(stored.first { $0.contact == hook.contact }?.state == .sent)
            #expect(stored.first { $0.contact == hook.contact }?.sentAt == at(1004))
            #expect(stored.first { $0.contact == hook.contact }?.body == event.body)
            #expect(stored.first { $0.contact == hook.contact }?.facts == #"{"file": "f.csv", "receiptId": "R1"}"#)
        }
    }

    @Test("a grade posting run claims waiting grades once; a changed grade waits again", arguments: LedgerUnderTest.all)
    func gradePostingRuns(ledger: LedgerUnderTest) async throws {
        try await ledger.withFresh { directory, store in
            try await store.recordClaim(receipt("R1"))
            var judged = try #require(try await store.receipt(id: "R1"))
            judged.outcome = .accepted
            try await store.update(judged, recordingDeliveries: [], findings: ReceiptFindings(), applying: LedgerChanges(held: [grade("1", period: "Q1"), grade("2", period: "Q1")]))
            var run = JobRun(id: "J1", job: .gradePosting, runKey: "night:2025-10-15", startedAt: Timestamp(secondsSinceEpoch: 200))
            #expect(try await store.claimJobRun(run))
            #expect(try await !store.claimJobRun(JobRun(id: "J2", job: .gradePosting, runKey: "night:2025-10-15", startedAt: Timestamp(secondsSinceEpoch: 201))))
            #expect(try await store.gradesClaimed(by: "J1").map(\.postedBefore) == [false, false])
            #expect(try await store.unfinishedJobRuns().map(\.id) == ["J1"])
            run.state = .writing
            run.files = 1
            let delivery = Delivery(receiptId: "J1", recipientOrgId: "061010", fileName: "g.xml", deliveredAt: Timestamp(secondsSinceEpoch: 202))
            try await store.updateJobRun(run, recordingDeliveries: [delivery], decision: nil)
            #expect(try await store.deliveries(sourceId: "J1") == [delivery])
            #expect(try await store.gradesClaimed(by: "J1").isEmpty)
            // A new version of grade 1 waits for the next run, which says it was posted before.
            try await store.update(judged, recordingDeliveries: [], findings: ReceiptFindings(), applying: LedgerChanges(held: [grade("1", period: "Q1", deleted: true)]))
            #expect(try await store.claimJobRun(JobRun(id: "J3", job: .gradePosting, runKey: "manual:x", startedAt: Timestamp(secondsSinceEpoch: 300))))
            let next = try await store.gradesClaimed(by: "J3")
            #expect(next.map(\.postedBefore) == [true])
            #expect(next.first?.grade.deleted == true)
            run.state = .finished
            try await store.updateJobRun(run, recordingDeliveries: [], decision: nil)
            #expect(try await store.jobRun(.gradePosting, runKey: "night:2025-10-15")?.state == .finished)
            #expect(try await store.jobRuns(.gradePosting).map(\.id) == ["J1", "J3"])
            #expect(try await store.latestRunKey(.gradePosting, prefix: "night:") == "night:2025-10-15")
            #expect(try await store.latestRunKey(.unknownSync, prefix: "night:") == nil)
        }
    }

    @Test(
        "one input routed to several receivers: each receiver's file is its own delivery, under the same name; the accepted records and their trail are kept",
        arguments: LedgerUnderTest.all)
    func deliveryIdentityAndTrail(ledger: LedgerUnderTest) async throws {
        try await ledger.withFresh { directory, store in
            try await store.recordClaim(receipt("R1", at: 100))
            try await store.recordClaim(receipt("R2", at: 5_000))
            var judged = try #require(try await store.receipt(id: "R1"))
            judged.outcome = .accepted
            judged.state = .writing
            func attendance(_ id: String, school: String) -> HeldRecord {
                HeldRecord(
                    type: .attendance, naturalKey: "\(id)|165901|2025-10-14|||", senderOrgId: "165901", recipientOrgId: school,
                    schoolYear: 2026, values: ["recordId": id, "ssid": "1234567890"], receiptId: "R1",
                    acceptedAt: Timestamp(secondsSinceEpoch: 100), deleted: false)
            }
            let records = [attendance("a1", school: "061010"), attendance("a2", school: "061020"), attendance("a3", school: "061010")]
            let name = "KTSX_ATT_165901_20251014T020000_abc123.xml"
            func reference(_ id: String) -> RecordReference { RecordReference(receiptId: "R1", recordId: id) }
            let deliveries = [
                Delivery(receiptId: "R1", recipientOrgId: "061010", fileName: name, deliveredAt: Timestamp(secondsSinceEpoch: 110),
                         records: [reference("a1"), reference("a3")]),
                Delivery(receiptId: "R1", recipientOrgId: "061020", fileName: name, deliveredAt: Timestamp(secondsSinceEpoch: 110),
                         records: [reference("a2")]),
                Delivery(receiptId: "R1", recipientOrgId: "165901", fileName: "in.xml.ack.xml", deliveredAt: Timestamp(secondsSinceEpoch: 110)),
            ]
            try await store.update(judged, recordingDeliveries: deliveries, findings: ReceiptFindings(), applying: LedgerChanges(held: records))
            // Both receivers' files are recorded under the same name, each waiting in its own outbound/.
            let recorded = try await store.deliveries(sourceId: "R1")
            #expect(recorded.map(\.recipientOrgId) == ["061010", "061020", "165901"])
            #expect(recorded.allSatisfy { $0.records.isEmpty }, "lists leave the trail out")
            #expect(try await store.isPendingDelivery(recipientOrgId: "061020", fileName: name))
            #expect(try await store.markPickedUp(recipientOrgId: "061010", fileName: name, at: Timestamp(secondsSinceEpoch: 120)))
            #expect(try await store.isPendingDelivery(recipientOrgId: "061020", fileName: name))
            #expect(try await store.pendingDeliveries().map(\.recipientOrgId) == ["061020", "165901"])
            // Asked together: only the names that still wait, each in its own participant's outbound/.
            let asked = ["061010", "061020", "061030"].map { OutboundName(recipientOrgId: $0, fileName: name) }
                + [OutboundName(recipientOrgId: "165901", fileName: "in.xml.ack.xml"), OutboundName(recipientOrgId: "165901", fileName: name)]
            #expect(
                try await store.pendingDeliveries(among: asked)
                    == [OutboundName(recipientOrgId: "061020", fileName: name), OutboundName(recipientOrgId: "165901", fileName: "in.xml.ack.xml")])
            #expect(try await store.pendingDeliveries(among: []).isEmpty)
            // Recorded again (a retry), nothing doubles.
            try await store.update(judged, recordingDeliveries: deliveries, findings: ReceiptFindings(), applying: .none)
            #expect(try await store.deliveries(sourceId: "R1").count == 3)

            let accepted = try await store.acceptedRecords(claimedFrom: nil, before: nil)
            #expect(accepted.map(\.reference.recordId) == ["a1", "a2", "a3"])
            #expect(accepted.map(\.recipientOrgId) == ["061010", "061020", "061010"])
            #expect(accepted.allSatisfy { $0.type == .attendance && !$0.deleted })
            #expect(try await store.acceptedRecords(claimedFrom: Timestamp(secondsSinceEpoch: 1_000), before: nil).isEmpty)
            let trail = try await store.trail(claimedFrom: Timestamp(secondsSinceEpoch: 50), before: Timestamp(secondsSinceEpoch: 150))
            #expect(Set(trail) == [
                TrailEntry(sourceId: "R1", recipientOrgId: "061010", fileName: name, record: reference("a1")),
                TrailEntry(sourceId: "R1", recipientOrgId: "061010", fileName: name, record: reference("a3")),
                TrailEntry(sourceId: "R1", recipientOrgId: "061020", fileName: name, record: reference("a2")),
            ])
            #expect(trail.count == 3)
            #expect(Set(try await store.trail(sourceId: "R1")) == Set(trail))
            #expect(try await store.trail(claimedFrom: nil, before: Timestamp(secondsSinceEpoch: 100)).isEmpty)
            #expect(try await store.deliveries(deliveredFrom: Timestamp(secondsSinceEpoch: 110), before: Timestamp(secondsSinceEpoch: 111)).count == 3)
            #expect(try await store.deliveries(deliveredFrom: nil, before: Timestamp(secondsSinceEpoch: 110)).isEmpty)
            // A job run's trail names records of earlier receipts.
            var run = JobRun(id: "J1", job: .unknownSync, runKey: "061010|2025-10-14", startedAt: Timestamp(secondsSinceEpoch: 200))
            #expect(try await store.claimJobRun(run))
            run.state = .writing
            try await store.updateJobRun(
                run, recordingDeliveries: [
                    Delivery(receiptId: "J1", recipientOrgId: "061010", fileName: "KTSX_UKA_061010.xml",
                             deliveredAt: Timestamp(secondsSinceEpoch: 200), records: [reference("a1")]),
                ], decision: nil)
            #expect(try await store.jobRun(id: "J1")?.state == .writing)
            #expect(try await store.jobRun(id: "missing") == nil)
            #expect(try await store.trail(sourceId: "J1").map(\.record) == [reference("a1")])
            #expect(try await store.trail(claimedFrom: nil, before: nil).count == 4)
        }
    }

    @Test("writes that come at once are each recorded, or refused alone: a duplicate among them takes nothing else with it", arguments: LedgerUnderTest.all)
    func writesAtOnce(ledger: LedgerUnderTest) async throws {
        try await ledger.withFresh { _, store in
            let ids = (0..<40).map { "R\($0)" } + ["R7"]
            let refused = await withTaskGroup(of: String?.self) { group in
                for (index, id) in ids.enumerated() {
                    group.addTask {
                        do {
                            try await store.recordClaim(receipt(id, sha: "\(index)"), leasedTo: "me")
                            var judged = receipt(id, sha: "\(index)")
                            judged.state = .finished
                            judged.outcome = .rejected
                            try await store.update(judged, recordingDeliveries: [], findings: ReceiptFindings(), applying: LedgerChanges())
                            return nil
                        } catch let error as LedgerError {
                            return error.code == .duplicateReceipt ? id : "\(id): \(error)"
                        } catch {
                            return "\(id): \(error)"
                        }
                    }
                }
                return await group.reduce(into: [String]()) { refused, id in if let id { refused.append(id) } }
            }
            #expect(refused == ["R7"])
            let stored = try await store.receipts(matching: ReceiptQuery())
            #expect(stored.count == 40 && stored.allSatisfy { $0.state == .finished })
        }
    }

    @Test("a batch's held state, asked at once, is what the single lookups answer one by one", arguments: LedgerUnderTest.all)
    func heldStateInOneGo(ledger: LedgerUnderTest) async throws {
        try await ledger.withFresh { directory, store in
            try await store.recordClaim(receipt("R1"))
            var judged = try #require(try await store.receipt(id: "R1"))
            judged.outcome = .accepted
            // Two students, each enrolled in two sections at one center (one of them deleted) and one at
            // another; attendance and grades; waivers of two centers in two years.
            var held: [HeldRecord] = []
            for ssid in ["1000000001", "1000000002"] {
                for (center, section, deleted) in [("165901", "AM-01", false), ("165901", "PM-02", true), ("061014", "AM-01", false)] {
                    let values = [
                        "ssid": ssid, "techCenterOrgId": center, "ktsCourseNumber": "WLD101", "sectionNumber": section,
                        "entryDate": "2025-08-13", "homeSchoolOrgId": "061010",
                    ]
                    held.append(
                        HeldRecord(
                            type: .enrollment, naturalKey: NaturalKey.of(.enrollment, values), senderOrgId: "061010", recipientOrgId: center,
                            schoolYear: 2026, values: values, receiptId: "R1", acceptedAt: Timestamp(secondsSinceEpoch: 100), deleted: deleted))
                }
                held.append(grade(ssid, period: "Q1"))
            }
            let waivers = [("W1", "165901", 2026), ("W2", "165901", 2027), ("W3", "061014", 2027), ("W4", "165901", 2027)].map { id, center, year in
                WaiverRequest(
                    id: id, centerOrgId: center, schoolYear: year, values: [:], receiptId: "R1", receivedAt: Timestamp(secondsSinceEpoch: 100))
            }
            try await store.update(judged, recordingDeliveries: [], findings: ReceiptFindings(), applying: LedgerChanges(held: held, waivers: waivers))

            var request = HeldStateRequest()
            request.keys[.enrollment] = Set(held.filter { $0.type == .enrollment }.map(\.naturalKey) + ["0000000000|165901|X|Y|2025-08-13"])
            request.keys[.grades] = Set(held.filter { $0.type == .grades }.map(\.naturalKey))
            request.keys[.attendance] = ["no-such-key"]
            request.students = [
                StudentAtCenter(ssid: "1000000001", center: "165901"), StudentAtCenter(ssid: "1000000002", center: "061014"),
                StudentAtCenter(ssid: "1000000003", center: "165901"),
            ]
            request.centerYears = [
                CenterYear(center: "165901", schoolYear: 2027), CenterYear(center: "061014", schoolYear: 2027),
                CenterYear(center: "061014", schoolYear: 2026),
            ]
            let batched = try await store.heldState(for: request)
            #expect(batched == (try await store.answerOneByOne(request)))
            #expect(batched.records[.enrollment]?.count == 6)
            #expect(batched.enrollments[StudentAtCenter(ssid: "1000000001", center: "165901")]?.count == 2)
            #expect(batched.enrollments[StudentAtCenter(ssid: "1000000003", center: "165901")] == [])
            #expect(batched.waivers[CenterYear(center: "165901", schoolYear: 2027)]?.map(\.id) == ["W2", "W4"])
            #expect(batched.waivers[CenterYear(center: "061014", schoolYear: 2026)] == [])
            #expect(try await store.heldState(for: HeldStateRequest()) == HeldState())
        }
    }

    @Test("waiver requests are kept and decided", arguments: LedgerUnderTest.all)
    func waivers(ledger: LedgerUnderTest) async throws {
        try await ledger.withFresh { directory, store in
            try await store.recordClaim(receipt("R1", sender: "165901"))
            var judged = try #require(try await store.receipt(id: "R1"))
            judged.outcome = .accepted
            let request = WaiverRequest(
                id: "W1", centerOrgId: "165901", schoolYear: 2027, values: ["reasonCode": "ALT_SIS"], receiptId: "R1",
                receivedAt: Timestamp(secondsSinceEpoch: 100))
            try await store.update(judged, recordingDeliveries: [], findings: ReceiptFindings(), applying: LedgerChanges(waivers: [request]))
            #expect(try await store.waivers(center: "165901", schoolYear: 2027) == [request])
            #expect(try await store.waivers(center: "165901", schoolYear: 2026).isEmpty)
            var decided = request
            decided.status = .approved
            decided.decisionReason = "ok"
            decided.decidedAt = Timestamp(secondsSinceEpoch: 300)
            var run = JobRun(id: "J1", job: .waiverDecision, runKey: "W1", startedAt: Timestamp(secondsSinceEpoch: 300))
            #expect(try await store.claimJobRun(run))
            var skipping = run
            skipping.state = .finished
            await #expect(throws: LedgerError.self) { try await store.updateJobRun(skipping, recordingDeliveries: [], decision: nil) }
            run.state = .writing
            try await store.updateJobRun(run, recordingDeliveries: [], decision: decided)
            #expect(try await store.allWaivers() == [decided])
            // A second decision, or a second move to writing, changes nothing.
            var second = JobRun(id: "J2", job: .waiverDecision, runKey: "W1-again", startedAt: Timestamp(secondsSinceEpoch: 301))
            #expect(try await store.claimJobRun(second))
            second.state = .writing
            var denied = decided
            denied.status = .denied
            await #expect(throws: LedgerError.self) { try await store.updateJobRun(second, recordingDeliveries: [], decision: denied) }
            #expect(try await store.allWaivers() == [decided])
            #expect(try await store.jobRun(.waiverDecision, runKey: "W1-again")?.state == .claimed)
            await #expect(throws: LedgerError.self) { try await store.updateJobRun(run, recordingDeliveries: [], decision: nil) }
        }
    }

    @Test("an instance name is held by one SQLite ledger user at a time, until it closes")
    func sqliteInstanceName() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("ledger.sqlite").path
            let first = try SQLiteLedger(path: path)
            #expect(try await first.holdInstanceName("node-1"))
            #expect(try await first.holdInstanceName("node-1"), "held already by this one")
            #expect(try await !SQLiteLedger(path: path).holdInstanceName("node-1"), "another holder on the same ledger")
            #expect(try await SQLiteLedger(path: path).holdInstanceName("node-2"))
        }
    }

    @Test("a stored value this ktsx does not know (a newer binding, a damaged row) is refused with its column, not read as a default")
    func sqliteUnknownStoredValue() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("ledger.sqlite").path
            try await SQLiteLedger(path: path).recordClaim(receipt("R1"))
            let result = try runProcess("sqlite3", [path, "UPDATE receipt SET binding = 'json-by-ktsx-9' WHERE id = 'R1'"])
            #expect(result.status == 0, "\(result.standardError)")
            do {
                _ = try await SQLiteLedger(path: path).receipt(id: "R1")
                Issue.record("an unknown binding was read")
            } catch {
                let refused = error as? LedgerError
                #expect(refused?.code == .unknownStoredValue)
                #expect(refused?.message.contains("receipt.binding") == true && refused?.message.contains("json-by-ktsx-9") == true, "\(error)")
            }
        }
    }

    @Test("only a key already recorded reads as a duplicate, keeping SQLite's error; another constraint (a negative size) is a storage fault")
    func sqliteConstraintKinds() async throws {
        try await withTemporaryDirectory { directory in
            let ledger = try SQLiteLedger(path: directory.appendingPathComponent("ledger.sqlite").path)
            try await ledger.recordClaim(receipt("R1"))
            do {
                try await ledger.recordClaim(receipt("R1"))
                Issue.record("a receipt id was recorded twice")
            } catch {
                #expect((error as? LedgerError)?.code == .duplicateReceipt, "\(error)")
                #expect((error as? LedgerError)?.cause != nil, "the driver's error is kept")
            }
            var broken = receipt("R2")
            broken.sizeBytes = -1
            do {
                try await ledger.recordClaim(broken)
                Issue.record("a negative size was recorded")
            } catch {
                #expect((error as? LedgerError)?.code == .storage, "\(error)")
            }
        }
    }

    @Test("the SQLite ledger survives reopening and refuses a database from a newer ktsx")
    func sqliteReopen() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("ledger.sqlite").path
            try await SQLiteLedger(path: path).recordClaim(receipt("R1"))
            #expect(try await SQLiteLedger(path: path).receipt(id: "R1")?.id == "R1")
            let result = try runProcess("sqlite3", [path, "INSERT INTO grdb_migrations VALUES ('9-from-the-future')"])
            #expect(result.status == 0, "\(result.standardError)")
            do {
                _ = try SQLiteLedger(path: path)
                Issue.record("a newer schema was not refused")
            } catch {
                #expect((error as? LedgerError)?.code == .newerSchema)
            }
        }
    }
}
