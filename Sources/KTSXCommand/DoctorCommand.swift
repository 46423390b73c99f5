import ArgumentParser
import ExchangeCore
import ExchangeLedgerPostgres
import ExchangeLedgerSQLite
import ExchangeRuntime
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `ktsx doctor`: checks a server's setup around the configuration and says what to fix.
struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check this server's setup for the exchange (folders, accounts, sshd, disk, ledger, review page) and say what to fix.",
        discussion: """
            Reads, changes nothing. Each line is `ok` or `FIX` with what to do. Run it as root (it reads the \
            accounts' passwords' state and asks sshd for each account's effective settings). Exits 1 when \
            something needs fixing.
            """)

    @Option(help: "The configuration directory.")
    var config: String = "/etc/ktsx"

    @Option(help: "sshd's configuration, for each partner account's effective settings (sshd -T).")
    var sshdConfig: String = "/etc/ssh/sshd_config"

    @Option(help: "The user the service runs as (its state directory must be its own).")
    var serviceUser: String = "ktsx"

    @Option(help: "Free space below this many MB on the drop tree's or the state's file system needs fixing.")
    var minimumFreeMB: Int = 1024

    func run() throws {
        var findings = Findings()
        let configuration: ExchangeConfiguration
        do {
            configuration = try ExchangeConfiguration.load(directory: config)
            findings.ok("the configuration in \(config) reads (\(configuration.participants.count) participant\(configuration.participants.count == 1 ? "" : "s"))")
        } catch {
            findings.fix("the configuration in \(config) has problems (ktsx check --config \(config)):\n    " + error.errors.map(\.description).joined(separator: "\n    "))
            findings.print()
            throw ExitCode(1)
        }
        let settings = configuration.settings
        checkFolders(settings, configuration.participants, &findings)
        checkAccounts(settings, configuration.participants, &findings)
        checkDisk(settings, &findings)
        checkLedger(settings, configuration.tree, &findings)
        if let address = settings.reviewAddress, address.hostNames == nil || !["127.0.0.1", "::1", "localhost"].contains(address.host.lowercased()) {
            findings.fix(
                "the review page listens on \(address), beyond loopback, and speaks plain HTTP: set review_address = 127.0.0.1:8480 and put a TLS proxy in front")
        } else {
            findings.ok("the review page is on loopback (\(settings.reviewAddress.map { "\($0)" } ?? "off"))")
        }
        findings.print()
        if findings.needFixing > 0 { throw ExitCode(1) }
    }

    /// The chroot chain sshd requires, the partners' folders, and the state directory.
    private func checkFolders(_ settings: ServiceSettings, _ participants: [Participant], _ findings: inout Findings) {
        // sshd chroots a partner into <drop_root>/<orgId>: it and every folder above must be root's and not writable by others.
        var path = ""
        var chainOK = true
        for component in settings.dropRoot.split(separator: "/") {
            path += "/\(component)"
            guard let info = Doctor.status(path) else {
                findings.fix("\(path) does not exist: `ktsx init --config \(config)` makes the drop tree")
                return
            }
            if info.st_uid != 0 || info.st_mode & 0o022 != 0 {
                findings.fix("\(path) must be root's and writable by root alone (sshd refuses a chroot below it): chown root \(path); chmod go-w \(path)")
                chainOK = false
            }
        }
        if chainOK { findings.ok("\(settings.dropRoot) and the folders above it are root's, writable by root alone") }
        let serviceGroup = getpwnam(serviceUser).map { $0.pointee.pw_gid }
        for participant in participants {
            let home = "\(settings.dropRoot)/\(participant.orgId)"
            guard let info = Doctor.status(home) else {
                findings.fix("\(home) does not exist: ktsx participant add \(participant.orgId) --ssh-key KEY")
                continue
            }
            if info.st_uid != 0 || info.st_mode & 0o022 != 0 {
                findings.fix("\(home) must be root's, mode 755 (the partner's chroot): chown root:root \(home); chmod 755 \(home)")
            }
            var folderProblems: [String] = []
            let account = getpwnam(ParticipantAdd.account(of: participant.orgId))
            for folder in ["inbound", "outbound"] {
                let path = "\(home)/\(folder)"
                guard let info = Doctor.status(path) else {
                    folderProblems.append("\(path) does not exist")
                    continue
                }
                if let account, info.st_uid != account.pointee.pw_uid { folderProblems.append("\(path) is not the account's") }
                if info.st_mode & 0o007 != 0 { folderProblems.append("\(path) is open to every user of the machine") }
                if let serviceGroup, info.st_gid != serviceGroup || info.st_mode & 0o070 != 0o070 {
                    folderProblems.append("\(path) is not shared with the service's group (rwx)")
                }
            }
            if folderProblems.isEmpty {
                findings.ok("\(participant.orgId): inbound/ and outbound/ are its account's, shared with the service")
            } else {
                findings.fix("\(participant.orgId): " + folderProblems.joined(separator: "; ") + ": ktsx participant add \(participant.orgId) --ssh-key KEY sets them up again")
            }
        }
        let state = settings.stateDirectory
        if let info = Doctor.status(state) {
            if let user = getpwnam(serviceUser), info.st_uid != user.pointee.pw_uid || info.st_mode & 0o077 != 0 {
                findings.fix("\(state) must be \(serviceUser)'s alone (it holds student data): chown -R \(serviceUser): \(state); chmod 700 \(state)")
            } else {
                findings.ok("\(state) is the service's alone")
            }
            if let drop = Doctor.status(settings.dropRoot), drop.st_dev != info.st_dev {
                findings.fix("\(state) and \(settings.dropRoot) are on different file systems: a claimed file cannot be renamed between them; put them on one")
            } else {
                findings.ok("the state directory and the drop tree are on one file system")
            }
        } else {
            findings.fix("\(state) does not exist: `ktsx init --config \(config)` makes it")
        }
    }

    /// Each partner's account: there, not locked, no shell, and sshd giving it SFTP alone in its folder.
    private func checkAccounts(_ settings: ServiceSettings, _ participants: [Participant], _ findings: inout Findings) {
        for participant in participants {
            let name = ParticipantAdd.account(of: participant.orgId)
            guard let account = getpwnam(name) else {
                findings.fix("\(participant.orgId) has no SFTP account (\(name)): ktsx participant add \(participant.orgId) --ssh-key KEY")
                continue
            }
            var problems: [String] = []
            let home = "\(settings.dropRoot)/\(participant.orgId)"
            if String(cString: account.pointee.pw_dir) != home { problems.append("its home is not \(home)") }
            if !["/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false"].contains(String(cString: account.pointee.pw_shell)) {
                problems.append("it has a shell")
            }
            if let shadow = try? Doctor.output("getent", ["shadow", name]), let password = shadow.split(separator: ":", omittingEmptySubsequences: false).dropFirst().first,
                password.hasPrefix("!")
            {
                problems.append("it is locked, and sshd refuses a locked account even with a key (usermod -p '*' \(name))")
            }
            switch sshdSettings(for: name) {
            case .failure(let reason):
                problems.append("sshd could not say its settings (\(reason))")
            case .success(let effective):
                let chroot = effective["chrootdirectory"].map { $0 == "%h" ? home : $0.replacingOccurrences(of: "%u", with: name) }
                if chroot != home { problems.append("sshd does not chroot it into \(home) (the package's sshd block: \(Doctor.sshdBlock))") }
                if effective["forcecommand"]?.hasPrefix("internal-sftp") != true { problems.append("sshd does not force internal-sftp on it") }
                if effective["disableforwarding"] != "yes" && effective["allowtcpforwarding"] != "no" {
                    problems.append("it can forward ports (a tunnel to the review page): DisableForwarding yes")
                }
                if effective["permittty"] != "no" { problems.append("it can open a terminal: PermitTTY no") }
                let keyFiles = (effective["authorizedkeysfile"] ?? "").split(separator: " ").map {
                    $0.replacingOccurrences(of: "%u", with: name).replacingOccurrences(of: "%h", with: home)
                }
                // sshd reads the keys as the account: the file and every folder above it must let it.
                let readable = keyFiles.filter { (Doctor.status($0)?.st_size ?? 0) > 0 }
                if readable.isEmpty {
                    problems.append("it has no key where sshd looks (\(keyFiles.joined(separator: " ")))")
                } else if !readable.contains(where: { Doctor.readable($0, by: account.pointee.pw_uid, group: account.pointee.pw_gid) }) {
                    problems.append(
                        "sshd cannot read its key as the account (\(readable.joined(separator: " "))): the file must be readable, and every folder above it enterable, by the account")
                }
            }
            if problems.isEmpty {
                findings.ok("\(participant.orgId): \(name) has SFTP alone, in its folder, with its key, no forwarding")
            } else {
                findings.fix("\(participant.orgId): \(name): " + problems.joined(separator: "; "))
            }
        }
    }

    private static let sshdBlock = "/etc/ssh/sshd_config.d/ktsx-partners.conf"

    /// `sshd -T` for an account connecting from loopback: its effective settings, lower-case keys.
    private func sshdSettings(for account: String) -> Result<[String: String], DoctorFailure> {
        let text: String
        do {
            text = try Doctor.output("sshd", ["-T", "-f", sshdConfig, "-C", "user=\(account),host=localhost,addr=127.0.0.1"])
        } catch {
            return .failure(error)
        }
        var settings: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard let key = parts.first else { continue }
            let value = parts.count > 1 ? String(parts[1]) : ""
            settings[String(key), default: ""] += settings[String(key)] == nil ? value : " \(value)"
        }
        return .success(settings)
    }

    private func checkDisk(_ settings: ServiceSettings, _ findings: inout Findings) {
        for (what, path) in [("the drop tree", settings.dropRoot), ("the state directory", settings.stateDirectory)] {
            var info = statvfs()
            guard statvfs(path, &info) == 0 else { continue }
            let free = Int64(info.f_bavail) * Int64(info.f_frsize) / (1024 * 1024)
            let share = info.f_blocks > 0 ? Double(info.f_bavail) / Double(info.f_blocks) * 100 : 100
            if free < minimumFreeMB || share < 5 {
                findings.fix("\(what) (\(path)) has \(free) MB free (\(Int(share)) %): make room before partners' files are refused for a full disk")
            } else {
                findings.ok("\(what) has \(free) MB free (\(Int(share)) %)")
            }
        }
    }

    private func checkLedger(_ settings: ServiceSettings, _ tree: DropTree, _ findings: inout Findings) {
        if let url = settings.ledgerURL {
            guard case .success(let postgres) = PostgresLedgerSettings.parse(url, environment: ProcessInfo.processInfo.environment) else {
                findings.fix("the ledger URL is not usable: ktsx check --config \(config)")
                return
            }
            if Doctor.reachable(host: postgres.host, port: postgres.port) {
                findings.ok("the PostgreSQL ledger's server answers at \(postgres.host):\(postgres.port) (migrations are applied when ktsx run starts)")
            } else {
                findings.fix("nothing answers at \(postgres.host):\(postgres.port), the PostgreSQL ledger's server")
            }
            return
        }
        let path = tree.ledgerPath
        guard FileManager.default.fileExists(atPath: path) else {
            findings.ok("no ledger yet at \(path): the first start makes it")
            return
        }
        do {
            let status = try SQLiteLedger.schemaStatus(ofLedgerAt: path)
            if !status.unknown.isEmpty {
                findings.fix("the ledger at \(path) was migrated by a newer ktsx (\(status.unknown.joined(separator: ", "))): install that ktsx again")
            } else if !status.pending.isEmpty {
                findings.ok("the ledger at \(path) reads; the next start applies \(status.pending.count) migration\(status.pending.count == 1 ? "" : "s")")
            } else {
                findings.ok("the ledger at \(path) reads and is migrated (\(status.applied) migrations)")
            }
        } catch {
            findings.fix("the ledger at \(path) cannot be read (\(error.message)): restore it from a backup (README, \"Back up and restore\")")
        }
    }

    private static func status(_ path: String) -> stat? {
        var info = stat()
        return lstat(path, &info) == 0 ? info : nil
    }

    /// Whether the user `uid` (of group `group`, no other groups) may read `path`, asked of the kernel as that user.
    private static func readable(_ path: String, by uid: uid_t, group: gid_t) -> Bool {
        (try? output("setpriv", ["--reuid=\(uid)", "--regid=\(group)", "--clear-groups", "/usr/bin/test", "-r", path])) != nil
    }

    private static func reachable(host: String, port: Int) -> Bool {
        (try? output("bash", ["-c", "exec 3<>/dev/tcp/\(host)/\(port)"])) != nil
    }

    /// A command's standard output; throws the first line of its error output when it fails.
    private static func output(_ command: String, _ arguments: [String]) throws(DoctorFailure) -> String {
        let result: SystemCommand
        do { result = try SystemCommand.run(command, arguments) } catch { throw DoctorFailure(reason: "\(command): \(error)") }
        guard result.status == 0 else { throw DoctorFailure(reason: result.errors.split(separator: "\n").first.map(String.init) ?? command) }
        return result.output
    }
}

/// Why a look at the server could not be taken.
struct DoctorFailure: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

/// What `ktsx doctor` found, in order.
struct Findings {
    private var lines: [String] = []
    /// How many need fixing.
    private(set) var needFixing = 0

    mutating func ok(_ text: String) { lines.append("ok   \(text)") }

    mutating func fix(_ text: String) {
        lines.append("FIX  \(text)")
        needFixing += 1
    }

    func print() {
        for line in lines { Swift.print(line) }
        Swift.print(needFixing == 0 ? "nothing to fix" : "\(needFixing) thing\(needFixing == 1 ? "" : "s") to fix")
    }
}
