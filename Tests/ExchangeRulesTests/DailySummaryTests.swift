import ExchangeCore
import ExchangeRules
import Testing

@Suite("Daily summary rows")
struct DailySummaryTests {
    static let day = LocalDate("2026-01-12")!
    static let morning = Timestamp(secondsSinceEpoch: 1_768_302_000)  // 2026-01-13T11:00:00Z, 06:00 Eastern

    @Test("lines are in order of time, then name, whatever order the files were judged in")
    func order() {
        let noon = Timestamp(secondsSinceEpoch: 1_768_219_200)
        let later = Timestamp(secondsSinceEpoch: 1_768_222_800)
        let received = [("R-3", "c.csv", later), ("R-2", "b.csv", noon), ("R-1", "a.csv", noon)].map { id, name, time in
            Receipt(id: id, senderOrgId: "061010", originalName: name, sizeBytes: 1, sha256: id, claimedAt: time)
        }
        let waiting = [("z.xml", noon), ("y.ack.xml", later), ("x.errors.xml", noon)].map { name, time in
            Delivery(receiptId: "R-9", recipientOrgId: "061010", fileName: name, deliveredAt: time)
        }
        let rows = DailySummary.rows(orgId: "061010", day: Self.day, received: received, waiting: waiting, now: Self.morning)
        #expect(rows.map { $0["fileName"] } == ["a.csv", "b.csv", "c.csv", "x.errors.xml", "z.xml", "y.ack.xml"])
        let reversed = DailySummary.rows(
            orgId: "061010", day: Self.day, received: received.reversed(), waiting: waiting.reversed(), now: Self.morning)
        #expect(reversed == rows)
    }

    @Test("a line per file received, with its outcome and counts, then a line per file waiting, earlier summaries aside")
    func rows() {
        var accepted = Receipt(
            id: "R061010-1", senderOrgId: "061010", originalName: "enr.csv", sizeBytes: 9, sha256: "a",
            claimedAt: Timestamp(secondsSinceEpoch: 1_768_219_200))  // 2026-01-12T12:00:00Z
        accepted.fileType = .enrollment
        accepted.outcome = .acceptedWithErrors
        accepted.recordsReceived = 27
        accepted.recordsAccepted = 25
        accepted.recordsRejected = 2
        accepted.errorCount = 2
        let unjudged = Receipt(
            id: "R061010-2", senderOrgId: "061010", originalName: "odd.bin", sizeBytes: 3, sha256: "b",
            claimedAt: Timestamp(secondsSinceEpoch: 1_768_222_800))
        let ack = Delivery(receiptId: "R061010-1", recipientOrgId: "061010", fileName: "enr.csv.ack.csv", deliveredAt: accepted.claimedAt)
        let summary = Delivery(
            receiptId: "J-1", recipientOrgId: "061010", fileName: "KTSX_SUM_061010_20260112T110000_aaaaaa.csv",
            deliveredAt: Timestamp(secondsSinceEpoch: 1_768_215_600))
        // 22 h 31 min: 23 to the nearest hour.
        let late = Delivery(
            receiptId: "J-2", recipientOrgId: "061010", fileName: "KTSX_GPO_061010_x.csv", deliveredAt: Timestamp(secondsSinceEpoch: 1_768_220_940))
        let rows = DailySummary.rows(
            orgId: "061010", day: Self.day, received: [accepted, unjudged], waiting: [summary, ack, late], now: Self.morning)
        #expect(rows.map { $0["lineType"] } == ["RECEIVED", "RECEIVED", "WAITING", "WAITING"])
        #expect(rows[0] == [
            "summaryDate": "2026-01-12", "orgId": "061010", "lineType": "RECEIVED", "fileName": "enr.csv", "receiptId": "R061010-1",
            "fileType": "ENR", "outcome": "ACCEPTED_WITH_ERRORS", "recordsReceived": "27", "recordsAccepted": "25", "recordsRejected": "2",
            "errorCount": "2", "eventDateTime": "2026-01-12T12:00:00Z",
        ])
        #expect(rows[1]["fileType"] == "UNKNOWN")
        #expect(rows[1]["outcome"] == nil)
        #expect(rows[2]["fileName"] == "enr.csv.ack.csv")
        #expect(rows[2]["hoursWaiting"] == "23")
        #expect(rows[3]["hoursWaiting"] == "23")
        #expect(DailySummary.rows(orgId: "061010", day: Self.day, received: [], waiting: [summary], now: Self.morning).isEmpty)
    }
}
