import ExchangeTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ktsx participant add`: a partner's row, account, folders and key in one command (as root).
@Suite("ktsx participant add: an SFTP-only partner set up in one command", .serialized)
struct ParticipantAddTests {
    @Test("the row, an account open to its key only, folders sshd can chroot, the key kept by root; run again, set up again; the machine left as found")
    func addsAPartner() throws {
        #expect(getuid() == 0, "participant add makes accounts: the test needs root (as CI has)")
        guard getuid() == 0 else { return }
        try withTemporaryDirectory { root in
            let config = root.appendingPathComponent("config")
            try FileManager.default.createDirectory(at: config, withIntermediateDirectories: true)
            let reference = Repository.fixtures.appendingPathComponent("reference")
            for name in try FileManager.default.contentsOfDirectory(atPath: reference.path) where name.hasSuffix(".csv") || name.hasSuffix(".conf") {
                try FileManager.default.copyItem(at: reference.appendingPathComponent(name), to: config.appendingPathComponent(name))
            }
            try "drop_root = ../drop\nstate_dir = ../state\n".write(to: config.appendingPathComponent("ktsx.conf"), atomically: true, encoding: .utf8)
            let key = root.appendingPathComponent("partner")
            #expect(try runProcess("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key.path]).status == 0)
            let keys = root.appendingPathComponent("keys")
            // A group of its own: the SFTP test, which may run meanwhile, has the partners' group.
            let (account, group) = ("kx165099", "ktsx-test-partners")
            let groupBefore = getgrnam(group) != nil
            #expect(getpwnam(account) == nil, "the account is there before the test")
            defer {
                _ = try? runProcess("userdel", [account])
                if !groupBefore { _ = try? runProcess("groupdel", [group]) }
            }
            func add(_ extra: [String] = [], key file: String? = nil) throws -> ProcessResult {
                try runProcess(
                    Repository.ktsx.path,
                    ["participant", "add", "165099", "--config", config.path, "--ssh-key", file ?? key.path + ".pub", "--keys-dir", keys.path, "--group", group]
                        + extra)
            }
            let refused = try add()
            #expect(refused.status == 2 && refused.standardError.contains("give --name and --classification"), "\(refused.standardError)")
            let privateKey = try add(["--name", "Test ATC", "--classification", "C2"], key: key.path)
            #expect(privateKey.status == 2 && privateKey.standardError.contains("is a private key"), "\(privateKey.standardError)")
            #expect(getpwnam(account) == nil, "a refused request made the account")

            let added = try add(["--name", "Test ATC, Lexington", "--classification", "C2", "--time-zone", "America/Chicago"])
            #expect(added.status == 0, "\(added.standardError)")
            let user = try #require(getpwnam(account))
            let home = root.appendingPathComponent("drop/165099").standardizedFileURL.path
            #expect(String(cString: user.pointee.pw_dir) == home)
            #expect(String(cString: user.pointee.pw_shell) == "/usr/sbin/nologin")
            #expect(user.pointee.pw_gid == getgrnam(group)?.pointee.gr_gid)
            let shadow = try runProcess("getent", ["shadow", account]).standardOutput.split(separator: ":")
            #expect(shadow.count > 1 && shadow[1] == "*", "no password, and not locked for key login: \(shadow.dropFirst().first ?? "")")
            var info = stat()
            #expect(stat(home, &info) == 0 && info.st_uid == 0 && info.st_mode & 0o7777 == 0o755, "sshd chroots only into a root-owned folder")
            for folder in ["inbound", "outbound"] {
                #expect(stat("\(home)/\(folder)", &info) == 0 && info.st_uid == user.pointee.pw_uid && info.st_mode & 0o7777 == 0o2770)
            }
            let kept = keys.appendingPathComponent(account).path
            #expect(try String(contentsOfFile: kept, encoding: .utf8) == (try String(contentsOfFile: key.path + ".pub", encoding: .utf8)))
            #expect(stat(kept, &info) == 0 && info.st_uid == 0 && info.st_mode & 0o022 == 0)
            let participants = try String(contentsOf: config.appendingPathComponent("participants.csv"), encoding: .utf8)
            #expect(participants.hasSuffix("165099,\"Test ATC, Lexington\",C2,America/Chicago,same,false,false\n"))
            #expect(try runProcess(Repository.ktsx.path, ["check", "--config", config.path]).status == 0)

            // Again: set up again, the row left as it is.
            let again = try add()
            #expect(again.status == 0 && again.standardOutput.contains("already in participants.csv"), "\(again.standardError)")
            #expect(try String(contentsOf: config.appendingPathComponent("participants.csv"), encoding: .utf8) == participants)
        }
    }
}
