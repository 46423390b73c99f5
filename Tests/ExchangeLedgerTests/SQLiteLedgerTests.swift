import ExchangeCore
import ExchangeTesting
import Foundation
import Testing

@testable import ExchangeLedgerSQLite

@Suite("SQLite ledger")
struct SQLiteLedgerTests {
    @Test("every commit is flushed: the writer runs with synchronous FULL, on a new ledger and on one opened again")
    func commitsFlushed() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("ledger.sqlite").path
            let created = try await SQLiteLedger(path: path).commitFlushLevel()
            let reopened = try await SQLiteLedger(path: path).commitFlushLevel()
            #expect(created == 2 && reopened == 2)
        }
    }

    @Test("a ledger made by the build before migration 7 (the demo's week) opens, migrates, and answers as before, from its indexes, its attendance keys date first")
    func ledgerBeforeMigration7() async throws {
        try await withTemporaryDirectory { directory in
            let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("Fixtures/ledger-made-before-migration-7.sqlite")
            let path = directory.appendingPathComponent("ledger.sqlite").path
            try FileManager.default.copyItem(atPath: fixture.path, toPath: path)
            let ledger = try SQLiteLedger(path: path)
            #expect(try await ledger.receipts(matching: ReceiptQuery()).count == 11)
            let day = try await ledger.attendance(recipientOrgId: "061010", date: "2026-01-12")
            #expect(day.count == 20 && day.map(\.naturalKey) == day.map(\.naturalKey).sorted())
            #expect(day.allSatisfy { $0.type == .attendance && $0.recipientOrgId == "061010" })
            #expect(try await ledger.enrollments(ssid: "2100007919", center: "061014").count == 2)
            // Migration 8: each attendance key now starts with its date, and a record is found by the key the
            // rules make of its fields; the record trail names the same keys.
            for held in day {
                #expect(held.naturalKey.hasPrefix("2026-01-12|"), "\(held.naturalKey)")
                #expect(held.naturalKey == RecordTypeDescriptor.attendance.naturalKey(held.values))
                #expect(try await ledger.heldRecord(.attendance, key: held.naturalKey)?.receiptId == held.receiptId)
            }
            let trail = try await ledger.acceptedRecords(claimedFrom: nil, before: nil).filter { $0.type == .attendance }
            #expect(!trail.isEmpty && trail.allSatisfy { $0.naturalKey.hasPrefix("2026-01-1") }, "\(trail.map(\.naturalKey).prefix(3))")
            for sql in [SQLiteLedger.enrollmentsOfStudent, SQLiteLedger.attendanceOfDay] {
                #expect(!(try await ledger.queryPlan(of: sql)).contains { $0.contains("autoindex") || $0.contains("B-TREE") })
            }
        }
    }

    @Test("a student's enrollments and a school's day of attendance are looked up in their indexes, in key order (no walk of every record of the type)")
    func heldLookupsUseTheirIndexes() async throws {
        try await withTemporaryDirectory { directory in
            let ledger = try SQLiteLedger(path: directory.appendingPathComponent("ledger.sqlite").path)
            for (sql, index) in [(SQLiteLedger.enrollmentsOfStudent, "held_by_student"), (SQLiteLedger.attendanceOfDay, "held_by_recipient_day")] {
                let plan = try await ledger.queryPlan(of: sql)
                #expect(plan.count == 1 && plan[0].contains("USING INDEX \(index) ("), "\(plan)")
                #expect(!plan.contains { $0.contains("B-TREE") }, "\(plan)")
            }
        }
    }

    @Test("what the service asks every second (waiting deliveries, unfinished work) reads the few rows of its partial index, not a year of rows")
    func everySecondQueriesUsePartialIndexes() async throws {
        try await withTemporaryDirectory { directory in
            let ledger = try SQLiteLedger(path: directory.appendingPathComponent("ledger.sqlite").path)
            for (sql, index) in [
                (SQLiteLedger.waitingDeliveriesInOrder, "delivery_pending"), (SQLiteLedger.unfinishedReceiptsInOrder, "receipt_unfinished"),
                (SQLiteLedger.unfinishedJobRunsInOrder, "job_run_unfinished"),
            ] {
                let plan = try await ledger.queryPlan(of: sql)
                #expect(plan.first?.contains("USING INDEX \(index)") == true, "\(plan)")
            }
        }
    }

    @Test("a retirement's batch is a range of an index: none sorts the year's rows (a statewide year's trail took 3 s a batch that way)")
    func retiringBatchesReadARange() async throws {
        try await withTemporaryDirectory { directory in
            let ledger = try SQLiteLedger(path: directory.appendingPathComponent("ledger.sqlite").path)
            let year = RetiredYear(
                schoolYear: 2025, claimedFrom: Timestamp(secondsSinceEpoch: 1), claimedBefore: Timestamp(secondsSinceEpoch: 2), archiveFile: "a",
                startedAt: Timestamp(secondsSinceEpoch: 3))
            for table in RetiredTable.allCases {
                let cursor = table.orderColumns.map { $0.kind == .text ? LedgerValue.text("k") : .integer(1) }
                let (sql, _) = SQLiteLedger.retiringBatch(table, of: year, after: cursor, limit: 5_000)
                let plan = try await ledger.queryPlan(of: sql)
                #expect(!plan.contains { $0.contains("TEMP B-TREE FOR ORDER BY") }, "\(table): \(plan)")
                #expect(!plan.contains { $0.hasPrefix("SCAN \(table.rawValue)") }, "\(table): \(plan)")
            }
        }
    }
}
