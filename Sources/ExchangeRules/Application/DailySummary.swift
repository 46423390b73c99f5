import ExchangeCore

/// The daily summary of one participant (pure): a line for each file it sent that day, with its outcome
/// and counts, and a line for each file waiting in its `outbound/` (earlier summaries aside), with how long
/// it has waited. Rows are the SUM type's fields.
public enum DailySummary {
    /// The summary's rows, received files first (by time of receipt, then name), then waiting files (by
    /// time written, then name); empty when there is nothing to report. Files of the same moment are
    /// listed by name, whatever order they were judged in.
    /// - Parameters:
    ///   - day: The day summarised.
    ///   - received: The participant's receipts of that day.
    ///   - waiting: Deliveries to the participant not yet picked up.
    ///   - now: When the summary is made (for the hours waited).
    public static func rows(orgId: String, day: LocalDate, received: [Receipt], waiting: [Delivery], now: Timestamp) -> [[String: String]] {
        var rows: [[String: String]] = []
        let received = received.sorted {
            ($0.claimedAt.secondsSinceEpoch, $0.originalName, $0.id) < ($1.claimedAt.secondsSinceEpoch, $1.originalName, $1.id)
        }
        let waiting = waiting.sorted {
            ($0.deliveredAt.secondsSinceEpoch, $0.fileName, $0.receiptId) < ($1.deliveredAt.secondsSinceEpoch, $1.fileName, $1.receiptId)
        }
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
