import ExchangeCore
import ExchangeRules

/// The support desk's answers as plain dictionaries: printed as JSON by `--format json`, and the
/// contexts of the review page's templates. Times appear twice: `…` as ISO 8601 UTC for scripts and
/// `…Local` as Kentucky time for people. Absent values are left out.
public enum SupportViews {
    /// `2026-01-16 10:15 ET` (or `CT`).
    public static func localTime(_ time: Timestamp, _ zone: KentuckyZone) -> String { zone.shown(time) }

    private static func time(_ view: inout [String: Any], _ key: String, _ time: Timestamp?, _ zone: KentuckyZone) {
        guard let time else { return }
        view[key] = time.iso8601
        view[key + "Local"] = localTime(time, zone)
    }

    /// A receipt.
    public static func receipt(_ receipt: Receipt, reference: ReferenceData) -> [String: Any] {
        let zone = reference.policy.timeZone
        var view: [String: Any] = [
            "id": receipt.id, "sender": receipt.senderOrgId, "senderName": reference.participants[receipt.senderOrgId]?.name ?? "",
            "file": receipt.originalName, "sizeBytes": receipt.sizeBytes, "sha256": receipt.sha256, "state": receipt.state.rawValue,
            "recordsReceived": receipt.recordsReceived, "recordsAccepted": receipt.recordsAccepted,
            "recordsRejected": receipt.recordsRejected, "errorCount": receipt.errorCount,
        ]
        time(&view, "received", receipt.claimedAt, zone)
        time(&view, "acknowledged", receipt.finishedAt, zone)
        view["type"] = receipt.fileType?.code
        view["typeName"] = receipt.fileType?.displayName
        view["binding"] = receipt.binding?.rawValue
        view["outcome"] = receipt.outcome?.rawValue
        view["ackFile"] = receipt.ackFile
        view["errorFile"] = receipt.errorFile
        view["duplicateOf"] = receipt.duplicateOf
        view["reprocessOf"] = receipt.reprocessOf
        view["reprocessReason"] = receipt.reprocessReason
        return view
    }

    /// An issue of an error file.
    public static func issue(_ issue: ValidationIssue) -> [String: Any] {
        var view: [String: Any] = ["code": issue.code.rawValue, "message": issue.message]
        view["line"] = issue.line
        view["column"] = issue.column
        view["path"] = issue.path
        view["field"] = issue.field
        view["row"] = issue.row
        view["recordKey"] = issue.recordKey
        return view
    }

    /// A delivery.
    public static func delivery(_ delivery: Delivery, reference: ReferenceData, hoursWaiting: Int? = nil) -> [String: Any] {
        var view: [String: Any] = [
            "source": delivery.receiptId, "recipient": delivery.recipientOrgId,
            "recipientName": reference.participants[delivery.recipientOrgId]?.name ?? "", "file": delivery.fileName,
        ]
        time(&view, "delivered", delivery.deliveredAt, reference.policy.timeZone)
        time(&view, "pickedUp", delivery.pickedUpAt, reference.policy.timeZone)
        view["hoursWaiting"] = hoursWaiting
        return view
    }

    /// A receipt's whole story.
    public static func story(_ story: ReceiptStory, reference: ReferenceData) -> [String: Any] {
        var view = receipt(story.receipt, reference: reference)
        view["issues"] = story.issues.map(issue)
        view["rejectedRecords"] = story.rejectedRecords.map { record -> [String: Any] in
            var row: [String: Any] = ["line": record.line, "codes": record.codes]
            row["recordKey"] = record.recordKey
            return row
        }
        view["deliveries"] = story.deliveries.map { delivery($0, reference: reference) }
        view["reprocessedAs"] = story.reprocessedAs
        view["originalKept"] = story.originalKept
        if let year = story.retiredWith {
            var retired: [String: Any] = ["schoolYear": year.schoolYear, "archive": year.archiveFile]
            time(&retired, "started", year.startedAt, reference.policy.timeZone)
            time(&retired, "finished", year.finishedAt, reference.policy.timeZone)
            view["retired"] = retired
        }
        return view
    }

