import ArgumentParser
import ExchangeCore
import ExchangeLedgerSQLite
import ExchangeRules
import ExchangeRuntime
import Foundation

/// `ktsx post-grades`: the nightly grade posting, now.
struct PostGrades: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "post-grades",
        abstract: "Post every grade accepted since the last posting: one grade file per high school, now.",
        discussion: "Safe to repeat: grades already posted are not posted again. The service also posts nightly.")

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let exchange = try await Exchange(configuration: try options.load(), command: "jobs")
        try await exchange.running {
            let logger = options.logger(format: exchange.configuration.settings.logFormat)
            _ = await exchange.jobs.recover(logger: logger, minimumAge: JobRunner.retryAfterSeconds)
            let runKey = "manual:\(WallClock.now().compact)-\(WallClock.randomSuffix())"
            guard let run = try await exchange.jobs.postGrades(runKey: runKey, logger: logger) else { return }
            print(
                run.files == 0
                    ? "no grades waiting for posting"
                    : "posted \(run.records) grade\(run.records == 1 ? "" : "s") in \(run.files) file\(run.files == 1 ? "" : "s") (run \(run.id))")
        }
    }
}

/// `ktsx sync-unknown-attendance`: the nightly unknown-attendance sync, now.
struct SyncUnknownAttendance: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync-unknown-attendance",
        abstract: "Send each opted-in high school the unknown (UK) absences of a day, now.",
        discussion: """
            Without --date, each school gets its previous instructional day (by its calendar, else the previous \
            weekday). A school already sent a day is not sent it again.
            """)

    @OptionGroup var options: ConfigurationOptions

    @Option(help: "The day whose unknown absences are sent (YYYY-MM-DD).")
    var date: String?

    func run() async throws {
        let exchange = try await Exchange(configuration: try options.load(), command: "jobs")
        try await exchange.running {
            let logger = options.logger(format: exchange.configuration.settings.logFormat)
            var day: LocalDate?
            if let date {
                guard let parsed = LocalDate(date) else { throw ValidationError("--date must be a date YYYY-MM-DD, not '\(date)'") }
                day = parsed
            }
            _ = await exchange.jobs.recover(logger: logger, minimumAge: JobRunner.retryAfterSeconds)
            let policy = exchange.references.current.policy
            let runs = try await exchange.jobs.syncUnknownAttendance(night: policy.timeZone.local(WallClock.now()).date, day: day, logger: logger)
            if runs.isEmpty { print("nothing to send: every opted-in school was already sent that day") }
            for run in runs {
                let school = run.runKey.split(separator: "|").first.map(String.init) ?? ""
                print("\(school): \(run.records) unknown absence\(run.records == 1 ? "" : "s")\(run.files == 0 ? " (no file)" : "")")
            }
        }
    }
}

/// `ktsx waivers`: the waiver requests and their decisions.
struct Waivers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List waiver requests and where each stands.")

    @OptionGroup var options: ReviewOptions

    @Option(help: "Only requests in this state: pending, approved, denied, withdrawn.")
    var status: String?

    func run() async throws {
        var wanted: WaiverRequest.Status?
        if let status {
            guard let parsed = WaiverRequest.Status(rawValue: status) else {
                throw ValidationError("--status must be pending, approved, denied or withdrawn")
            }
            wanted = parsed
        }
        let exchange = try await options.exchange()
        try await exchange.running {
            let waivers = try await exchange.desk.waivers(status: wanted)
            let reference = exchange.references.current
            let zone = reference.policy.timeZone
            try options.emit(waivers.map { SupportViews.waiver($0, reference: reference) }) {
                guard !waivers.isEmpty else { return "no waiver requests\n" }
                var text = ""
                for waiver in waivers {
                    let name = reference.participants[waiver.centerOrgId]?.name ?? waiver.centerOrgId
                    text += "\(waiver.id)  \(waiver.status.rawValue.uppercased())  \(waiver.centerOrgId) \(name)  school year \(waiver.schoolYear)\n"
                    text += "    received \(SupportViews.localTime(waiver.receivedAt, zone)) (receipt \(waiver.receiptId)), reason \(waiver.values["reasonCode"] ?? "")\n"
                    if let reason = waiver.decisionReason, let decided = waiver.decidedAt {
                        text += "    decided \(SupportViews.localTime(decided, zone)): \(reason)\n"
                    }
                }
                return text
            }
        }
    }
}

/// `ktsx waiver approve|deny ID --reason TEXT`: support's decision.
struct Waiver: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Approve or deny a pending waiver request; the decision file goes to the center's outbound/.")

    enum Decision: String, ExpressibleByArgument, CaseIterable {
        case approve, deny
    }

    @OptionGroup var options: ConfigurationOptions

    @Argument(help: "approve or deny.")
    var decision: Decision

    @Argument(help: "The request's id (see `ktsx waivers`).")
    var id: String

    @Option(help: "Why: the center reads this.")
    var reason: String

    func run() async throws {
        let exchange = try await Exchange(configuration: try options.load(), command: "jobs")
        try await exchange.running {
            let logger = options.logger(format: exchange.configuration.settings.logFormat)
            _ = await exchange.jobs.recover(logger: logger, minimumAge: JobRunner.retryAfterSeconds)
            do {
                let (run, request) = try await exchange.jobs.decideWaiver(id: id, approve: decision == .approve, reason: reason, logger: logger)
                let file = try await exchange.ledger.deliveries(sourceId: run.id).first?.fileName ?? "?"
                print("\(request.id): \(request.status.rawValue) for \(request.centerOrgId), school year \(request.schoolYear); decision file \(file)")
            } catch let error as JobError {
                throw ConfigurationFailure(message: "ktsx: \(error.message)")
            }
        }
    }
}
