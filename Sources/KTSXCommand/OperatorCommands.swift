import ArgumentParser
import ExchangeCore
import ExchangeLedgerPostgres
import ExchangeLedgerSQLite
import ExchangeRules
import ExchangeRuntime
import ExchangeWeb
import Foundation

/// `ktsx check`: reads every file of a configuration directory as `ktsx run` would and says what it found,
/// every problem with its file and line, without creating or starting anything.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a configuration directory: every file read, every problem named; nothing created or started.",
        discussion: "Exits 0 when `ktsx run` would start with it, 2 with the list of problems otherwise.")

    @Option(help: "The configuration directory (ktsx.conf, participants.csv, the reference files).")
    var config: String = "."

    func run() throws {
        let report = Check.report(directory: config, environment: ProcessInfo.processInfo.environment)
        guard report.problems.isEmpty else {
            throw ConfigurationFailure(
                message: "the configuration in \(config) has \(report.problems.count) problem\(report.problems.count == 1 ? "" : "s"):\n"
                    + report.problems.joined(separator: "\n"))
        }
        print(report.findings.joined(separator: "\n"))
    }

    /// What a check of `directory` found: problems (`FILE:LINE: reason`), or what the configuration says.
    static func report(directory: String, environment: [String: String]) -> (problems: [String], findings: [String]) {
        var problems: [String] = []
        var configuration: ExchangeConfiguration?
        do {
            configuration = try ExchangeConfiguration.load(directory: directory)
        } catch {
            problems += error.errors.map(\.description)
        }
        var users: SupportUsers?
        do {
            users = try SupportUsers.load(directory: directory)
        } catch {
            problems += error.errors.map(\.description)
        }
        guard let configuration, let users else { return (problems, []) }
        var clerks: ParticipantUsers?
        do {
            clerks = try ParticipantUsers.load(
                directory: directory, participants: Set(configuration.reference.participants.keys), supportNames: Set(users.names))
        } catch {
            problems += error.errors.map(\.description)
        }
        var contacts = NotificationContacts()
        if let data = FileManager.default.contents(atPath: URL(fileURLWithPath: directory).appendingPathComponent(NotificationContacts.file).path) {
            do {
                contacts = try NotificationContacts.parse(Array(data), participants: Set(configuration.reference.participants.keys))
            } catch {
                problems += error.errors.map(\.description)
            }
        }
        let settings = configuration.settings
        if let url = settings.ledgerURL, case .failure(let error) = PostgresLedgerSettings.parse(url, environment: environment) {
            problems.append("\(ExchangeConfiguration.settingsFile): \(error.message)")
        }
        let drop = URL(fileURLWithPath: settings.dropRoot).resolvingSymlinksInPath().path
        let state = URL(fileURLWithPath: settings.stateDirectory).resolvingSymlinksInPath().path
        if state == drop || state.hasPrefix(drop + "/") {
            problems.append(
                "\(ExchangeConfiguration.settingsFile): state_dir \(settings.stateDirectory) is inside drop_root \(settings.dropRoot); "
                    + "partners would see the ledger and each other's originals: put it outside")
        } else if drop.hasPrefix(state + "/") {
            problems.append(
                "\(ExchangeConfiguration.settingsFile): drop_root \(settings.dropRoot) is inside state_dir \(settings.stateDirectory); "
                    + "put them side by side on one file system")
        }
        guard problems.isEmpty else { return (problems, []) }

        let participants = configuration.participants
        let centers = participants.filter(\.classification.isTechnicalCenter).count
        let present = ReferenceDataParser.files.filter { FileManager.default.fileExists(atPath: "\(configuration.directory)/\($0)") }
        let absent = ReferenceDataParser.files.filter { !present.contains($0) }
        var findings = ["the configuration in \(configuration.directory) is usable; nothing was created or started"]
        findings.append("  drop_root \(settings.dropRoot)\(exists(settings.dropRoot) ? "" : " (not there yet: `ktsx init` makes it)")")
        findings.append("  state_dir \(settings.stateDirectory)\(exists(settings.stateDirectory) ? "" : " (not there yet: `ktsx init` makes it)")")
        findings.append(
            "  ledger: "
                + (settings.ledgerURL.map { "PostgreSQL, \(ConfigurationParser.withoutPassword($0))" } ?? "SQLite, \(configuration.tree.ledgerPath)"))
        findings.append(
            "  files ready after \(settings.quietPeriod.secondsText) unchanged, folders looked at every \(settings.pollInterval.secondsText), "
                + "log lines as \(settings.logFormat.rawValue)")
        findings.append(
            "  originals kept \(settings.retentionDays) days; "
                + (settings.keepSchoolYears.map { "the ledger keeps \($0) school year\($0 == 1 ? "" : "s") whole, older ones retired each July 1" }
                    ?? "the ledger keeps every school year (keep_school_years not set)"))
        let clerkCount = clerks?.names.count ?? 0
        findings.append(
            "  review page: \(settings.reviewAddress.map { "http://\($0)" } ?? "off"), \(users.names.count) support user\(users.names.count == 1 ? "" : "s"), "
                + "\(clerkCount) participant clerk\(clerkCount == 1 ? "" : "s")")
        let emails = contacts.contacts.filter { $0.channel == .email }.count
        findings.append(
            "  notifications: \(emails) email and \(contacts.contacts.count - emails) webhook contact(s) (\(NotificationContacts.file)), "
                + (emails > 0
                    ? "mail handed to \(settings.sendmailCommand)\(FileManager.default.isExecutableFile(atPath: settings.sendmailCommand) ? "" : " (not there: install a mail agent)")"
                    : "no mail"))
        findings.append(
            "  \(participants.count) participant\(participants.count == 1 ? "" : "s"): \(centers) technical center\(centers == 1 ? "" : "s"), "
                + "\(participants.count - centers) high school\(participants.count - centers == 1 ? "" : "s")")
        findings.append("  reference files read: \(present.isEmpty ? "none" : present.joined(separator: ", "))")
        if !absent.isEmpty { findings.append("  reference files absent: \(absent.joined(separator: ", "))") }
        return (problems, findings)
    }

    private static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }
}

