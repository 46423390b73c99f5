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
}
