import ExchangeCore

/// The daily summary of one participant (pure): a line for each file it sent that day, with its outcome
/// and counts, and a line for each file waiting in its `outbound/` (earlier summaries aside), with how long
/// it has waited. Rows are the SUM type's fields.
public enum DailySummary {
    /// The summary's rows, received files first, then waiting files, each in the order given; empty when
    /// there is nothing to report.
    /// - Parameters:
    ///   - day: The day summarised.
    ///   - received: The participant's receipts of that day, oldest first.
    ///   - waiting: Deliveries to the participant not yet picked up, oldest first.
    ///   - now: When the summary is made (for the hours waited).
    public static func rows(orgId: String, day: LocalDate, received: [Receipt], waiting: [Delivery], now: Timestamp) -> [[String: String]] {
        var rows: [[String: String]] = []
        for receipt in received {
            var row = [
                "summaryDate": day.description, "orgId": orgId, "lineType": "RECEIVED", "fileName": receipt.originalName,
                "receiptId": receipt.id, "fileType": receipt.fileType.map { ExchangeType.partnerTypes.contains($0) ? $0.code : "UNKNOWN" } ?? "UNKNOWN",
                "eventDateTime": receipt.claimedAt.iso8601,
            ]
            if let outcome = receipt.outcome {
                row["outcome"] = outcome.rawValue
                row["recordsReceived"] = "\(receipt.recordsReceived)"
                row["recordsAccepted"] = "\(receipt.recordsAccepted)"
                row["recordsRejected"] = "\(receipt.recordsRejected)"
                row["errorCount"] = "\(receipt.errorCount)"
            }
            rows.append(row)
        }
        for delivery in waiting where !isSummary(delivery.fileName) {
            rows.append([
                "summaryDate": day.description, "orgId": orgId, "lineType": "WAITING", "fileName": delivery.fileName,
                "receiptId": delivery.receiptId, "eventDateTime": delivery.deliveredAt.iso8601,
                "hoursWaiting": "\(delivery.hoursWaiting(at: now))",
            ])
        }
        return rows
    }

    /// The run detail of a summary caught up after downtime: received files only.
    public static let receivedOnly = "received-only"

    /// Whether an outbound file is a daily summary (named `KTSX_SUM_…`, or `….SUM.csv|xml` when that name
    /// was taken).
    static func isSummary(_ fileName: String) -> Bool {
        fileName.hasPrefix("KTSX_SUM_") || fileName.hasSuffix(".SUM.csv") || fileName.hasSuffix(".SUM.xml")
    }
}
