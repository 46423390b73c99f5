import ExchangeCore
import ExchangeLedgerSQLite
import ExchangeRules
import ExchangeRuntime
import ExchangeTesting
import Foundation
import Logging
import Synchronization
import Testing

/// `ktsx retire` at the ledger: a closed year's rows leave for its archive, whole, and nothing else moves.
@Suite("Retiring a school year: its rows move to the archive, the rest of the ledger stays as it was")
struct YearRetirementTests {
    static let ledgers = LedgerUnderTest.all.filter { $0.description != "in memory" }

    /// Instants inside school years 2025 and 2026, and the morning 2025 is retired.
    static let january2025 = Timestamp(secondsSinceEpoch: 1_736_935_200)  // 2025-01-15T10:00:00Z
    static let lastHourOf2025 = Timestamp(secondsSinceEpoch: 1_751_342_400 - 3_600)  // 2025-07-01T03:00:00Z: June 30, 23:00 Eastern
    static let october2025 = Timestamp(secondsSinceEpoch: 1_760_522_400)  // 2025-10-15T10:00:00Z
    static let retiredOn = Timestamp(secondsSinceEpoch: 1_761_990_000)  // 2025-11-01T09:40:00Z

    static func held(_ type: ExchangeType, _ ssid: String, year: Int, receipt: String, day: String) -> HeldRecord {
        var values = [
            "recordId": "\(receipt)-\(type.code)-\(ssid)", "ssid": ssid, "techCenterOrgId": "165901", "homeSchoolOrgId": "061010",
            "ktsCourseNumber": "WLD101", "sectionNumber": "AM-01", "entryDate": day, "attendanceDate": day, "schoolYear": "\(year)",
        ]
        if type == .grades {
            values["gradeType"] = "GRADING_PERIOD"
            values["gradingPeriodCode"] = "Q\(year)"
        }
        return HeldRecord(
            type: type, naturalKey: NaturalKey.of(type, values), senderOrgId: type == .enrollment ? "061010" : "165901",
            recipientOrgId: type == .enrollment ? "165901" : "061010", schoolYear: year, values: values, receiptId: receipt,
            acceptedAt: Timestamp(secondsSinceEpoch: 100), deleted: false)
    }

    /// Records a finished receipt with its held records, findings and deliveries (each carrying every
    /// record of the receipt).
    static func judged(
        _ id: String, at time: Timestamp, sha: String, outcome: FileOutcome, in store: any LedgerStore, held: [HeldRecord] = [],
        failing: Int = 0, deliveredTo: [(String, picked: Bool)] = [], ackWaiting: Bool = false
    ) async throws {
        var receipt = Receipt(id: id, senderOrgId: "165901", originalName: "\(id).csv", sizeBytes: 10, sha256: sha, claimedAt: time)
        try await store.recordClaim(receipt)
        receipt.state = .finished
        receipt.outcome = outcome
        receipt.finishedAt = time
        let references = held.map { RecordReference(receiptId: id, recordId: $0["recordId"]) }
        let deliveries = deliveredTo.map { recipient, picked in
            Delivery(
                receiptId: id, recipientOrgId: recipient, fileName: "\(id)-to-\(recipient).csv", deliveredAt: time,
                pickedUpAt: picked ? Timestamp(secondsSinceEpoch: time.secondsSinceEpoch + 60) : nil, records: references)
        } + (ackWaiting ? [Delivery(receiptId: id, recipientOrgId: "165901", fileName: "\(id).csv.ack.csv", deliveredAt: time)] : [])
        let findings = ReceiptFindings(
            issues: (0..<failing).map { ValidationIssue(code: .init(rawValue: "ATT-03"), message: "day \($0)", line: $0 + 2, field: "attendanceDate") },
            rejectedRecords: (0..<failing).map { RejectedRecord(receiptId: id, line: $0 + 2, recordKey: "k\($0)", codes: ["ATT-03"]) })
        try await store.update(receipt, recordingDeliveries: deliveries, findings: findings, applying: LedgerChanges(held: held))
    }

    /// What the ledger answers about a receipt and its held records, to compare before and after.
    struct Answers: Equatable {
        var receipt: Receipt?
        var issues: [ValidationIssue]
        var rejected: [RejectedRecord]
        var deliveries: [Delivery]
        var trail: [TrailEntry]
        var held: [HeldRecord?]
    }

