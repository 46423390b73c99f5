import ExchangeCore
import ExchangeLedgerSQLite
import ExchangeTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Notifications from the real `ktsx run`: a real SMTP server on loopback (aiosmtpd, writing a Maildir)
/// receives the mail `msmtp` hands it as the machine's `sendmail`, and a webhook receiver on loopback checks
/// each request's signature. A rejected file is told once to each contact, and still once after the
/// service is killed and started again; neither message carries the file's student data.
@Suite("Notifications by email and webhook, once across a kill and a restart", .serialized)
struct NotificationsEndToEndTests {
    @Test("a rejected file: one email and one signed webhook call, not repeated after kill -9 and a restart, no student data")
    func onceAcrossRestart() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/msmtp") else {
            Issue.record("msmtp is not installed: scripts/test.sh installs it")
            return
        }
        try await withTemporaryDirectory { root in
            let (smtpPort, hookPort) = (try SFTPServer.freePort(), try SFTPServer.freePort())
            let maildir = root.appendingPathComponent("maildir")
            let smtp = try Self.start("python3", ["-m", "aiosmtpd", "-n", "-l", "127.0.0.1:\(smtpPort)", "-c", "aiosmtpd.handlers.Mailbox", maildir.path])
            defer { smtp.terminate() }
            let hookLog = root.appendingPathComponent("webhook.jsonl")
            let secret = "a shared secret of the partner"
            let hook = try Self.start(
                "python3", [Repository.root.appendingPathComponent("Tests/Notifications/webhook_receiver.py").path, "\(hookPort)", secret, hookLog.path])
            defer { hook.terminate() }
            for _ in 0..<100 where !(SFTPServer.isListening(smtpPort) && SFTPServer.isListening(hookPort)) { usleep(100_000) }

            // The machine's sendmail: msmtp handing the message to the SMTP server on loopback.
            let sendmail = root.appendingPathComponent("sendmail")
            try """
                #!/bin/sh
                exec /usr/bin/msmtp --host=127.0.0.1 --port=\(smtpPort) --auth=off --tls=off --from=ktsx@example.org "$@"

                """.write(to: sendmail, atomically: true, encoding: .utf8)
            chmod(sendmail.path, 0o755)
            let tree = try DropTreeFixture(
                root: root, settings: "sendmail = \(sendmail.path)\nnotify_from = KTS Exchange <ktsx@example.org>\nsite_url = https://ktsx.example.org")
            try """
                orgId,channel,address,events,secret
                061010,email,clerk@ridgeline.example.org,file-rejected,
                061010,webhook,http://127.0.0.1:\(hookPort)/ktsx,file-rejected,\(secret)

                """.write(to: tree.config.appendingPathComponent("contacts.csv"), atomically: true, encoding: .utf8)
            try tree.loadRoster(of: ["061010"])

            var service = try tree.startService()
            defer { if service.isRunning { service.terminate(); service.waitUntilExit() } }
            // A roster with a state ID of nine digits: rejected, its student data in the file only.
            let roster = try String(contentsOf: Repository.fixtures.appendingPathComponent("reference/roster/KTSX_ENR_061010_20260219T070000_0001.csv"), encoding: .utf8)
            var lines = roster.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            var cells = lines[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let (ssid, lastName) = (cells[3], cells[5])
            cells[3] = String(ssid.dropFirst())
            lines[1] = cells.joined(separator: ",")
            let name = "KTSX_ENR_061010_20260220T090000_0001.csv"
            try tree.drop(lines.joined(separator: "\n"), as: name, into: "061010")

            func mails() -> [String] {
                let new = maildir.appendingPathComponent("new")
                return ((try? FileManager.default.contentsOfDirectory(atPath: new.path)) ?? []).sorted().compactMap {
                    try? String(contentsOf: new.appendingPathComponent($0), encoding: .utf8)
                }
            }
            func calls() -> [[String: Any]] {
                ((try? String(contentsOf: hookLog, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                    try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
                }
            }
            for _ in 0..<300 where mails().isEmpty || calls().isEmpty { usleep(100_000) }
            #expect(mails().count == 1 && calls().count == 1, "mails \(mails().count), webhook calls \(calls().count)")

            // Killed at once, and started again: nothing is told twice.
            kill(service.processIdentifier, SIGKILL)
            service.waitUntilExit()
            service = try tree.startService()
            usleep(3_500_000)
            #expect(mails().count == 1, "one email in all")
            #expect(calls().count == 1, "one webhook call in all")

            let mail = try #require(mails().first)
            let receipt = try #require(try await tree.ledger().allReceipts().first { $0.originalName == name })
            #expect(receipt.outcome == .rejected)
            #expect(mail.contains("Subject: KTS Exchange: \(name) was rejected"))
            #expect(mail.contains("To: clerk@ridgeline.example.org"))
            #expect(mail.contains("(receipt \(receipt.id))"))
            #expect(mail.contains("https://ktsx.example.org/my/receipts/\(receipt.id)"))
            let call = try #require(calls().first)
            #expect(call["valid"] as? Bool == true, "signed with the shared secret")
            #expect(call["event"] as? String == "file-rejected:\(receipt.id)")
            let payload = try #require(try JSONSerialization.jsonObject(with: Data((call["body"] as? String ?? "").utf8)) as? [String: Any])
            #expect((payload["facts"] as? [String: String])?["receiptId"] == receipt.id)
            for text in [mail, call["body"] as? String ?? ""] {
                for value in [ssid, String(ssid.dropFirst()), lastName, cells[6]] where !value.isEmpty {
                    #expect(!text.contains(value), "no student data: \(value)")
                }
            }
            // The ledger says both were sent, once each.
            let told = try await tree.ledger().notifications(orgId: "061010", limit: 10)
            #expect(told.count == 2 && told.allSatisfy { $0.state == .sent && $0.attempts == 1 })
        }
    }

    static func start(_ command: String, _ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [command] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }
}
