import ExchangeTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The review page's login file, as README's own commands make it, and what a broken one does.
@Suite("The support users' file: made with its header, and a broken one never stops the exchange", .serialized)
struct SupportUsersFileTests {
    @Test("hash-password --config creates support-users.csv with its header (its owner's, readable by the directory's group), then adds rows")
    func hashPasswordWritesTheFile() throws {
        try withTemporaryDirectory { root in
            for user in ["jdoe", "asmith"] {
                let result = try runProcess(
                    Repository.ktsx.path, ["hash-password", "--user", user, "--cost", "10", "--config", root.path],
                    standardInput: "a password long enough\n")
                #expect(result.status == 0, "\(result.standardError)")
            }
            let path = root.appendingPathComponent("support-users.csv").path
            let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            #expect(lines.first == "username,passwordHash")
            #expect(lines.dropFirst().map { $0.split(separator: ",").first.map(String.init) } == ["jdoe", "asmith"])
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
            // Its owner and the directory's group (the service's) may read it; nobody else.
            #expect(mode & 0o037 == 0 && mode & 0o040 != 0, "\(String(mode, radix: 8))")
        }
    }

    @Test("with a support users' file without its header, ktsx run starts, acknowledges files, refuses logins, and /healthz says why")
    func brokenFileKeepsTheExchangeRunning() throws {
        try withTemporaryDirectory { root in
            let port = try SFTPServer.freePort()
            let tree = try DropTreeFixture(root: root, settings: "review_address = 127.0.0.1:\(port)")
            // A row without the header, as `hash-password >> support-users.csv` on a new file used to leave it.
            let hashed = try runProcess(
                Repository.ktsx.path, ["hash-password", "--user", "support", "--cost", "10"], standardInput: "a password long enough\n")
            try hashed.standardOutput.write(to: tree.config.appendingPathComponent("support-users.csv"), atomically: true, encoding: .utf8)
            let service = try tree.startService()
            defer {
                if service.isRunning {
                    service.terminate()
                    service.waitUntilExit()
                }
            }
            let enrollments = try String(contentsOf: Repository.schemas.appendingPathComponent("examples/ENR.example.csv"), encoding: .utf8)
            try tree.drop(enrollments, as: "enr.csv", into: "061010")
            let ack = tree.outbound("061010").appendingPathComponent("enr.csv.ack.csv").path
            for _ in 0..<300 where !FileManager.default.fileExists(atPath: ack) { usleep(100_000) }
            #expect(service.isRunning, "the service runs")
            #expect(FileManager.default.fileExists(atPath: ack), "the file was acknowledged")
            var health: ProcessResult?
            for _ in 0..<50 {
                health = try runProcess("curl", ["-s", "-m", "2", "http://127.0.0.1:\(port)/healthz"])
                if health?.status == 0 { break }
                usleep(100_000)
            }
            #expect(health?.standardOutput.contains("\"reviewLogins\"") == true, "\(health?.standardOutput ?? "")")
            let login = try runProcess("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "2", "http://127.0.0.1:\(port)/login"])
            #expect(login.standardOutput == "200", "the login page itself still answers")
            // Under another name (DNS rebinding), even the open pages are refused; localhost is the same site.
            func status(host: String, path: String) throws -> String {
                try runProcess(
                    "curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "2", "-H", "Host: \(host)", "http://127.0.0.1:\(port)\(path)"]
                ).standardOutput
            }
            #expect(try status(host: "evil.example:\(port)", path: "/healthz") == "421")
            #expect(try status(host: "evil.example", path: "/metrics") == "421")
            #expect(try status(host: "localhost:\(port)", path: "/healthz") == "200")
        }
    }
}
