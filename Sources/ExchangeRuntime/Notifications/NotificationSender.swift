import AsyncHTTPClient
import Crypto
import ExchangeCore
import Foundation
import NIOCore
import NIOHTTP1

/// Hands one notification to one contact: true once the mail agent or the webhook took it.
public protocol NotificationSender: Sendable {
    /// Sends `notification` to `contact`.
    /// - Throws: `NotificationFailure` saying why it was not taken (it is tried again later).
    func send(_ notification: PartnerNotification, to contact: NotificationContacts.Contact) async throws(NotificationFailure)
}

/// Why a notification was not taken, in words for the log and the ledger (no student data).
public struct NotificationFailure: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var message: String

    /// A failure.
    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// Email through the machine's mail transfer agent (`sendmail -t -i`, as cron hands its mail), and
/// webhooks as HTTPS POSTs of JSON signed with the contact's secret.
public struct MailAndWebhookSender: NotificationSender {
    /// The `sendmail` program.
    public var sendmailCommand: String
    /// The `From` of the emails.
    public var from: String
    /// How long a hand-over may take.
    public var timeout: Duration = .seconds(60)

    /// A sender through `sendmailCommand`, from `from`.
    public init(sendmailCommand: String, from: String) {
        self.sendmailCommand = sendmailCommand
        self.from = from
    }

    public func send(_ notification: PartnerNotification, to contact: NotificationContacts.Contact) async throws(NotificationFailure) {
        switch contact.channel {
        case .email: try await sendmail(MailAndWebhookSender.message(notification, to: contact.address, from: from))
        case .webhook: try await post(notification, to: contact)
        }
    }

    /// The email: headers of plain ASCII (the subject is, by its making), a body of UTF-8 text, a
    /// `Message-ID` made from the event and the contact (the same message whenever it is sent again).
    static func message(_ notification: PartnerNotification, to address: String, from: String) -> String {
        let digest = SHA256.hash(data: Data("\(notification.eventId)|\(notification.contact)".utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
        let date = Date(timeIntervalSince1970: TimeInterval(notification.createdAt.secondsSinceEpoch))
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        let body = notification.body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        return """
            From: \(from)\r
            To: \(address)\r
            Subject: \(notification.subject)\r
            Date: \(formatter.string(from: date))\r
            Message-ID: <\(digest)@ktsx>\r
            MIME-Version: 1.0\r
            Content-Type: text/plain; charset=utf-8\r
            Content-Transfer-Encoding: 8bit\r
            X-KTSX-Event: \(notification.eventId)\r
            \r
            \(body)
            """
    }

    /// Hands `message` to `sendmail -t -i` on its standard input; its exit status says whether it took it.
    private func sendmail(_ message: String) async throws(NotificationFailure) {
        let (command, timeout) = (sendmailCommand, timeout)
        let result = await BlockingWork.run { () -> Result<Void, NotificationFailure> in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: command)
            process.arguments = ["-t", "-i"]
            let input = Pipe(), errors = Pipe()
            process.standardInput = input
            process.standardOutput = FileHandle.nullDevice
            process.standardError = errors
            do {
                try process.run()
            } catch {
                return .failure(NotificationFailure("cannot start \(command): \(error.localizedDescription)"))
            }
            input.fileHandleForWriting.write(Data(message.utf8))
            try? input.fileHandleForWriting.close()
            let deadline = Date().addingTimeInterval(Double(timeout.components.seconds))
            while process.isRunning, Date() < deadline { usleep(20_000) }
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
                return .failure(NotificationFailure("\(command) did not finish within \(timeout)"))
            }
            let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile().prefix(300), as: UTF8.self)
            guard process.terminationStatus == 0 else {
                return .failure(NotificationFailure("\(command) exited \(process.terminationStatus): \(said.trimmingCharacters(in: .whitespacesAndNewlines))"))
            }
            return .success(())
        }
        try result.get()
    }

    /// The webhook's body: the event as JSON.
    static func payload(_ notification: PartnerNotification) -> String {
        """
        {"event": \(ReportRenderer.jsonString(notification.eventId)), "kind": \(ReportRenderer.jsonString(notification.kind.rawValue)), \
        "orgId": \(ReportRenderer.jsonString(notification.orgId)), "subject": \(ReportRenderer.jsonString(notification.subject)), \
        "text": \(ReportRenderer.jsonString(notification.body)), "facts": \(notification.facts), "createdAt": \(ReportRenderer.jsonString(notification.createdAt.iso8601))}
        """
    }

    /// The signature a receiver checks: HMAC-SHA256 with the shared secret over `TIMESTAMP.BODY`, in hex.
    public static func signature(secret: String, timestamp: Int64, body: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp).\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + code.map { String(format: "%02x", $0) }.joined()
    }

    /// POSTs the notification to the contact's URL; a 2xx answer is taken.
    private func post(_ notification: PartnerNotification, to contact: NotificationContacts.Contact) async throws(NotificationFailure) {
        let body = MailAndWebhookSender.payload(notification)
        let timestamp = Int64(Date().timeIntervalSince1970)
        var request = HTTPClientRequest(url: contact.address)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "X-KTSX-Event", value: notification.eventId)
        request.headers.add(name: "X-KTSX-Timestamp", value: "\(timestamp)")
        request.headers.add(name: "X-KTSX-Signature", value: MailAndWebhookSender.signature(secret: contact.secret, timestamp: timestamp, body: body))
        request.body = .bytes(ByteBuffer(string: body))
        let status: UInt
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(timeout.components.seconds))
            status = response.status.code
            // The answer's body is not needed; up to 64 KiB of it is read and dropped.
            _ = try? await response.body.collect(upTo: 64 * 1024)
        } catch {
            throw NotificationFailure("the webhook did not answer: \(error)")
        }
        guard (200..<300).contains(status) else { throw NotificationFailure("the webhook answered \(status)") }
    }
}