extension Duration {
    /// `5s`, `500ms`: as `ktsx.conf` writes it.
    var secondsText: String {
        let milliseconds = components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }
}

/// `ktsx backup`: a consistent copy of the SQLite ledger, made while the service runs.
struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the ledger to a file while the service runs (SQLite); the copy is checked before it replaces FILE.",
        discussion: """
            The copy is the ledger as of one commit. Originals are not in it: they stay in the state directory's \
            archive and quarantine (back those up with the machine's file backups). A PostgreSQL ledger is backed up \
            with pg_dump (README, "Operating ktsx").
            """)

    @OptionGroup var options: ConfigurationOptions

    @Option(help: "The file to write (replaced only once the new copy is whole and checked).")
    var to: String

    func run() throws {
        let configuration = try options.load()
        let settings = configuration.settings
        if let url = settings.ledgerURL {
            throw ConfigurationFailure(
                message: "the ledger is PostgreSQL (\(ConfigurationParser.withoutPassword(url))): back it up with pg_dump --format=custom, "
                    + "as README's \"Operating ktsx\" shows")
        }
        let destination = URL(fileURLWithPath: to).standardizedFileURL
        let folder = destination.deletingLastPathComponent().resolvingSymlinksInPath().path
        let drop = URL(fileURLWithPath: settings.dropRoot).resolvingSymlinksInPath().path
        if folder == drop || folder.hasPrefix(drop + "/") {
            throw ConfigurationFailure(message: "\(to) is inside the drop tree, where partners could read it; write the backup elsewhere")
        }
        let ledgerPath = configuration.tree.ledgerPath
        if destination.resolvingSymlinksInPath().path == URL(fileURLWithPath: ledgerPath).resolvingSymlinksInPath().path {
            throw ConfigurationFailure(message: "\(to) is the ledger itself; name another file")
        }
        let summary: LedgerBackupSummary
        do {
            summary = try SQLiteLedger.backup(ledgerAt: ledgerPath, to: destination.path)
        } catch {
            var standardError = StandardError()
            print("ktsx backup: \(error.message)", to: &standardError)
            throw ExitCode(1)
        }
        print(
            "backed up \(ledgerPath) to \(destination.path): \(summary.receipts) receipt\(summary.receipts == 1 ? "" : "s")"
                + (summary.lastClaimedAt.map { " (the last claimed \($0.iso8601))" } ?? "")
                + ", \(summary.jobRuns) job run\(summary.jobRuns == 1 ? "" : "s"), \(summary.sizeBytes) bytes, migration \(summary.lastMigration)")
    }
}

