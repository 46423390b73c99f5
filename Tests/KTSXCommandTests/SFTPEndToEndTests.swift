import ExchangeCore
import ExchangeLedgerSQLite
import ExchangeTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A real OpenSSH server on loopback serving the drop tree the way production does: the package's sshd
/// block (`packaging/sshd-ktsx-partners.conf`: `internal-sftp` chrooted in each partner's folder, keys kept
/// by root, no forwarding) over accounts made by `ktsx participant add`. The test owns the server (a child
/// process on a free port with its own configuration) and what it creates: when it is done, the server is
/// stopped and the accounts, group and sshd's privilege-separation folder it made are removed, leaving the
/// machine as it was.
final class SFTPServer {
    let base: URL
    let port: Int
    let key: URL
    let pidFile: URL
    /// Accounts this server created (an account that was there before is left).
    private(set) var createdAccounts: [String] = []
    /// Whether this server created `/run/sshd`.
    private let createdRunDirectory: Bool
    /// Whether the partners' group was made for this server.
    private let createdGroup: Bool

    /// Starts sshd for `participants` (orgIds listed in `config`'s participants.csv), each set up by `ktsx
    /// participant add` as account `kx<orgId>`, chrooted into `dropRoot/<orgId>`.
    init(base: URL, config: URL, participants: [String]) throws {
        self.base = base
        key = base.appendingPathComponent("client_key")
        try FileManager.default.createDirectory(at: base.appendingPathComponent("keys"), withIntermediateDirectories: true)
        createdRunDirectory = mkdir("/run/sshd", 0o755) == 0
        for command in [
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", base.appendingPathComponent("host_key").path],
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key.path],
        ] {
            let result = try runProcess(command[0], Array(command.dropFirst()))
            guard result.status == 0 else { throw OracleFailure(message: "ssh-keygen: \(result.standardError)") }
        }
        createdGroup = getgrnam("ktsx-partners") == nil
        let keys = base.appendingPathComponent("keys").path
        for orgId in participants {
            let account = "kx\(orgId)"
            if getpwnam(account) == nil { createdAccounts.append(account) }
            let added = try runProcess(
                Repository.ktsx.path, ["participant", "add", orgId, "--config", config.path, "--ssh-key", key.path + ".pub", "--keys-dir", keys])
            guard added.status == 0 else { throw OracleFailure(message: "ktsx participant add: \(added.standardError)") }
        }
        // The package's block, its keys where this server keeps them.
        let matches = try String(contentsOf: Repository.root.appendingPathComponent("packaging/sshd-ktsx-partners.conf"), encoding: .utf8)
            .replacingOccurrences(of: "/etc/ssh/ktsx-keys", with: keys)
        port = try SFTPServer.freePort()
        let config = base.appendingPathComponent("sshd_config")
        try """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(base.appendingPathComponent("host_key").path)
            PidFile \(base.appendingPathComponent("sshd.pid").path)
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            UsePAM no
            Subsystem sftp internal-sftp
            \(matches)
            """.write(to: config, atomically: true, encoding: .utf8)
        // sshd detaches itself (a long-lived Foundation `Process` child here kept later children from being
        // reaped); it is stopped through its pid file.
        pidFile = base.appendingPathComponent("sshd.pid")
        let started = try runProcess("/usr/sbin/sshd", ["-f", config.path])
        guard started.status == 0 else { throw OracleFailure(message: "sshd: \(started.standardError)") }
        // Wait until it listens.
        var attempts = 0
        while !SFTPServer.isListening(port), attempts < 50 {
            usleep(100_000)
            attempts += 1
        }
    }

    deinit {
        if let text = try? String(contentsOf: pidFile, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            kill(pid, SIGTERM)
            // Until it is gone (an account with a process is not removed).
            var waited = 0
            while kill(pid, 0) == 0, waited < 100 {
                usleep(50_000)
                waited += 1
            }
        }
        SFTPServer.removeAccounts(createdAccounts)
        if createdGroup { _ = try? runProcess("groupdel", ["ktsx-partners"]) }
        if createdRunDirectory { rmdir("/run/sshd") }
    }

    /// Removes accounts (their sessions' processes may take a moment to end).
    static func removeAccounts(_ accounts: [String]) {
        for account in accounts {
            for _ in 0..<20 {
                guard getpwnam(account) != nil else { break }
                if (try? runProcess("userdel", [account]))?.status == 0 { break }
                usleep(100_000)
            }
        }
    }

    /// Runs an `sftp` batch as `account`.
    func sftp(_ account: String, _ commands: [String], in directory: URL) throws -> ProcessResult {
        let batch = directory.appendingPathComponent("batch-\(UUID().uuidString)")
        try (commands.joined(separator: "\n") + "\n").write(to: batch, atomically: true, encoding: .utf8)
        return try runProcess(
            "sftp",
            ["-b", batch.path, "-P", "\(port)", "-i", key.path, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
             "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "\(account)@127.0.0.1"],
            in: directory)
    }

    /// Whether `account` can carry a connection through an `ssh -N -L` tunnel to the SFTP server's own port
    /// (a listening service on loopback, as the review page is): true when the server's banner comes back
    /// through the tunnel.
    func tunnelCarries(_ account: String) throws -> Bool {
        let local = try SFTPServer.freePort()
        // One shell runs the tunnel, the probe and the clean-up: a long-lived child of this process would keep
        // later children from being reaped (see sshd above).
        let script = """
            ssh -N -L \(local):127.0.0.1:\(port) -p \(port) -i '\(key.path)' -o BatchMode=yes -o StrictHostKeyChecking=no \\
                -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \(account)@127.0.0.1 </dev/null >/dev/null 2>&1 &
            tunnel=$!
            for _ in $(seq 50); do python3 -c 'import socket; socket.create_connection(("127.0.0.1", \(local)), 1)' 2>/dev/null && break; sleep 0.1; done
            python3 -c '
            import socket
            try:
                s = socket.create_connection(("127.0.0.1", \(local)), 3)
                s.settimeout(3)
                print(s.recv(64).decode(errors="replace"))
            except Exception:
                print("")
            '
            # SIGKILL: a signal mask inherited from the test runner may hold SIGTERM back.
            kill -9 $tunnel 2>/dev/null; wait $tunnel 2>/dev/null
            exit 0
            """
        let probe = try runProcess("bash", ["-c", script], timeout: 60)
        #expect(probe.status == 0, "the tunnel probe did not finish: \(probe.standardError)")
        return probe.standardOutput.contains("SSH-")
    }

    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else { throw OracleFailure(message: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func isListening(_ port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

@Suite("End to end over SFTP", .serialized)
struct SFTPEndToEndTests {
    @Test("a center uploads with sftp, ktsx acknowledges, the center downloads the ack and takes it away")
    func uploadAndAcknowledge() async throws {
        // sshd refuses a chroot unless every component of its path is root-owned and not group- or
        // world-writable: so not under /tmp, and the test must run as root (as CI does).
        #expect(getuid() == 0, "the SFTP test needs root to run sshd and create accounts")
        guard getuid() == 0 else { return }
        let root = URL(fileURLWithPath: "/srv/ktsx-e2e-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        chmod(root.path, 0o755)
        defer { try? FileManager.default.removeItem(at: root) }
        let tree = try DropTreeFixture(root: root, quietPeriod: "500ms")
        try tree.loadRoster()
        chmod(tree.drop.path, 0o755)
        let (accountBefore, groupBefore) = (getpwnam("kx165901") != nil, getgrnam("ktsx-partners") != nil)
        try await exchange(over: SFTPServer(base: root.appendingPathComponent("sshd"), config: tree.config, participants: ["165901"]), tree: tree, root: root)
        // The server is stopped and its account and group removed with it.
        #expect(accountBefore || getpwnam("kx165901") == nil, "the test left its account kx165901 on the machine")
        #expect(groupBefore || getgrnam("ktsx-partners") == nil, "the test left the group ktsx-partners on the machine")
    }

    /// The center's upload, acknowledgement, download and pickup over `server`.
    private func exchange(over server: SFTPServer, tree: DropTreeFixture, root: URL) async throws {
        let work = root.appendingPathComponent("client")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let name = "KTSX_ATT_165901_20251002T020000_0001.xml"
        try String(contentsOf: Repository.schemas.appendingPathComponent("examples/ATT.example.xml"), encoding: .utf8)
            .write(to: work.appendingPathComponent(name), atomically: true, encoding: .utf8)
        let upload = try server.sftp("kx165901", ["cd inbound", "put \(name)"], in: work)
        #expect(upload.status == 0, "\(upload.standardError)")

        try tree.runOnce()

        let download = try server.sftp("kx165901", ["cd outbound", "get \(name).ack.xml", "rm \(name).ack.xml"], in: work)
        #expect(download.status == 0, "\(download.standardError)")
        let ack = try String(contentsOf: work.appendingPathComponent("\(name).ack.xml"), encoding: .utf8)
        #expect(ack.contains("<Outcome>ACCEPTED</Outcome>"))
        #expect(ack.contains("<InputFile>\(name)</InputFile>"))
        // The chroot holds: the participant cannot see the state directory or another participant.
        let escape = try server.sftp("kx165901", ["ls ../state", "ls /061010"], in: work)
        #expect(escape.status != 0)
        try tree.runOnce()
        #expect(
            try await tree.ledger().pendingDeliveries().filter { $0.recipientOrgId == "165901" && !$0.fileName.hasPrefix("KTSX_SUM_") }.isEmpty,
            "the download-and-remove is recorded as picked up")
        // A partner account set up as README says cannot tunnel to a service on the server's loopback.
        #expect(try !server.tunnelCarries("kx165901"), "an SFTP account carried a connection through ssh -L")
        try tree.expectConserved()
    }
}
