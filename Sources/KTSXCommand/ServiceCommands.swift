import ArgumentParser
import ExchangeCore
import ExchangeLedgerPostgres
import ExchangeLedgerSQLite
import ExchangeRules
import ExchangeRuntime
import ExchangeValidation
import ExchangeWeb
import HummingbirdBcrypt
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import UnixSignals

/// Options shared by the commands that use the configuration directory.
struct ConfigurationOptions: ParsableArguments {
    @Option(help: "The configuration directory (ktsx.conf, participants.csv).")
    var config: String = "."

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func load() throws -> ExchangeConfiguration {
        do {
            return try ExchangeConfiguration.load(directory: config)
        } catch {
            throw ConfigurationFailure(message: "the configuration in \(config) has problems:\n\(error)")
        }
    }

    /// The logger of the command: text lines on standard error, or JSON objects (`log_format = json`).
    func logger(format: ServiceSettings.LogFormat = .text) -> Logger {
        var logger = Logger(label: "ktsx") { label in
            switch format {
            case .text: StreamLogHandler.standardError(label: label)
            case .json: JSONLogHandler.standardError(label: label)
            }
        }
        logger.logLevel = logLevel
        return logger
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// A configuration that cannot be used: printed as is, exit status 2.
struct ConfigurationFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// The wall clock of the process. `KTSX_CLOCK_START=2026-02-10T14:00:00Z` starts it at that instant (it
/// then runs at the normal rate): the hook that lets tests and drills play a school year through the real
/// binary. Never set in production.
enum WallClock {
    static let offsetSeconds: Int64 = {
        guard let text = ProcessInfo.processInfo.environment["KTSX_CLOCK_START"], let start = DateTimeValue(text) else { return 0 }
        return start.instant(defaultOffsetMinutes: 0).secondsSinceEpoch - Int64(Date().timeIntervalSince1970)
    }()

    /// Now.
    @Sendable static func now() -> Timestamp {
        Timestamp(secondsSinceEpoch: Int64(Date().timeIntervalSince1970) + offsetSeconds)
    }

    /// A short random suffix for ids: six hex digits (from the system's generator: no file opened for each).
    @Sendable static func randomSuffix() -> String {
        let hex = String(UInt32.random(in: 0..<(1 << 24)), radix: 16)
        return String(repeating: "0", count: 6 - hex.count) + hex
    }
}

/// Everything the service needs, built from the configuration (shared by `run`, `demo`, the job and
/// waiver commands, and the tests' binary runs).
struct Exchange {
    let configuration: ExchangeConfiguration
    let ledger: any LedgerStore
    let references: ReferenceStore
    let jobs: JobRunner
    let processor: FileProcessor
    let desk: SupportDesk
    var cycle: ExchangeCycle

    /// The ledger the settings name: the SQLite file in the state directory, or PostgreSQL.
    static func openLedger(_ settings: ServiceSettings, tree: DropTree) async throws(LedgerError) -> any LedgerStore {
        guard let url = settings.ledgerURL else { return try SQLiteLedger(path: tree.ledgerPath, leaseSeconds: settings.leaseSeconds) }
        var postgres = try PostgresLedgerSettings.parse(url, environment: ProcessInfo.processInfo.environment).get()
        postgres.leaseSeconds = settings.leaseSeconds
        return try await PostgresLedger.open(settings: postgres)
    }

    /// This instance's name (`instance_name`, or the host name): the service holds its leases under it.
    static func instanceName(_ settings: ServiceSettings) -> String {
        if let name = settings.instanceName { return name }
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "ktsx" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "ktsx" : name
    }

    /// - Parameter asService: `ktsx run` holds its leases under the instance's name (so a restart finishes
    ///   its own work at once); a command under the name, its own and its process id (so it never takes
    ///   over a file the service has in hand, nor the service one of the command's).
    init(configuration: ExchangeConfiguration, asService: Bool = false, command: String = "command") async throws {
        self.configuration = configuration
        let instance = Exchange.instanceName(configuration.settings)
        let owner = asService ? instance : "\(instance)/\(command)-\(getpid())"
        let tree = configuration.tree
        try tree.prepare(for: configuration.participants)
        ledger = try await Exchange.openLedger(configuration.settings, tree: tree)
        // Two running instances under one name would hold each other's leases: the second one refuses.
        if asService, try await !ledger.holdInstanceName(instance) {
            throw ConfigurationFailure(
                message: "another ktsx run named '\(instance)' is running on this ledger; give each instance its own instance_name in ktsx.conf")
        }
        let references = ReferenceStore(directory: configuration.directory, reference: configuration.reference)
        self.references = references
        let processor = FileProcessor(
            tree: tree, ledger: ledger, validator: try FileValidator(keySpillDirectory: tree.work),
            maxFileBytes: configuration.settings.maxFileBytes, maxRecords: configuration.settings.maxRecords,
            reference: { references.current }, now: WallClock.now,
            newReceiptId: { [receiptIds = ReceiptIds(now: WallClock.now, randomSuffix: WallClock.randomSuffix)] sender in
                receiptIds.next(for: sender)
            },
            owner: owner)
        self.processor = processor
        desk = SupportDesk(tree: tree, ledger: ledger, reference: { references.current }, now: WallClock.now)
        jobs = JobRunner(
            tree: tree, ledger: ledger, reference: { references.current }, now: WallClock.now,
            newRunId: { "J-\(WallClock.now().compact)-\(WallClock.randomSuffix())" }, owner: owner)
        cycle = ExchangeCycle(references: references, settings: configuration.settings, tree: tree, ledger: ledger, processor: processor)
    }

    /// Runs `body` with the ledger's connections working (PostgreSQL's pool; nothing to run for SQLite).
    func running<T>(_ body: () async throws -> T) async throws -> T {
        try await LedgerRunning.with(ledger, body)
    }

    /// The ledger as a service of the `ServiceGroup`, when it has background work (PostgreSQL's pool).
    var ledgerService: (any Service)? { ledger as? any Service }
}

/// `ktsx init`: creates the drop tree for the configured participants.
struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the drop tree and state directory for the configured participants.")

    @OptionGroup var options: ConfigurationOptions

    func run() throws {
        let configuration = try options.load()
        try configuration.tree.prepare(for: configuration.participants)
        print("drop tree ready at \(configuration.settings.dropRoot) for \(configuration.participants.count) participants")
        print("state directory: \(configuration.settings.stateDirectory)")
    }
}

/// `ktsx run`: the service.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Watch every participant's inbound/ and outbound/ and acknowledge every dropped file.",
        discussion: "SIGTERM or SIGINT finish the file in hand and stop. With --once, one full cycle runs and ktsx exits.")

    @OptionGroup var options: ConfigurationOptions

    @Flag(help: "Run until every file present is acknowledged (or --max-wait passes), then exit.")
    var once = false

    @Option(help: "With --once: the longest time to wait for files that are still changing, in seconds.")
    var maxWait: Int = 300

    func run() async throws {
        let configuration = try options.load()
        let logger = options.logger(format: configuration.settings.logFormat)
        var exchange = try await Exchange(configuration: configuration, asService: true)
        if once {
            let summary = try await exchange.running {
                let summary = try await ExchangeService.runUntilSettled(
                    cycle: &exchange.cycle, pollInterval: min(configuration.settings.pollInterval, .milliseconds(500)),
                    maxWait: .seconds(maxWait), logger: logger)
                _ = await exchange.jobs.recover(logger: logger)
                let runs = await exchange.jobs.runDueJobs(logger: logger)
                if !runs.isEmpty { print("ran \(runs.count) job run\(runs.count == 1 ? "" : "s")") }
                return summary
            }
            print("processed \(summary.processed), set aside \(summary.setAside), still waiting \(summary.waiting), failed \(summary.failed)")
            if summary.failed > 0 { throw ExitCode(1) }
            return
        }
        let service = ExchangeService(
            cycle: exchange.cycle, pollInterval: configuration.settings.pollInterval, logger: logger)
        let scheduler = JobScheduler(runner: exchange.jobs, logger: logger)
        // The ledger's pool first: a graceful shutdown stops the services in reverse order, so the
        // connections outlive the work that uses them.
        var services: [any Service] = (exchange.ledgerService.map { [$0] } ?? []) + [service, scheduler]
        if let keep = configuration.settings.keepSchoolYears, let ledger = exchange.ledger as? any RetiringLedger {
            services.append(
                SchoolYearRetirer(
                    ledger: ledger, keep: keep, archiveFolder: exchange.configuration.tree.retiredFolder,
                    openArchive: { year throws(LedgerError) in try YearArchive(path: year.archiveFile, for: year) }, now: WallClock.now,
                    logger: logger))
        }
        if let address = configuration.settings.reviewAddress {
            services.append(try reviewSite(exchange, logger: logger).service(address: address))
        }
        if let notifier = try notifier(exchange, logger: logger) {
            // Ten polls apart, between a second and half a minute: news is told within the minute.
            let interval = min(max(configuration.settings.pollInterval * 10, .seconds(1)), .seconds(30))
            services.append(NotifierService(notifier: notifier, interval: interval))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// The notifier of the contacts in `contacts.csv`, if there are any. A file with problems is refused at
    /// start, as the other configuration files are: a participant who asked to be told must be.
    private func notifier(_ exchange: Exchange, logger: Logger) throws -> Notifier? {
        let configuration = exchange.configuration
        let path = URL(fileURLWithPath: configuration.directory).appendingPathComponent(NotificationContacts.file).path
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let contacts: NotificationContacts
        do {
            contacts = try NotificationContacts.parse(Array(data), participants: Set(configuration.reference.participants.keys))
        } catch {
            throw ConfigurationFailure(message: "the contacts in \(path) have problems:\n\(error)")
        }
        guard !contacts.contacts.isEmpty else { return nil }
        let settings = configuration.settings
        let references = exchange.references
        return Notifier(
            ledger: exchange.ledger, reference: { references.current }, contacts: contacts,
            sender: MailAndWebhookSender(sendmailCommand: settings.sendmailCommand, from: settings.notifyFrom), now: WallClock.now,
            owner: Exchange.instanceName(settings), siteURL: settings.siteURL, logger: logger)
    }

    /// The review page over the exchange, with the support users of the configuration and the metrics
    /// of this process.
    private func reviewSite(_ exchange: Exchange, logger: Logger) throws -> ReviewSite {
        // A broken login file switches the review page's logins off, not the exchange: files keep flowing.
        var users = SupportUsers(hashes: [:])
        var loginProblem: String?
        do {
            users = try SupportUsers.load(directory: exchange.configuration.directory)
        } catch {
            loginProblem = "\(error)"
            logger.error(
                "the support users' file has problems; review page logins are refused until it is fixed",
                metadata: ["exchange.problems": "\(error)"])
        }
        if loginProblem == nil, users.names.isEmpty {
            logger.warning("no support users (\(SupportUsers.file)): nobody can log in to the review page")
        }
        // A broken clerks' file keeps the clerks out, not support.
        var clerks = ParticipantUsers()
        do {
            clerks = try ParticipantUsers.load(
                directory: exchange.configuration.directory, participants: Set(exchange.configuration.reference.participants.keys),
                supportNames: Set(users.names))
        } catch {
            logger.error(
                "the participant users' file has problems; participants' logins are refused until it is fixed",
                metadata: ["exchange.problems": "\(error)"])
        }
        // Uploads to "check a file before sending" are judged record by record on the request's own thread
        // (no blocks on every core: the exchange's files come first), against the ledger in use.
        let validator = try FileValidator(csvBlockSize: nil)
        let (ledger, references, maxRecords) = (exchange.ledger, exchange.references, exchange.configuration.settings.maxRecords)
        let checkFile: UploadedFileCheck = { bytes, name, orgId in
            try await FilePreCheck(validator: validator, ledger: ledger, reference: references.current, maxRecords: maxRecords)
                .check(bytes: bytes, displayName: name, senderOrgId: orgId, at: WallClock.now())
        }
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["ktsx_claim_to_ack_seconds"] = [
            .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300),
        ]
        MetricsSystem.bootstrap(factory)
        return try ReviewSite(
            desk: exchange.desk, jobs: exchange.jobs, users: users, loginProblem: loginProblem, clerks: clerks, checkFile: checkFile,
            reprocessFile: { [processor = exchange.processor] id, reason, logger in try await processor.reprocess(receiptId: id, reason: reason, logger: logger) },
            metrics: registry, logger: logger)
    }
}