    /// A job run.
    public static func jobRun(_ run: JobRun, reference: ReferenceData) -> [String: Any] {
        var view: [String: Any] = [
            "id": run.id, "job": run.job.rawValue, "key": run.runKey, "state": run.state.rawValue, "files": run.files, "records": run.records,
        ]
        time(&view, "started", run.startedAt, reference.policy.timeZone)
        time(&view, "finished", run.finishedAt, reference.policy.timeZone)
        return view
    }

    /// The status report.
    public static func status(_ report: StatusReport, reference: ReferenceData) -> [String: Any] {
        let zone = reference.policy.timeZone
        let backlog = report.backlog
        var service: [String: Any] = ["running": backlog.serviceRunning]
        if let heartbeat = backlog.heartbeat, let age = backlog.secondsSinceLastPass {
            service = ["running": backlog.serviceRunning, "secondsSinceLastPass": age, "processId": Int(heartbeat.processId)]
            time(&service, "lastPass", heartbeat.time, zone)
        }
        var view: [String: Any] = [
            "service": service,
            "backlog": [
                "waitingInInbound": backlog.waitingInInbound, "receiptsInProgress": backlog.receiptsInProgress,
                "jobRunsInProgress": backlog.jobRunsInProgress,
            ],
            "deliveries": ["waiting": backlog.deliveriesWaiting, "overdue": backlog.deliveriesOverdue],
            "participants": report.participants.map { line -> [String: Any] in
                var row: [String: Any] = [
                    "orgId": line.participant.orgId, "name": line.participant.name,
                    "classification": line.participant.classification.rawValue, "waitingInInbound": line.waitingInInbound,
                ]
                row["lastReceipt"] = line.lastReceipt.map { receipt($0, reference: reference) }
                return row
            },
            "jobs": report.lastJobRuns.map { jobRun($0, reference: reference) },
        ]
        time(&view, "generated", backlog.generatedAt, zone)
        return view
    }

    /// A delivery waiting for pickup.
    public static func waiting(_ waiting: WaitingDelivery, reference: ReferenceData) -> [String: Any] {
        delivery(waiting.delivery, reference: reference, hoursWaiting: waiting.hoursWaiting)
    }

    /// What `ktsx audit` found, for JSON: the figures checked and each discrepancy.
    public static func conservation(_ report: ConservationReport) -> [String: Any] {
        [
            "holds": report.holds, "acceptedRecords": report.acceptedRecords, "trailEntries": report.trailEntries,
            "deliveries": report.deliveries, "filesReadBack": report.filesReadBack,
            "discrepancies": report.discrepancies.map { discrepancy -> [String: Any] in
                var row: [String: Any] = ["kind": discrepancy.kind.rawValue, "source": discrepancy.sourceId, "detail": discrepancy.detail]
                if let record = discrepancy.recordId { row["recordId"] = record }
                if let receiver = discrepancy.receiverOrgId { row["receiver"] = receiver }
                if let file = discrepancy.fileName { row["file"] = file }
                return row
            },
        ]
    }

    /// A quiet center.
    public static func quiet(_ center: QuietCenter) -> [String: Any] {
        var view: [String: Any] = ["orgId": center.orgId, "name": center.name, "missedDays": center.missedDays]
        view["lastAttendance"] = center.lastAttendance?.description
        return view
    }

    /// A waiver request.
    public static func waiver(_ waiver: WaiverRequest, reference: ReferenceData) -> [String: Any] {
        var view: [String: Any] = [
            "id": waiver.id, "centerOrgId": waiver.centerOrgId, "centerName": reference.participants[waiver.centerOrgId]?.name ?? "",
            "schoolYear": waiver.schoolYear, "status": waiver.status.rawValue, "receiptId": waiver.receiptId,
            "reasonCode": waiver.values["reasonCode"] ?? "",
        ]
        time(&view, "received", waiver.receivedAt, reference.policy.timeZone)
        time(&view, "decided", waiver.decidedAt, reference.policy.timeZone)
        view["decisionReason"] = waiver.decisionReason
        if waiver.status == .pending { view["isPending"] = true }
        return view
    }
}