/// `ktsx restore`: the ledger put back from a backup, and the files judged since taken up again.
struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put the ledger back from a backup (SQLite) and take up again every file judged since; the service must be stopped.",
        discussion: """
            With --from FILE (SQLite): the ledger in use is moved aside as ledger.sqlite.replaced-TIME (never \
            deleted), the backup is checked and copied in. With --take-up-only (after pg_restore, or after putting a \
            copy in place by hand): the ledger is left as it is. Then every original in the archive and quarantine \
            that the ledger does not know is judged again as its own receipt, in the order they were filed, its \
            outputs recorded as delivered under their names (waiting when still in outbound/, picked up when not), \
            nothing written again. Files in outbound/ the ledger still cannot account for (nightly jobs run after the \
            backup) are listed. Exits 1 when a file could not be taken up.
            """)

    @OptionGroup var options: ConfigurationOptions

    @Option(help: "The backup to put back (made by ktsx backup).")
    var from: String?

    @Flag(help: "Keep the ledger as it is (restored by other means) and only take up the files judged since.")
    var takeUpOnly = false

    func run() async throws {
        let configuration = try options.load()
        guard (from != nil) != takeUpOnly else { throw ValidationError("give either --from FILE or --take-up-only") }
        let tree = configuration.tree
        if let heartbeat = tree.heartbeat(), kill(heartbeat.processId, 0) == 0,
            let command = try? String(contentsOfFile: "/proc/\(heartbeat.processId)/comm", encoding: .utf8), command.hasPrefix("ktsx")
        {
            throw ConfigurationFailure(message: "the service is running (process \(heartbeat.processId)); stop it before a restore")
        }
        if let from {
            guard configuration.settings.ledgerURL == nil else {
                throw ConfigurationFailure(
                    message: "the ledger is PostgreSQL: restore it with pg_restore (README, \"Operating ktsx\"), then run ktsx restore --take-up-only")
            }
            try putBack(URL(fileURLWithPath: from).standardizedFileURL.path, ledgerPath: tree.ledgerPath)
        }
        let exchange = try await Exchange(configuration: configuration, asService: true)
        let logger = options.logger(format: configuration.settings.logFormat)
        let report = try await exchange.running {
            try await LostHoursRecovery(processor: exchange.processor, participants: configuration.participants).run(logger: logger)
        }
        var counts: [FileOutcome: Int] = [:]
        for receipt in report.takenUp { counts[receipt.outcome ?? .rejected, default: 0] += 1 }
        let outcomes = FileOutcome.allCases.compactMap { outcome in counts[outcome].map { "\($0) \(outcome.rawValue)" } }
        print(
            "took up again \(report.takenUp.count) file\(report.takenUp.count == 1 ? "" : "s") judged after the backup"
                + (outcomes.isEmpty ? "" : " (\(outcomes.joined(separator: ", ")))"))
        for id in report.judgedOtherwise {
            print("  \(id) was judged otherwise than before (the reference data changed since?): `ktsx show \(id)`")
        }
        if !report.unaccounted.isEmpty {
            print(
                "\(report.unaccounted.count) file\(report.unaccounted.count == 1 ? "" : "s") in outbound/ that the ledger cannot account for "
                    + "(written after the backup by a nightly job, whose run it does not know; the job runs those nights again):")
            for (orgId, name) in report.unaccounted { print("  \(orgId)/outbound/\(name)") }
        }
        guard report.failed.isEmpty else {
            var standardError = StandardError()
            for (receiptId, reason) in report.failed { print("ktsx restore: \(receiptId) could not be taken up: \(reason)", to: &standardError) }
            throw ExitCode(1)
        }
    }

    /// Moves the ledger in use aside (never deleted) and copies the checked backup in its place.
    private func putBack(_ backup: String, ledgerPath: String) throws {
        guard FileManager.default.fileExists(atPath: backup) else { throw ConfigurationFailure(message: "there is no backup at \(backup)") }
        let aside = "\(ledgerPath).replaced-\(WallClock.now().compact)"
        var moved: [(String, String)] = []
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: ledgerPath + suffix) {
            guard rename(ledgerPath + suffix, aside + suffix) == 0 else {
                throw ConfigurationFailure(message: "cannot move \(ledgerPath + suffix) aside: \(String(cString: strerror(errno)))")
            }
            chmod(aside + suffix, 0o600)  // student data, kept for its owner only
            moved.append((ledgerPath + suffix, aside + suffix))
        }
        do {
            let summary = try SQLiteLedger.backup(ledgerAt: backup, to: ledgerPath)
            print(
                "put back \(backup): \(summary.receipts) receipt\(summary.receipts == 1 ? "" : "s")"
                    + (summary.lastClaimedAt.map { ", the last claimed \($0.iso8601)" } ?? "")
                    + (moved.isEmpty ? "" : "; the ledger it replaced is kept as \(aside)"))
        } catch {
            for (original, kept) in moved { rename(kept, original) }
            throw ConfigurationFailure(message: "the backup \(backup) cannot be put back: \(error.message); the ledger was left as it was")
        }
    }
}