/// `ktsx hash-password`: the line to put in `support-users.csv` for a support person, or with `--org` in
/// `participant-users.csv` for a participant's clerk.
struct HashPassword: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-password",
        abstract: "Read a password on standard input and add a support-users.csv row with its bcrypt hash (with --org, a participant-users.csv row).",
        discussion: """
            With --config DIR the row is added to DIR/support-users.csv, or with --org ORGID to DIR/participant-users.csv for a clerk \
            of that participant, who sees only its organisation's pages (created with its header, readable by its owner \
            and the directory's group, the service's, only); without, it is printed. Example: ktsx hash-password --user jdoe --config /etc/ktsx < password.txt. \
            Only the hash is kept.
            """)

    @Option(help: "The user name for the row.")
    var user: String

    @Option(help: "The configuration directory whose support-users.csv gets the row (created with its header if new).")
    var config: String?

    @Option(help: "bcrypt cost (work factor), 10 to 16.")
    var cost: Int = 12

    @Option(help: "Make the user a clerk of this participant (participant-users.csv) rather than support.")
    var org: String?

    func run() throws {
        guard (10...16).contains(cost) else { throw ValidationError("--cost must be 10 to 16") }
        guard let password = readLine(strippingNewline: true), password.count >= 12 else {
            throw ValidationError("give a password of at least 12 characters on standard input")
        }
        let hash = Bcrypt.hash(password, cost: UInt8(cost))
        let (file, columns, row) =
            if let org { (ParticipantUsers.file, ParticipantUsers.columns, "\(user),\(org),\(hash),clerk") }
            else { (SupportUsers.file, SupportUsers.columns, "\(user),\(hash)") }
        do {
            let table = Array("\(columns.joined(separator: ","))\n\(row)\n".utf8)
            if let org {
                // The organisation must be a participant, when the configuration says who they are.
                let participants = config.flatMap { try? ExchangeConfiguration.load(directory: $0) }.map { Set($0.reference.participants.keys) } ?? [org]
                _ = try ParticipantUsers.parse(table, participants: participants)
            } else {
                _ = try SupportUsers.parse(table)
            }
        } catch {
            throw ValidationError("\(error)")
        }
        guard let config else {
            print(row)
            return
        }
        let path = URL(fileURLWithPath: config).appendingPathComponent(file).path
        let isNew = !FileManager.default.fileExists(atPath: path)
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw ValidationError("cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        // A new file takes the directory's group (the service's, as the package sets /etc/ktsx up), which may
        // read it: the service runs as its own user, not as whoever made the file.
        var folder = stat()
        if isNew, stat(config, &folder) == 0 {
            _ = fchown(descriptor, getuid(), folder.st_gid)
            _ = fchmod(descriptor, 0o640)
        }
        var text = isNew ? columns.joined(separator: ",") + "\n" : ""
        // A file that does not end its last line gets one first, so the row stands on its own line.
        if !isNew, let existing = FileManager.default.contents(atPath: path), let last = existing.last, last != UInt8(ascii: "\n") {
            text += "\n"
        }
        text += row + "\n"
        guard write(descriptor, text, text.utf8.count) == text.utf8.count else {
            throw ValidationError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        print("added \(user) to \(path)")
    }
}
