import ExchangeTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ktsx doctor` on a server set up as README says, then on the same server broken in the ways operators
/// break it.
@Suite("ktsx doctor: a server's setup checked, what to fix named", .serialized)
struct DoctorTests {
    @Test("set up with participant add and the package's sshd block: nothing to fix; then each breakage named with its fix")
    func correctThenBroken() throws {
        #expect(getuid() == 0, "doctor reads accounts and asks sshd: the test needs root (as CI has)")
        guard getuid() == 0 else { return }
        // sshd's chroot rules: the drop tree under a root-owned, not group-writable path (not /tmp).
        let root = URL(fileURLWithPath: "/srv/ktsx-doctor-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        chmod(root.path, 0o755)
        let (account, group) = ("kx165902", "ktsx-doctor-partners")
        let groupBefore = getgrnam(group) != nil
        defer {
            _ = try? runProcess("userdel", [account])
            if !groupBefore { _ = try? runProcess("groupdel", [group]) }
            try? FileManager.default.removeItem(at: root)
        }
        let config = root.appendingPathComponent("config")
        try FileManager.default.createDirectory(at: config, withIntermediateDirectories: true)
        let settings = config.appendingPathComponent("ktsx.conf")
        try "drop_root = ../drop\nstate_dir = ../state\n".write(to: settings, atomically: true, encoding: .utf8)
        try "orgId,name,classification,timeZone,outputFormat,doneMarker\n165902,Doctor ATC,C2,America/New_York,same,false\n"
            .write(to: config.appendingPathComponent("participants.csv"), atomically: true, encoding: .utf8)
        #expect(try runProcess(Repository.ktsx.path, ["init", "--config", config.path]).status == 0)
        let key = root.appendingPathComponent("partner")
        let hostKey = root.appendingPathComponent("host_key")
        for file in [key, hostKey] { #expect(try runProcess("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", file.path]).status == 0) }
        let keys = root.appendingPathComponent("keys").path
        let added = try runProcess(
            Repository.ktsx.path,
            ["participant", "add", "165902", "--config", config.path, "--ssh-key", key.path + ".pub", "--keys-dir", keys, "--group", group, "--service-group", "root"])
        #expect(added.status == 0, "\(added.standardError)")
        let block = try String(contentsOf: Repository.root.appendingPathComponent("packaging/sshd-ktsx-partners.conf"), encoding: .utf8)
            .replacingOccurrences(of: "/etc/ssh/ktsx-keys", with: keys).replacingOccurrences(of: "Match Group ktsx-partners", with: "Match Group \(group)")
        let sshd = root.appendingPathComponent("sshd_config")
        func writeSSHD(_ block: String) throws {
            try "HostKey \(hostKey.path)\nUsePAM no\nSubsystem sftp internal-sftp\n\(block)".write(to: sshd, atomically: true, encoding: .utf8)
        }
        try writeSSHD(block)
        mkdir("/run/sshd", 0o755)
        func doctor() throws -> ProcessResult {
            try runProcess(
                Repository.ktsx.path, ["doctor", "--config", config.path, "--sshd-config", sshd.path, "--service-user", "root", "--minimum-free-mb", "1"])
        }
        let healthy = try doctor()
        #expect(healthy.status == 0, "\(healthy.standardOutput)\(healthy.standardError)")
        #expect(healthy.standardOutput.hasSuffix("nothing to fix\n"), "\(healthy.standardOutput)")
        #expect(healthy.standardOutput.contains("ok   165902: kx165902 has SFTP alone, in its folder, with its key, no forwarding"))

        // Broken: a folder open to everyone, the account locked, forwarding allowed, the review page on every interface.
        chmod(root.appendingPathComponent("drop/165902/inbound").path, 0o777)
        chmod(keys, 0o700)  // the key there, but not for the account that sshd reads it as
        #expect(try runProcess("usermod", ["-L", account]).status == 0)
        try writeSSHD(block.replacingOccurrences(of: "    DisableForwarding yes\n", with: ""))
        try "drop_root = ../drop\nstate_dir = ../state\nreview_address = 0.0.0.0:8480\n".write(to: settings, atomically: true, encoding: .utf8)
        let broken = try doctor()
        #expect(broken.status == 1, "\(broken.standardOutput)")
        let fixes = broken.standardOutput.split(separator: "\n").filter { $0.hasPrefix("FIX") }
        #expect(fixes.contains { $0.contains("inbound is open to every user of the machine") }, "\(fixes)")
        #expect(fixes.contains { $0.contains("it is locked") && $0.contains("usermod -p '*' kx165902") }, "\(fixes)")
        #expect(fixes.contains { $0.contains("it can forward ports") }, "\(fixes)")
        #expect(fixes.contains { $0.contains("sshd cannot read its key as the account") }, "\(fixes)")
        #expect(fixes.contains { $0.contains("review page listens on 0.0.0.0:8480") }, "\(fixes)")
        // (The account's two problems are one line.)
        #expect(fixes.count == 3, "\(fixes)")
        #expect(broken.standardOutput.hasSuffix("3 things to fix\n"))
    }
}