/// `ktsx retire`: a closed school year moved out of the ledger into an archive file of its own.
struct Retire: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Move a closed school year's held records, record trail and receipts' details out of the ledger into an archive file.",
        discussion: """
            A school year (July 1 to June 30, named by the year it ends) can be retired from the July 1 after it, \
            Kentucky time, once none of its files is still being judged, none of its grades waits for posting and no \
            file carrying its records waits for pickup. Its \
            held records (roster, attendance, grades), its receipts' error lists and failing records, its delivered \
            files that were picked up and its record trail move to the archive (an SQLite file, mode 600; default \
            STATE_DIR/retired/school-year-YEAR.sqlite) a batch at a time, while the service runs. Its receipts stay in \
            the ledger with their outcomes: duplicates are still recognised and `ktsx show` says where the details \
            went. From the moment it begins, records of the year are refused (ENR-09, ATT-13, GRD-14). Interrupted, \
            it is finished by running it again. Works on SQLite and PostgreSQL ledgers alike.
            """)

    @OptionGroup var options: ConfigurationOptions

    @Option(name: .customLong("school-year"), help: "The school year to retire, named by the year it ends (2026: July 2025 to June 2026).")
    var schoolYear: Int

    @Option(help: "The archive file to write (default: STATE_DIR/retired/school-year-YEAR.sqlite; outside the drop tree).")
    var to: String?

    func run() async throws {
        let configuration = try options.load()
        let tree = configuration.tree
        let path: String
        if let to {
            path = URL(fileURLWithPath: to).standardizedFileURL.path
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().resolvingSymlinksInPath().path
            let drop = URL(fileURLWithPath: configuration.settings.dropRoot).resolvingSymlinksInPath().path
            if folder == drop || folder.hasPrefix(drop + "/") {
                throw ConfigurationFailure(message: "\(to) is inside the drop tree, where partners could read it; write the archive elsewhere")
            }
        } else {
            path = "\(tree.retiredFolder)/school-year-\(schoolYear).sqlite"
        }
        let year: RetiredYear
        switch SchoolYearClosing.plan(schoolYear: schoolYear, archiveFile: path, now: WallClock.now()) {
        case .success(let planned): year = planned
        case .failure(let refusal): throw ConfigurationFailure(message: "ktsx retire: \(refusal)")
        }
        let ledger = try await Exchange.openLedger(configuration.settings, tree: tree)
        guard let retiring = ledger as? any RetiringLedger else { throw ConfigurationFailure(message: "ktsx retire: this ledger cannot retire years") }
        let zone = configuration.reference.policy.timeZone
        let outcome = try await LedgerRunning.with(ledger) { () async throws -> SchoolYearRetirement.Outcome? in
            // A year the ledger holds nothing of (a mistyped year?) is not recorded: its records would be refused.
            if try await !retiring.retiredYears().contains(where: { $0.schoolYear == schoolYear }) {
                // The archive is checked before anything is recorded: a retirement goes on in the file it began.
                if FileManager.default.fileExists(atPath: path) {
                    _ = try YearArchive(path: path, for: year)
                } else {
                    let folder = (path as NSString).deletingLastPathComponent
                    let parent = FileManager.default.fileExists(atPath: folder) ? folder : (folder as NSString).deletingLastPathComponent
                    guard access(parent, W_OK) == 0 else {
                        throw ConfigurationFailure(message: "ktsx retire: cannot write \(path) (\(parent) is not writable by this user)")
                    }
                }
                var holdsSome = false
                for table in RetiredTable.allCases where !holdsSome {
                    holdsSome = try await !retiring.rowsToRetire(table, of: year, after: nil, limit: 1).rows.isEmpty
                }
                guard holdsSome else { return nil }
            }
            let retirement = SchoolYearRetirement(ledger: retiring) { year throws(LedgerError) in try YearArchive(path: year.archiveFile, for: year) }
            var reported = 0
            return try await retirement.run(year, now: WallClock.now, progress: { table, moved in
                guard moved - reported >= 100_000 else { return }
                reported = moved
                print("  \(moved) \(table.rowsName) moved so far")
                fflush(nil)  // seen as it goes, also when the output is a file
            })
        }
        switch outcome {
        case nil:
            print("the ledger holds nothing of school year \(schoolYear) (is it the year you meant?): nothing was retired or recorded")
        case .blocked(let blockers)?:
            var reasons: [String] = []
            if blockers.unfinishedReceipts > 0 {
                reasons.append("\(blockers.unfinishedReceipts) of its files are still being judged (the service finishes them; `ktsx status`)")
            }
            if blockers.gradesWaitingForPosting > 0 {
                reasons.append("\(blockers.gradesWaitingForPosting) of its grades wait for the next grade posting (`ktsx post-grades`)")
            }
            if blockers.filesWaitingForPickup > 0 {
                reasons.append("\(blockers.filesWaitingForPickup) files carrying its records wait for pickup (ask the partners to take them)")
            }
            var standardError = StandardError()
            print("ktsx retire: school year \(schoolYear) cannot be retired yet: \(reasons.joined(separator: "; ")); nothing was moved", to: &standardError)
            if !blockers.waitingFiles.isEmpty {
                let more = blockers.filesWaitingForPickup - blockers.waitingFiles.count
                print("files waiting\(more > 0 ? " (the first \(blockers.waitingFiles.count))" : ""):", to: &standardError)
                for file in blockers.waitingFiles { print("  \(file.recipientOrgId)/outbound/\(file.fileName)", to: &standardError) }
            }
            throw ExitCode(1)
        case .stopped?:
            var standardError = StandardError()
            print("ktsx retire: stopped before school year \(schoolYear) was retired; run it again to finish", to: &standardError)
            throw ExitCode(1)
        case .retiredBefore(let retired)?:
            print(
                "school year \(schoolYear) was retired already, "
                    + "\(retired.finishedAt.map { SupportViews.localTime($0, zone) } ?? "?"), to \(retired.archiveFile)")
        case .retired(let retired, let moved)?:
            let counts = RetiredTable.allCases.map { "\(moved[$0, default: 0]) \($0.rowsName)" }.joined(separator: ", ")
            print("retired school year \(schoolYear) to \(retired.archiveFile): \(counts)")
            print("its receipts stay in the ledger with their outcomes; its records are refused from now on (ENR-09, ATT-13, GRD-14)")
        }
    }
}
