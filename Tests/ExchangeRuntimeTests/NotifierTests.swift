import ExchangeCore
import ExchangeRules
@testable import ExchangeRuntime
import ExchangeTesting
import Foundation
import Logging
import Synchronization
import Testing

/// A clock the test moves.
final class ManualClock: Sendable {
    private let seconds: Mutex<Int64>
    init(_ start: Timestamp) { seconds = Mutex(start.secondsSinceEpoch) }
    func advance(_ by: Int64) { seconds.withLock { $0 += by } }
    var now: Timestamp { Timestamp(secondsSinceEpoch: seconds.withLock { $0 }) }
}

/// A sender that records what it was given, failing while `failing` says so.
final class RecordingSender: NotificationSender {
    let sent = Mutex<[(event: String, contact: String)]>([])
    let failing = Mutex(false)

    func send(_ notification: PartnerNotification, to contact: NotificationContacts.Contact) async throws(NotificationFailure) {
        if failing.withLock({ $0 }) { throw NotificationFailure("the mail agent is down") }
        sent.withLock { $0.append((notification.eventId, contact.key)) }
    }

    var events: [String] { sent.withLock { $0.map { "\($0.event) → \($0.contact)" } } }
}

@Suite("Notifications: each event told once to each contact that chose it, tried again when not taken")
struct NotifierTests {
    static let reference = ReferenceData(participants: [
        Participant(orgId: "165901", name: "Bluegrass CTC", classification: .a2),
        Participant(orgId: "061010", name: "Ridgeline High", classification: .a1),
    ])
    static let contacts = NotificationContacts([
        .init(orgId: "061010", channel: .email, address: "clerk@ridgeline.example.org", kinds: [.fileRejected, .pickupOverdue], secret: ""),
        .init(orgId: "061010", channel: .webhook, address: "https://sis.example.org/hook", kinds: [.fileRejected], secret: "a-secret-of-sixteen+"),
        .init(orgId: "165901", channel: .email, address: "office@bluegrass.example.org", kinds: [.waiverDecided], secret: ""),
    ])

