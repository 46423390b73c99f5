import ArgumentParser
import ExchangeCore
import ExchangeRuntime
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `ktsx participant`: setting up a partner on this server.
struct ParticipantCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "participant",
        abstract: "Set up a partner on this server: its SFTP account, folders, key and participants.csv row.",
        subcommands: [ParticipantAdd.self])
}

/// `ktsx participant add`: everything a new partner needs on the server, in one command.
struct ParticipantAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a partner: its participants.csv row, an SFTP-only account, its folders and its public key (as root).",
        discussion: """
            The account is kx<orgId>, in the group ktsx-partners, with <drop_root>/<orgId> as its home (its chroot \
            under the sshd block of README and packaging/sshd-ktsx-partners.conf), no shell and no password, unlocked \
            for key login. Its key goes to KEYS-DIR/kx<orgId> (owned by root). <drop_root>/<orgId> is root's (sshd \
            requires it for a chroot); inbound/ and outbound/ are the account's, shared with the service's group \
            (mode 2770). Run again for a partner already listed, it sets its account, folders and key up again and \
            leaves its row as it is. The service rereads participants.csv by itself.
            """)

    @OptionGroup var options: ConfigurationOptions

    @Argument(help: "The partner's six-digit organisation number (district and school).")
    var orgId: String

    @Option(help: "The partner's name, as support knows it.")
    var name: String?

    @Option(help: "KDE classification: A2 or C2 for a technical center, A1 (and others) for a high school.")
    var classification: String?

    @Option(help: "America/New_York or America/Chicago (and the Kentucky aliases).")
    var timeZone: String = "America/New_York"

    @Option(help: "The binding of the files written to it: same, xml or csv.")
    var outputFormat: String = "same"

    @Flag(help: "The partner signals a finished upload with NAME.done.")
    var doneMarker = false

    @Flag(help: "A high school that takes the nightly unknown-attendance file.")
    var unknownSync = false

    @Option(help: "The partner's SSH public key file (one or more keys, OpenSSH format).")
    var sshKey: String

    @Option(help: "Where sshd finds partners' keys (AuthorizedKeysFile of the sshd block).")
    var keysDir: String = "/etc/ssh/ktsx-keys"

    @Option(help: "The group of the partners' accounts (the sshd block's Match Group).")
    var group: String = "ktsx-partners"

    @Option(help: "The group the service runs as, given access to the partner's folders (root when it does not exist).")
    var serviceGroup: String = "ktsx"

    /// The account name of a partner.
    static func account(of orgId: String) -> String { "kx\(orgId)" }

    func run() throws {
        guard ConfigurationParser.isOrgId(orgId) else { throw ConfigurationFailure(message: "'\(orgId)' is not an orgId (six digits)") }
        guard getuid() == 0 else { throw ConfigurationFailure(message: "ktsx participant add makes an account: run it as root") }
        let configuration = try options.load()
        let keys = try publicKeys()
        let listed = configuration.participants.contains { $0.orgId == orgId }
        let participantsFile = URL(fileURLWithPath: configuration.directory).appendingPathComponent(ExchangeConfiguration.participantsFile)
        var newText: String?
        if !listed {
            guard let name, let classification else {
                throw ConfigurationFailure(message: "\(orgId) is not in participants.csv yet: give --name and --classification")
            }
            var text = try String(contentsOf: participantsFile, encoding: .utf8)
            if !text.isEmpty, !text.hasSuffix("\n") { text += "\n" }
            let row = [orgId, name, classification, timeZone, outputFormat, doneMarker ? "true" : "false", unknownSync ? "true" : "false"]
            text += row.map(ParticipantAdd.csvField).joined(separator: ",") + "\n"
            do {
                _ = try ConfigurationParser.participants(from: Array(text.utf8))
            } catch {
                throw ConfigurationFailure(message: "the new row is refused:\n\(error)")
            }
            newText = text
        }

        let account = ParticipantAdd.account(of: orgId)
        let home = "\(configuration.settings.dropRoot)/\(orgId)"
        if getgrnam(group) == nil { try ParticipantAdd.run("groupadd", ["--system", group]) }
        if getpwnam(account) == nil {
            try ParticipantAdd.run(
                "useradd", ["--no-create-home", "--home-dir", home, "--shell", "/usr/sbin/nologin", "--gid", group, "--comment", "KTS Exchange partner \(orgId)", account])
            print("account \(account) made (group \(group), home \(home), no shell)")
        } else {
            try ParticipantAdd.run("usermod", ["--home", home, "--shell", "/usr/sbin/nologin", "--gid", group, account])
            print("account \(account) set up again")
        }
        // No password, but not locked: sshd refuses a locked account even with a key.
        try ParticipantAdd.run("usermod", ["-p", "*", account])
        guard let user = getpwnam(account) else { throw ConfigurationFailure(message: "the account \(account) is not there after useradd") }
        let (uid, serviceGid) = (user.pointee.pw_uid, getgrnam(serviceGroup)?.pointee.gr_gid ?? 0)

        try makeDirectory(configuration.settings.dropRoot, owner: 0, group: 0, mode: 0o755)
        try makeDirectory(home, owner: 0, group: 0, mode: 0o755)
        for folder in ["inbound", "outbound"] { try makeDirectory("\(home)/\(folder)", owner: uid, group: serviceGid, mode: 0o2770) }
        print("folders \(home)/inbound and outbound: \(account) and the group \(getgrgid(serviceGid).map { String(cString: $0.pointee.gr_name) } ?? "root"), mode 2770")

        try makeDirectory(keysDir, owner: 0, group: 0, mode: 0o755)
        let keyPath = "\(keysDir)/\(account)"
        try ParticipantAdd.writeReplacing(keyPath, text: keys.joined(separator: "\n") + "\n", mode: 0o644, owner: 0, group: 0)
        print("\(keys.count) key\(keys.count == 1 ? "" : "s") in \(keyPath)")

        if let newText {
            var info = stat()
            let kept = stat(participantsFile.path, &info) == 0
            try ParticipantAdd.writeReplacing(
                participantsFile.path, text: newText, mode: kept ? info.st_mode & 0o7777 : 0o640, owner: kept ? info.st_uid : 0,
                group: kept ? info.st_gid : 0)
            print("\(orgId) added to \(participantsFile.path) (the service rereads it)")
        } else {
            print("\(orgId) is already in participants.csv; its row is left as it is")
        }
    }

    /// The public keys of `--ssh-key`, each checked by `ssh-keygen -l`.
    private func publicKeys() throws -> [String] {
        guard let text = try? String(contentsOfFile: sshKey, encoding: .utf8) else { throw ConfigurationFailure(message: "cannot read \(sshKey)") }
        let keys = text.split(separator: "\n").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard !keys.isEmpty else { throw ConfigurationFailure(message: "\(sshKey) holds no key") }
        if keys.contains(where: { $0.contains("PRIVATE KEY") }) {
            throw ConfigurationFailure(message: "\(sshKey) is a private key: give the partner's public key (.pub), and keep the private one away from this server")
        }
        let checked = try ParticipantAdd.run("ssh-keygen", ["-l", "-f", sshKey], mayFail: true)
        guard checked == 0 else { throw ConfigurationFailure(message: "\(sshKey) is not an OpenSSH public key file (ssh-keygen -l refuses it)") }
        return keys
    }

    private func makeDirectory(_ path: String, owner: uid_t, group: gid_t, mode: mode_t) throws {
        if mkdir(path, 0o700) != 0, errno != EEXIST {
            throw ConfigurationFailure(message: "cannot make \(path): \(String(cString: strerror(errno)))")
        }
        guard chown(path, owner, group) == 0, chmod(path, mode) == 0 else {
            throw ConfigurationFailure(message: "cannot set the owner and mode of \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Writes a file beside `path`, flushes it, and renames it over `path`.
    private static func writeReplacing(_ path: String, text: String, mode: mode_t, owner: uid_t, group: gid_t) throws {
        let temporary = "\(path).ktsx-\(getpid())"
        let descriptor = open(temporary, O_CREAT | O_TRUNC | O_WRONLY, mode)
        guard descriptor >= 0 else { throw ConfigurationFailure(message: "cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let ok = written == bytes.count && fchown(descriptor, owner, group) == 0 && fchmod(descriptor, mode) == 0 && fsync(descriptor) == 0
        close(descriptor)
        guard ok, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw ConfigurationFailure(message: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// A CSV field, quoted when it must be.
    static func csvField(_ value: String) -> String {
        value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : value
    }

    /// Runs a system command; throws with its error output when it fails (unless `mayFail`).
    @discardableResult
    static func run(_ command: String, _ arguments: [String], mayFail: Bool = false) throws -> Int32 {
        let result = try SystemCommand.run(command, arguments)
        if result.status != 0, !mayFail {
            throw ConfigurationFailure(message: "\(command) \(arguments.joined(separator: " ")) failed: \(result.errors)")
        }
        return result.status
    }
}
