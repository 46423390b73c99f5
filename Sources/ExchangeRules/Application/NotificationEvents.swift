import ExchangeCore

/// The events a participant may be told of, from what the ledger holds: what each says, in words a clerk
/// can act on, with no student data (a file by its name and receipt, a waiver by its year). Pure.
public enum NotificationEvents {
    /// A file its sender should hear of: rejected, or accepted with errors (a duplicate or an accepted
    /// file is answered by its acknowledgement alone).
    public static func fileOutcome(_ receipt: Receipt, zone: KentuckyZone, siteURL: String?) -> NotificationEvent? {
        guard receipt.state == .finished, let outcome = receipt.outcome, outcome == .rejected || outcome == .acceptedWithErrors else { return nil }
        let file = displayName(receipt.originalName)
        let applied = outcome == .rejected ? "nothing in it was applied" : "\(receipt.recordsAccepted) of \(receipt.recordsReceived) records were applied"
        var body = """
            Your file \(file) (receipt \(receipt.id)), received \(zone.shown(receipt.claimedAt)), was judged \(outcome.rawValue): \(applied), \
            \(receipt.errorCount) error\(receipt.errorCount == 1 ? "" : "s").
            Its acknowledgement and error file are in your outbound folder: they say what to fix, line by line.
            """
        if let siteURL { body += "\nSee each error beside its row: \(siteURL)/my/receipts/\(receipt.id)" }
        return NotificationEvent(
            id: "\(NotificationKind.fileRejected.rawValue):\(receipt.id)", kind: .fileRejected, orgId: receipt.senderOrgId,
            subject: "KTS Exchange: \(file) was \(outcome == .rejected ? "rejected" : "partly rejected")", body: body + "\n",
            facts: [
                "receiptId": receipt.id, "file": file, "outcome": outcome.rawValue, "recordsReceived": "\(receipt.recordsReceived)",
                "recordsAccepted": "\(receipt.recordsAccepted)", "errors": "\(receipt.errorCount)",
            ])
    }

    /// A waiver request decided, for its center.
    public static func waiverDecided(_ request: WaiverRequest, zone: KentuckyZone, siteURL: String?) -> NotificationEvent? {
        guard request.status == .approved || request.status == .denied, let decided = request.decidedAt else { return nil }
        var body = """
            KTS support \(request.status.rawValue) the waiver request for school year \(request.schoolYear) (\(zone.shown(decided))).
            The decision file, with the reason, is in your outbound folder.
            """
        if let siteURL { body += "\nYour files and outbound folder: \(siteURL)/my" }
        return NotificationEvent(
            id: "\(NotificationKind.waiverDecided.rawValue):\(request.id)", kind: .waiverDecided, orgId: request.centerOrgId,
            subject: "KTS Exchange: waiver request for \(request.schoolYear) \(request.status.rawValue)", body: body + "\n",
            facts: ["waiverId": request.id, "schoolYear": "\(request.schoolYear)", "decision": request.status.rawValue])
    }

    /// Files waiting in `orgId`'s `outbound/` past the pickup threshold, told at most once a day (`day`,
    /// in the exchange's zone); nil when none has waited that long.
    public static func pickupsOverdue(
        orgId: String, waiting: [Delivery], thresholdHours: Int, at now: Timestamp, zone: KentuckyZone, siteURL: String?
    ) -> NotificationEvent? {
        let overdue = waiting.filter { $0.recipientOrgId == orgId && $0.hasWaited(hours: thresholdHours, at: now) }
        guard let oldest = overdue.map({ $0.hoursWaiting(at: now) }).max() else { return nil }
        let day = zone.local(now).date
        var body = """
            \(overdue.count) file\(overdue.count == 1 ? " has" : "s have") waited in your outbound folder for more than \(thresholdHours) hours \
            (the oldest \(oldest) hours). Take them over SFTP (removing a file takes it), or see them on your outbound page.
            """
        if let siteURL { body += "\n\(siteURL)/my/outbound" }
        return NotificationEvent(
            id: "\(NotificationKind.pickupOverdue.rawValue):\(orgId):\(day)", kind: .pickupOverdue, orgId: orgId,
            subject: "KTS Exchange: \(overdue.count) file\(overdue.count == 1 ? "" : "s") waiting for you", body: body + "\n",
            facts: ["waiting": "\(overdue.count)", "oldestHours": "\(oldest)", "day": "\(day)"])
    }

    /// A file's name as a notification shows it: printable ASCII only (anything else `?`, so no line break
    /// or control character reaches a mail header), at most 100 characters.
    static func displayName(_ name: String) -> String {
        let shown = String(name.unicodeScalars.prefix(100).map { $0.value >= 32 && $0.value < 127 ? Character($0) : "?" })
        return name.unicodeScalars.count > 100 ? shown + "…" : shown
    }
}
