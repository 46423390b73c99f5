import ArgumentParser
import ExchangeCore
import ExchangeLedgerPostgres
import ExchangeLedgerSQLite
import ExchangeRules
import ExchangeRuntime
import ExchangeValidation
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `ktsx validate`: checks files offline, as a partner would before sending them; with `--config`, also
/// under the rules, as the exchange would judge them if sent now (nothing kept).
struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check exchange files' form, encoding and schema, as the exchange does first when they arrive.",
        discussion: """
            The type and binding are recognised from the content (the XML root element, or the CSV header row).
            The rule codes (ENR-, ATT-, GRD-, WVR-) need the exchange's roster and reference data: without
            --config they are not checked (they are when the file arrives). With --config DIR, each file that
            passes is also judged under the rules against that configuration's reference data and ledger, as
            if its sender (--as, or the XML header's SenderOrgId) sent it now; the ledger is only read, and
            nothing is recorded, acknowledged or routed.
            Exit status: 0 when every file is valid (with --config: every record would be applied), 1 when
            any is not, 2 on a usage error, a file that cannot be read, or a configuration or ledger that
            cannot be used.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Option(help: "Output format: text for people, json for scripts.")
    var format: Format = .text

    @Option(help: "Most errors listed per file; the rest are counted.")
    var maxErrors: Int = IssueCollector.defaultLimit

    @Option(help: "A configuration directory: also judge the files under the rules, against its reference data and ledger (read only).")
    var config: String?

    @Option(name: .customLong("as"), help: "With --config: the participant the files come from (default: the XML header's SenderOrgId).")
    var sender: String?

    @Argument(help: "The files to check.")
    var files: [String]

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("Name at least one file to check.") }
        guard maxErrors >= 1 else { throw ValidationError("--max-errors must be at least 1.") }
        if sender != nil, config == nil { throw ValidationError("--as needs --config: the sender matters only under the rules.") }
    }

    func run() async throws {
        if let config {
            try await runUnderRules(config: config)
            return
        }
        let validator = try FileValidator(issueLimit: maxErrors)
        var reports: [ValidationReport] = []
        var unreadable = false
        var standardError = StandardError()
        for file in files {
            do {
                reports.append(try validator.validate(path: file))
            } catch {
                unreadable = true
                print("ktsx: \(error)", to: &standardError)
            }
        }
        let output = format == .json ? ReportRenderer.json(reports) : ReportRenderer.text(reports)
        print(output, terminator: "")
        if format == .text, reports.contains(where: { $0.isValid && $0.type.map(ExchangeType.partnerTypes.contains) == true }) {
            print("Rules not checked: they need the exchange's roster and reference data, and are checked when a file arrives.")
        }
        if unreadable { throw ExitCode(2) }
        if reports.contains(where: { !$0.isValid }) { throw ExitCode(1) }
    }
}

extension Validate {
    /// Validates each file and judges those that pass under the rules, against the configuration's
    /// reference data and its ledger opened read-only.
    private func runUnderRules(config: String) async throws {
        let configuration: ExchangeConfiguration
        do {
            configuration = try ExchangeConfiguration.load(directory: config)
        } catch {
            throw ConfigurationFailure(message: "the configuration in \(config) has problems:\n\(error)")
        }
        if let sender, configuration.reference.participants[sender] == nil {
            throw ValidationError("\(sender) is not a participant of the configuration in \(config) (participants.csv).")
        }
        let ledger = try await Validate.openLedgerReadOnly(configuration)
        let preCheck = FilePreCheck(
            validator: try FileValidator(issueLimit: maxErrors), ledger: ledger, reference: configuration.reference,
            maxRecords: configuration.settings.maxRecords)
        var checked: [PreCheckedFile] = []
        var unreadable = false
        var standardError = StandardError()
        try await LedgerRunning.with(ledger) {
            for file in files {
                do {
                    checked.append(try await preCheck.check(path: file, displayName: file, senderOrgId: sender, at: WallClock.now()))
                } catch let error as LedgerError {
                    throw ConfigurationFailure(message: "the ledger cannot be read: \(error)")
                } catch {
                    unreadable = true
                    print("ktsx: \(error)", to: &standardError)
                }
            }
        }
        print(format == .json ? ReportRenderer.json(checked) : ReportRenderer.text(checked), terminator: "")
        if unreadable { throw ExitCode(2) }
        if checked.contains(where: { !$0.wouldBeAccepted }) { throw ExitCode(1) }
    }

    /// The configuration's ledger, opened for reading only: nothing created, migrated or written.
    static func openLedgerReadOnly(_ configuration: ExchangeConfiguration) async throws -> any LedgerStore {
        do {
            guard let url = configuration.settings.ledgerURL else {
                return try SQLiteLedger(path: configuration.tree.ledgerPath, readOnly: true)
            }
            let settings = try PostgresLedgerSettings.parse(url, environment: ProcessInfo.processInfo.environment).get()
            return try await PostgresLedger.open(settings: settings, readOnly: true)
        } catch {
            throw ConfigurationFailure(message: "the ledger cannot be read: \(error)")
        }
    }
}

/// Standard error as a `TextOutputStream`.
struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var bytes = Array(string.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