    static func answers(about id: String, held: [HeldRecord], in store: any LedgerStore) async throws -> Answers {
        var records: [HeldRecord?] = []
        for record in held { records.append(try await store.heldRecord(record.type, key: record.naturalKey)) }
        return Answers(
            receipt: try await store.receipt(id: id), issues: try await store.issues(receiptId: id),
            rejected: try await store.rejectedRecords(receiptId: id), deliveries: try await store.deliveries(sourceId: id),
            trail: try await store.trail(sourceId: id), held: records)
    }

    /// An archive that fails on its `failOn`-th batch: a retirement cut short.
    final class FailingArchive: RetiredYearArchive {
        let inner: YearArchive
        let failOn: Int
        let stored = Mutex(0)
        init(_ inner: YearArchive, failOn: Int) {
            self.inner = inner
            self.failOn = failOn
        }
        func store(_ rows: RetiredRows) throws(LedgerError) {
            let count = stored.withLock { count in
                count += 1
                return count
            }
            if count == failOn { throw LedgerError(.storage, "the disk filled (planted)") }
            try inner.store(rows)
        }
        func finish(_ year: RetiredYear) throws(LedgerError) { try inner.finish(year) }
    }

    @Test(
        "a year with work in hand is refused; retired, its rows are in the archive exactly as they were, the next year's answers are unchanged, its receipts and duplicates stay; cut short, a second run finishes it",
        arguments: ledgers)
    func retireAYear(ledger: LedgerUnderTest) async throws {
        try await ledger.withFresh { directory, anyStore in
            let store = try #require(anyStore as? any RetiringLedger)
            let old = [
                Self.held(.enrollment, "2100000001", year: 2025, receipt: "A25", day: "2024-08-14"),
                Self.held(.attendance, "2100000001", year: 2025, receipt: "A25", day: "2025-01-14"),
                Self.held(.grades, "2100000001", year: 2025, receipt: "A25", day: "2025-01-14"),
            ]
            let current = [
                Self.held(.enrollment, "2100000001", year: 2026, receipt: "C26", day: "2025-08-13"),
                Self.held(.attendance, "2100000001", year: 2026, receipt: "C26", day: "2025-10-14"),
            ]
            try await Self.judged(
                "A25", at: Self.january2025, sha: "a", outcome: .acceptedWithErrors, in: store, held: old, failing: 2,
                deliveredTo: [("061010", true), ("061020", false)], ackWaiting: true)
            try await Self.judged("B25", at: Self.lastHourOf2025, sha: "b", outcome: .rejected, in: store, failing: 3)
            try await Self.judged(
                "C26", at: Self.october2025, sha: "c", outcome: .acceptedWithErrors, in: store, held: current, failing: 1,
                deliveredTo: [("061010", true)])
            var unfinished = Receipt(id: "U25", senderOrgId: "165901", originalName: "u.csv", sizeBytes: 1, sha256: "u", claimedAt: Self.january2025)
            try await store.recordClaim(unfinished)

            let year = try SchoolYearClosing.plan(schoolYear: 2025, archiveFile: directory.appendingPathComponent("2025.sqlite").path, now: Self.retiredOn).get()
            #expect(year.contains(claimedAt: Self.lastHourOf2025) && !year.contains(claimedAt: Self.october2025))
            let opener: @Sendable (RetiredYear) throws(LedgerError) -> any RetiredYearArchive = { year throws(LedgerError) in
                try YearArchive(path: year.archiveFile, for: year)
            }
            // Work in hand keeps the year: a file being judged, a grade waiting for its posting, a file of its
            // records waiting for pickup (an acknowledgement waiting does not).
            let blocked = try await SchoolYearRetirement(ledger: store, openArchive: opener).run(year, now: { Self.retiredOn })
            #expect(
                blocked == .blocked(
                    RetirementBlockers(
                        unfinishedReceipts: 1, gradesWaitingForPosting: 1, filesWaitingForPickup: 1,
                        waitingFiles: [OutboundName(recipientOrgId: "061020", fileName: "A25-to-061020.csv")])))
            #expect(try await store.retiredYears().isEmpty, "nothing recorded")
            #expect(!FileManager.default.fileExists(atPath: year.archiveFile), "no archive made")
            unfinished.state = .finished
            unfinished.outcome = .rejected
            try await store.update(unfinished)
            var posting = JobRun(id: "J1", job: .gradePosting, runKey: "night:2025-01-16", startedAt: Self.january2025)
            #expect(try await store.claimJobRun(posting))
            posting.state = .writing
            try await store.updateJobRun(posting, recordingDeliveries: [], decision: nil)
            #expect(try await store.markPickedUp(recipientOrgId: "061020", fileName: "A25-to-061020.csv", at: Self.retiredOn))

            // What will move, and what must not change.
            var expected: [RetiredTable: [[LedgerValue]]] = [:]
            for table in RetiredTable.allCases {
                expected[table] = try await store.rowsToRetire(table, of: year, after: nil, limit: 1_000).rows.sorted { "\($0)" < "\($1)" }
            }
            #expect(expected[.heldRecord]?.count == 3 && expected[.acceptedRecord]?.count == 3 && expected[.deliveredRecord]?.count == 6)
            #expect(expected[.rejectedRecord]?.count == 5 && expected[.receiptIssue]?.count == 5 && expected[.delivery]?.count == 2)
            let currentBefore = try await Self.answers(about: "C26", held: current, in: store)
            let currentTrail = try await store.trail(claimedFrom: year.claimedBefore, before: nil)

            // Cut short on its third batch (one row a batch): every row is in the ledger or the archive.
            let archive = try YearArchive(path: year.archiveFile, for: year)
            let cut = SchoolYearRetirement(ledger: store, batchSize: 1) { _ throws(LedgerError) in FailingArchive(archive, failOn: 3) }
            await #expect(throws: LedgerError.self) { _ = try await cut.run(year, now: { Self.retiredOn }) }
            #expect(try await store.retiredYears().map(\.finishedAt) == [nil], "recorded as being retired")
            let archived = try archive.rows(.heldRecord).rows.count
            let left = try await store.rowsToRetire(.heldRecord, of: year, after: nil, limit: 1_000).rows.count
            #expect(archived == 2 && left == 1)

            // Run again (a later morning): it goes on in the archive it began and finishes.
            var later = year
            later.startedAt = Timestamp(secondsSinceEpoch: Self.retiredOn.secondsSinceEpoch + 86_400)
            later.archiveFile = directory.appendingPathComponent("elsewhere.sqlite").path
            let finishedAt = later.startedAt
            let outcome = try await SchoolYearRetirement(ledger: store, batchSize: 2, openArchive: opener).run(later, now: { finishedAt })
            guard case .retired(let retired, let moved) = outcome else {
                Issue.record("not retired: \(outcome)")
                return
            }
            #expect(retired.archiveFile == year.archiveFile && retired.startedAt == year.startedAt)
            #expect(moved[.heldRecord] == 1)
            for table in RetiredTable.allCases {
                #expect(try archive.rows(table).rows.sorted { "\($0)" < "\($1)" } == expected[table], "\(table)")
                #expect(try await store.rowsToRetire(table, of: year, after: nil, limit: 10).rows.isEmpty, "\(table) left in the ledger")
            }
            #expect(!FileManager.default.fileExists(atPath: later.archiveFile))

            // The next year answers as before; the retired year keeps its receipts and its duplicates.
            #expect(try await Self.answers(about: "C26", held: current, in: store) == currentBefore)
            #expect(try await store.trail(claimedFrom: year.claimedBefore, before: nil) == currentTrail)
            #expect(try await store.receipt(id: "A25")?.outcome == .acceptedWithErrors)
            #expect(try await store.receipt(id: "B25")?.outcome == .rejected)
            #expect(try await store.firstAccepted(sender: "165901", sha256: "a")?.id == "A25")
            #expect(try await store.issues(receiptId: "A25").isEmpty)
            #expect(try await store.rejectedRecords(receiptId: "B25").isEmpty)
            #expect(try await store.deliveries(sourceId: "A25").map(\.recipientOrgId) == ["165901"], "an acknowledgement still waiting stays")
            #expect(try await store.heldRecord(.enrollment, key: old[0].naturalKey) == nil)
            #expect(try await store.retiredYears() == [RetiredYear(
                schoolYear: 2025, claimedFrom: year.claimedFrom, claimedBefore: year.claimedBefore, archiveFile: year.archiveFile,
                startedAt: year.startedAt, finishedAt: later.startedAt)])
            let again = try await SchoolYearRetirement(ledger: store, openArchive: opener).run(year, now: { Self.retiredOn })
            guard case .retiredBefore = again else {
                Issue.record("retired twice: \(again)")
                return
            }
            // The archive is a file of its own, for its owner only, and refuses to take another year.
            var info = stat()
            #expect(stat(year.archiveFile, &info) == 0 && info.st_mode & 0o777 == 0o600)
            var other = year
            other.schoolYear = 2024
            #expect(throws: LedgerError.self) { _ = try YearArchive(path: year.archiveFile, for: other) }
        }
    }

    @Test("a year is retired from the July 1 after it, Kentucky time; its receipts are those claimed from midnight to midnight Eastern")
    func closingDay() throws {
        let june30Late = Timestamp(secondsSinceEpoch: 1_751_342_400 - 60)  // 2025-07-01T03:59Z: June 30, 23:59 EDT
        #expect(throws: SchoolYearClosing.Refusal.stillOpen(lastDay: LocalDate("2025-06-30")!)) {
            try SchoolYearClosing.plan(schoolYear: 2025, archiveFile: "a", now: june30Late).get()
        }
        let year = try SchoolYearClosing.plan(schoolYear: 2025, archiveFile: "a", now: Timestamp(secondsSinceEpoch: 1_751_342_400)).get()
        #expect(year.claimedFrom.iso8601 == "2024-07-01T04:00:00Z" && year.claimedBefore.iso8601 == "2025-07-01T04:00:00Z")
        #expect(throws: SchoolYearClosing.Refusal.unknownYear(25)) { try SchoolYearClosing.plan(schoolYear: 25, archiveFile: "a", now: june30Late).get() }
    }

    @Test("keep_school_years: the service retires the year that falls out on July 1 (once), waits while work of it is in hand, and stops between batches on shutdown")
    func serviceRetiresTheYearPastKeeping() async throws {
        #expect(SchoolYearClosing.yearPastKeeping(1, now: Timestamp(secondsSinceEpoch: 1_751_342_400 - 60)) == 2024)
        #expect(SchoolYearClosing.yearPastKeeping(1, now: Timestamp(secondsSinceEpoch: 1_751_342_400)) == 2025)
        #expect(SchoolYearClosing.yearPastKeeping(3, now: Self.retiredOn) == 2023)
        try await withTemporaryDirectory { directory in
            let store = try SQLiteLedger(path: directory.appendingPathComponent("ledger.sqlite").path)
            let old = (1...7).map { Self.held(.attendance, "210000000\($0)", year: 2025, receipt: "A25", day: "2025-01-14") }
            try await Self.judged("A25", at: Self.january2025, sha: "a", outcome: .accepted, in: store, held: old)
            let unfinished = Receipt(id: "U25", senderOrgId: "165901", originalName: "u.csv", sizeBytes: 1, sha256: "u", claimedAt: Self.january2025)
            try await store.recordClaim(unfinished)
            let folder = directory.appendingPathComponent("retired").path
            let retirer = SchoolYearRetirer(
                ledger: store, keep: 1, archiveFolder: folder,
                openArchive: { year throws(LedgerError) in try YearArchive(path: year.archiveFile, for: year) }, now: { Self.retiredOn },
                logger: Logger(label: "test"))
            #expect(await retirer.retireDue() == .blocked(RetirementBlockers(unfinishedReceipts: 1, gradesWaitingForPosting: 0, filesWaitingForPickup: 0)))
            var finished = unfinished
            finished.state = .finished
            finished.outcome = .rejected
            try await store.update(finished)
            // A shutdown between batches leaves the year being retired; the next check finishes it.
            let plan = try SchoolYearClosing.plan(schoolYear: 2025, archiveFile: "\(folder)/school-year-2025.sqlite", now: Self.retiredOn).get()
            let batches = Mutex(0)
            let stopped = try await SchoolYearRetirement(ledger: store, batchSize: 2) { year throws(LedgerError) in
                try YearArchive(path: year.archiveFile, for: year)
            }.run(plan, now: { Self.retiredOn }, stop: { batches.withLock { count in
                count += 1
                return count > 2
            } })
            #expect(stopped == .stopped(plan, moved: [.heldRecord: 4]))
            guard case .retired(let year, let moved)? = await retirer.retireDue() else {
                Issue.record("not retired")
                return
            }
            #expect(year.archiveFile == "\(folder)/school-year-2025.sqlite" && moved[.heldRecord] == 3 && moved[.acceptedRecord] == 7)
            #expect(await retirer.retireDue() == nil, "retired once")
            #expect(try YearArchive(path: year.archiveFile, for: year).counts()[.heldRecord] == 7)
        }
    }
}
