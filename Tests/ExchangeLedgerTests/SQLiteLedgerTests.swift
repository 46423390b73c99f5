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
}