    /// A ledger with a rejected file of 061010 (its original named after a student, as partners sometimes
    /// name files), an accepted one, a decided waiver of 165901 and a file waiting for 061010 for two days.
    static func world(now: Timestamp) async throws -> InMemoryLedger {
        let ledger = InMemoryLedger()
        for (id, outcome) in [("R061010-1", FileOutcome.rejected), ("R061010-2", .accepted)] {
            var receipt = Receipt(id: id, senderOrgId: "061010", originalName: "roster\u{202E}\r\nBcc: x.csv", sizeBytes: 10, sha256: id, claimedAt: now)
            try await ledger.recordClaim(receipt)
            receipt.state = .finished
            receipt.outcome = outcome
            receipt.recordsReceived = 27
            receipt.errorCount = outcome == .rejected ? 2 : 0
            let delivery = Delivery(
                receiptId: id, recipientOrgId: "061010", fileName: "\(id).ack.csv", deliveredAt: Timestamp(secondsSinceEpoch: now.secondsSinceEpoch - 2 * 86_400))
            try await ledger.update(receipt, recordingDeliveries: id == "R061010-1" ? [delivery] : [])
        }
        var waiver = WaiverRequest(
            id: "w-1", centerOrgId: "165901", schoolYear: 2027, values: [:], receiptId: "R061010-2", receivedAt: now)
        waiver.status = .approved
        waiver.decidedAt = now
        try await ledger.update(try #require(try await ledger.receipt(id: "R061010-2")), recordingDeliveries: [], findings: ReceiptFindings(), applying: LedgerChanges(waivers: [waiver]))
        return ledger
    }

    static func notifier(_ ledger: InMemoryLedger, sender: RecordingSender, clock: ManualClock, owner: String = "a") -> Notifier {
        Notifier(
            ledger: ledger, reference: { reference }, contacts: contacts, sender: sender, now: { clock.now },
            owner: owner, siteURL: "https://ktsx.example.org", logger: Logger(label: "test"))
    }

    @Test("every event once to every contact that chose it, across passes and across two instances")
    func once() async throws {
        let now = Timestamp(secondsSinceEpoch: 1_768_500_000)
        let ledger = try await Self.world(now: now)
        let sender = RecordingSender()
        let clock = ManualClock(now)
        let first = try await Self.notifier(ledger, sender: sender, clock: clock).pass()
        #expect(first == Notifier.Pass(recorded: 4, sent: 4, retrying: 0, failed: 0))
        #expect(Set(sender.events) == [
            "file-rejected:R061010-1 → email:clerk@ridgeline.example.org", "file-rejected:R061010-1 → webhook:https://sis.example.org/hook",
            "pickup-overdue:061010:2026-01-15 → email:clerk@ridgeline.example.org", "waiver-decided:w-1 → email:office@bluegrass.example.org",
        ])
        // Again, by this instance and by another: nothing new, nothing sent twice.
        #expect(try await Self.notifier(ledger, sender: sender, clock: clock).pass() == Notifier.Pass())
        #expect(try await Self.notifier(ledger, sender: sender, clock: clock, owner: "b").pass() == Notifier.Pass())
        #expect(sender.events.count == 4)
        // What was told: the file by its receipt and a name made safe for a mail header, a link, no student data.
        let told = try await ledger.notifications(orgId: "061010", limit: 10).first { $0.eventId == "file-rejected:R061010-1" }
        #expect(told?.subject == "KTS Exchange: roster???Bcc: x.csv was rejected")
        #expect(told?.body.contains("(receipt R061010-1)") == true)
        #expect(told?.body.contains("https://ktsx.example.org/my/receipts/R061010-1") == true)
        #expect(told?.state == .sent && told?.sentAt == now && told?.attempts == 1)
        // The next day, the file still waiting is told again, once.
        clock.advance(86_400)
        #expect(try await Self.notifier(ledger, sender: sender, clock: clock).pass().sent == 1)
        #expect(sender.events.last == "pickup-overdue:061010:2026-01-16 → email:clerk@ridgeline.example.org")
    }

    @Test("a notification not taken is tried again after 1, 5, 30 minutes, 2 and 6 hours, then given up with its reason")
    func retries() async throws {
        let now = Timestamp(secondsSinceEpoch: 1_768_500_000)
        let ledger = try await Self.world(now: now)
        let sender = RecordingSender()
        sender.failing.withLock { $0 = true }
        let clock = ManualClock(now)
        let notifier = Self.notifier(ledger, sender: sender, clock: clock)
        #expect(try await notifier.pass().retrying == 4)
        for delay: Int64 in [60, 300, 1800, 7200] {
            clock.advance(delay - 1)
            #expect(try await notifier.pass().retrying == 0, "not before \(delay) s")
            clock.advance(1)
            #expect(try await notifier.pass().retrying == 4)
        }
        clock.advance(21_600)
        #expect(try await notifier.pass().failed == 4)
        let given = try await ledger.notifications(orgId: nil, limit: 10)
        #expect(given.allSatisfy { $0.state == .failed && $0.attempts == 6 && $0.lastError == "the mail agent is down" })
        sender.failing.withLock { $0 = false }
        clock.advance(86_400)
        #expect(try await notifier.pass().sent == 1, "only the next day's pickup reminder")
    }

    @Test("a webhook's signature is HMAC-SHA256 over the timestamp and the body, with the contact's secret")
    func signature() {
        // RFC 4231-style check by an independent computation: openssl dgst -sha256 -hmac key <<< '1700000000.{"a":1}'
        #expect(
            MailAndWebhookSender.signature(secret: "key", timestamp: 1_700_000_000, body: "{\"a\":1}")
                == "sha256=" + Self.openSSLHMAC(key: "key", message: "1700000000.{\"a\":1}"))
    }

    static func openSSLHMAC(key: String, message: String) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["dgst", "-sha256", "-hmac", key, "-r"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try? process.run()
        input.fileHandleForWriting.write(Data(message.utf8))
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        return String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
    }
}
