import ArgumentParser
import ExchangeCore
import ExchangeRules
import ExchangeRuntime
import ExchangeValidation
import Foundation

/// Options of every review command: the configuration and the output format.
struct ReviewOptions: ParsableArguments {
    /// How a review command prints.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @OptionGroup var configuration: ConfigurationOptions

    @Option(help: "text (for people) or json (for scripts).")
    var format: Format = .text

    /// The exchange of the configuration.
    func exchange() async throws -> Exchange { try await Exchange(configuration: try configuration.load(), command: "review") }

    /// Prints `view` as JSON, or the text that `text` makes.
    func emit(_ view: Any, text: () -> String) throws {
        switch format {
        case .json:
            let data = try JSONSerialization.data(withJSONObject: view, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        case .text:
            print(text(), terminator: "")
        }
    }
}

/// Text layout helpers for the review commands.
enum TextTable {
    /// Rows with columns padded to the widest cell (the last column is not padded).
    static func render(_ rows: [[String]], indent: String = "") -> String {
        guard let columns = rows.map(\.count).max() else { return "" }
        var widths = Array(repeating: 0, count: columns)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        return rows.map { row in
            indent + row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    static func plural(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }
}

/// `ktsx status`: the exchange at a glance.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show whether the service runs, what waits, the latest job runs and each participant's last file.")

    @OptionGroup var options: ReviewOptions

    func run() async throws {
        let exchange = try await options.exchange()
        try await exchange.running {
            let report = try await exchange.desk.status()
            let reference = exchange.references.current
            let zone = reference.policy.timeZone
            try options.emit(SupportViews.status(report, reference: reference)) {
                var text = ""
                let backlog = report.backlog
                if let heartbeat = backlog.heartbeat, let age = backlog.secondsSinceLastPass {
                    text += backlog.serviceRunning
                        ? "service: running (last pass \(age) s ago, process \(heartbeat.processId))\n"
                        : "service: NOT RUNNING (last pass \(SupportViews.localTime(heartbeat.time, zone)), process \(heartbeat.processId))\n"
                } else {
                    text += "service: has never run on this state directory\n"
                }
                text += "backlog: \(TextTable.plural(backlog.waitingInInbound, "file")) waiting in inbound, "
                    + "\(TextTable.plural(backlog.receiptsInProgress, "receipt")) in progress, "
                    + "\(TextTable.plural(backlog.jobRunsInProgress, "job run")) in progress\n"
                text += "deliveries: \(backlog.deliveriesWaiting) waiting for pickup, \(backlog.deliveriesOverdue) past \(reference.policy.pickupThresholdHours) h\n"
                if !report.lastJobRuns.isEmpty {
                    text += "latest job runs:\n"
                    text += TextTable.render(
                        report.lastJobRuns.map { run in
                            [run.job.rawValue, run.runKey, run.state.rawValue, SupportViews.localTime(run.startedAt, zone),
                             "\(TextTable.plural(run.files, "file")), \(TextTable.plural(run.records, "record"))"]
                        }, indent: "  ")
                }
                text += "participants:\n"
                text += TextTable.render(
                    [["ORG", "NAME", "CLASS", "INBOUND", "LAST FILE"]]
                        + report.participants.map { line in
                            let last = line.lastReceipt.map { receipt in
                                "\(SupportViews.localTime(receipt.claimedAt, zone))  \(receipt.fileType?.code ?? "?")  "
                                    + "\(receipt.outcome?.rawValue ?? receipt.state.rawValue)  \(receipt.id)"
                            } ?? "none yet"
                            return [line.participant.orgId, line.participant.name, line.participant.classification.rawValue, "\(line.waitingInInbound)", last]
                        }, indent: "  ")
                return text
            }
        }
    }
}

/// `ktsx submissions`: received files, filtered.
struct Submissions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List received files, newest first, filtered by participant, type, outcome and date.",
        discussion: "Dates are Kentucky dates (the schedule's time zone); --to includes its whole day.")

    @OptionGroup var options: ReviewOptions

    @Option(name: .customLong("participant"), help: "Only files from this orgId (repeatable).")
    var participants: [String] = []

    @Option(name: .customLong("type"), help: "Only files of this type: ENR, ATT, GRD, WVR (repeatable).")
    var types: [String] = []

    @Option(name: .customLong("outcome"), help: "Only this outcome: accepted, accepted-with-errors, rejected, duplicate (repeatable).")
    var outcomes: [String] = []

    @Option(help: "Only files received on or after this date (YYYY-MM-DD).")
    var from: String?

    @Option(help: "Only files received on or before this date (YYYY-MM-DD).")
    var to: String?

    @Option(help: "At most this many (the newest).")
    var limit: Int = 100

    func run() async throws {
        let exchange = try await options.exchange()
        try await exchange.running {
            let reference = exchange.references.current
            let query: ReceiptQuery
            do {
                query = try SubmissionFilter(
                    participants: participants, types: types, outcomes: outcomes, from: from, to: to, limit: limit
                ).query(zone: reference.policy.timeZone)
            } catch let error as SupportError {
                throw ValidationError(error.message)
            }
            let receipts = try await exchange.desk.submissions(query)
            let zone = reference.policy.timeZone
            try options.emit(receipts.map { SupportViews.receipt($0, reference: reference) }) {
                guard !receipts.isEmpty else { return "no files match\n" }
                return TextTable.render(
                    [["RECEIVED", "RECEIPT", "SENDER", "TYPE", "OUTCOME", "RECORDS", "ERRORS", "FILE"]]
                        + receipts.map { receipt in
                            [SupportViews.localTime(receipt.claimedAt, zone), receipt.id, receipt.senderOrgId, receipt.fileType?.code ?? "?",
                             receipt.outcome?.rawValue ?? receipt.state.rawValue, "\(receipt.recordsAccepted)/\(receipt.recordsReceived)",
                             "\(receipt.errorCount)", receipt.originalName]
                        })
            }
        }
    }
}

/// `ktsx show RECEIPT`: one file's whole story.
struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a file's whole story: when it came, how it was judged, what failed and why, where its outputs went.")

    @OptionGroup var options: ReviewOptions

    @Argument(help: "The receipt id (from the acknowledgement or `ktsx submissions`).")
    var receipt: String

    func run() async throws {
        let exchange = try await options.exchange()
        try await exchange.running {
            let reference = exchange.references.current
            let story: ReceiptStory
            do {
                story = try await exchange.desk.story(of: receipt)
            } catch let error as SupportError {
                throw ConfigurationFailure(message: "ktsx: \(error.message)")
            }
            try options.emit(SupportViews.story(story, reference: reference)) { Show.text(story, reference: reference) }
        }
    }

    static func text(_ story: ReceiptStory, reference: ReferenceData) -> String {
        let receipt = story.receipt
        let zone = reference.policy.timeZone
        var rows: [[String]] = [
            ["file", "\(receipt.originalName) (\(receipt.sizeBytes) bytes, SHA-256 \(receipt.sha256))"],
            ["sender", "\(receipt.senderOrgId) \(reference.participants[receipt.senderOrgId]?.name ?? "(no longer a participant)")"],
            ["type", receipt.fileType.map { "\($0.code) \($0.displayName) (\(receipt.binding?.rawValue ?? "?"))" } ?? "not recognised"],
            ["received", SupportViews.localTime(receipt.claimedAt, zone)],
        ]
        if let finished = receipt.finishedAt, receipt.state == .finished {
            rows.append(["acknowledged", SupportViews.localTime(finished, zone)])
        } else {
            rows.append(["state", "\(receipt.state.rawValue): not yet acknowledged"])
        }
        if let outcome = receipt.outcome {
            rows.append([
                "outcome",
                "\(outcome.rawValue): \(TextTable.plural(receipt.recordsReceived, "record")) received, \(receipt.recordsAccepted) accepted, "
                    + "\(receipt.recordsRejected) rejected, \(TextTable.plural(receipt.errorCount, "error"))",
            ])
        }
        if let first = receipt.duplicateOf { rows.append(["duplicate of", first]) }
        if let earlier = receipt.reprocessOf { rows.append(["judged again from", earlier]) }
        if let reason = receipt.reprocessReason { rows.append(["reason", reason]) }
        for later in story.reprocessedAs { rows.append(["judged again as", later]) }
        rows.append(["original", story.originalKept ? "kept (\(receipt.outcome == .rejected ? "quarantine" : "archive"))" : "no longer kept"])
        if let year = story.retiredWith {
            let when = year.finishedAt.map { "retired \(SupportViews.localTime($0, zone))" } ?? "being retired since \(SupportViews.localTime(year.startedAt, zone))"
            rows.append([
                "retired",
                "school year \(year.schoolYear), \(when): its errors, failing records, outputs and record trail are in \(year.archiveFile)",
            ])
        }
        var text = "Receipt \(receipt.id)\n" + TextTable.render(rows, indent: "  ")
        if !story.deliveries.isEmpty {
            text += "Outputs:\n"
            text += TextTable.render(
                story.deliveries.map { delivery in
                    [delivery.recipientOrgId, delivery.fileName, "written \(SupportViews.localTime(delivery.deliveredAt, zone))",
                     delivery.pickedUpAt.map { "picked up \(SupportViews.localTime($0, zone))" } ?? "waiting for pickup"]
                }, indent: "  ")
        }
        if !story.issues.isEmpty {
            let more = receipt.errorCount > story.issues.count ? " (the first \(story.issues.count))" : ""
            text += "Errors (\(receipt.errorCount))\(more):\n"
            for issue in story.issues {
                var place: [String] = []
                if let line = issue.line { place.append("line \(line)") }
                if let field = issue.field { place.append(field) }
                if let key = issue.recordKey { place.append("record \(key)") }
                text += "  \(place.isEmpty ? "file" : place.joined(separator: ", ")): \(issue.code.rawValue): \(issue.message)\n"
            }
        }
        if !story.rejectedRecords.isEmpty {
            text += "Records that failed the rules:\n"
            text += TextTable.render(
                story.rejectedRecords.map { ["line \($0.line)", $0.recordKey.map { "record \($0)" } ?? "", $0.codes.joined(separator: ", ")] },
                indent: "  ")
        }
        return text
    }
}

/// `ktsx reprocess RECEIPT`: judge a file again after the reference data was fixed.
struct Reprocess: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Judge a rejected (or partly rejected) file again under today's reference data, as a new receipt.",
        discussion: """
            The original is taken from the archive or quarantine; the sender gets a new acknowledgement naming the \
            earlier receipt. Of a file accepted with errors only the records that failed are judged again.
            """)

    @OptionGroup var options: ReviewOptions

    @Argument(help: "The receipt id of the file to judge again.")
    var receipt: String

    @Option(help: "Why the file is judged again (recorded with the new receipt; the review page shows it).")
    var reason: String?

    func run() async throws {
        let exchange = try await options.exchange()
        try await exchange.running {
            let reference = exchange.references.current
            let logger = options.configuration.logger(format: exchange.configuration.settings.logFormat)
            do {
                let again = try await exchange.processor.reprocess(receiptId: receipt, reason: reason, logger: logger)
                try options.emit(SupportViews.receipt(again, reference: reference)) {
                    "\(receipt) judged again as \(again.id): \(again.outcome?.rawValue ?? "?"), "
                        + "\(again.recordsAccepted) of \(TextTable.plural(again.recordsReceived, "record")) accepted, "
                        + "\(TextTable.plural(again.errorCount, "error")); acknowledgement \(again.ackFile ?? "?")\n"
                }
            } catch let error as SupportError {
                throw ConfigurationFailure(message: "ktsx: \(error.message)")
            }
        }
    }
}

/// `ktsx deliveries`: outbound files waiting for pickup.
struct Deliveries: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List outbound files that participants have not picked up.")

    @OptionGroup var options: ReviewOptions

    @Flag(help: "Only files waiting longer than the pickup threshold (schedule.conf: pickup_threshold_hours).")
    var pending = false

    func run() async throws {
        let exchange = try await options.exchange()
        try await exchange.running {
            let reference = exchange.references.current
            let waiting = try await exchange.desk.waitingDeliveries(overdueOnly: pending)
            let zone = reference.policy.timeZone
            try options.emit(waiting.map { SupportViews.waiting($0, reference: reference) }) {
                guard !waiting.isEmpty else {
                    return pending ? "nothing waits longer than \(reference.policy.pickupThresholdHours) h\n" : "nothing waits for pickup\n"
                }
                return TextTable.render(
                    [["RECIPIENT", "NAME", "WAITING", "WRITTEN", "SOURCE", "FILE"]]
                        + waiting.map { item in
                            [item.delivery.recipientOrgId, item.recipientName, "\(item.hoursWaiting) h",
                             SupportViews.localTime(item.delivery.deliveredAt, zone), item.delivery.receiptId, item.delivery.fileName]
                        })
            }
        }
    }
}

/// `ktsx participants`: the participants, or those that went quiet.
struct Participants: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the participants, or with --quiet the centers that sent no attendance for several instructional days.")

    @OptionGroup var options: ReviewOptions

    @Flag(help: "Only technical centers with no accepted attendance for quiet_days instructional days (schedule.conf), without an approved waiver.")
    var quiet = false

    func run() async throws {
        let exchange = try await options.exchange()
        try await exchange.running {
            let reference = exchange.references.current
            if quiet {
                let centers = try await exchange.desk.quietCenters()
                try options.emit(centers.map(SupportViews.quiet)) {
                    guard !centers.isEmpty else { return "no center is quiet (threshold \(reference.policy.quietDays) instructional days)\n" }
                    return TextTable.render(
                        [["CENTER", "NAME", "MISSED DAYS", "LAST ATTENDANCE"]]
                            + centers.map { [$0.orgId, $0.name, "\($0.missedDays)", $0.lastAttendance?.description ?? "never this school year"] })
                }
                return
            }
            let participants = reference.participants.values.sorted { $0.orgId < $1.orgId }
            let views: [[String: Any]] = participants.map { participant in
                [
                    "orgId": participant.orgId, "name": participant.name, "classification": participant.classification.rawValue,
                    "timeZone": participant.timeZone, "outputFormat": participant.outputFormat.rawValue,
                    "usesDoneMarker": participant.usesDoneMarker, "unknownSync": participant.unknownSync,
                ]
            }
            try options.emit(views) {
                TextTable.render(
                    [["ORG", "NAME", "CLASS", "ZONE", "OUTPUT"]]
                        + participants.map { [$0.orgId, $0.name, $0.classification.rawValue, $0.timeZone, $0.outputFormat.rawValue] })
            }
        }
    }
}

/// `ktsx audit`: conservation, from the ledger and the drop tree.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that every accepted record reached exactly its receivers, once, and nothing refused was sent on.",
        discussion: """
            From the ledger: each accepted enrollment and attendance record in exactly one routed file to its receiver, \
            each grade in one posting (unless replaced or still waiting), unknown-attendance syncs only to the home \
            school, nothing refused delivered. On disk: every delivery's file in outbound/ or recorded as picked up, no \
            hidden temporary left by finished work, every file still in outbound/ read back and compared with its record \
            trail. Exits 0 when conservation holds, 1 with each discrepancy (receipt, record id, receiver, file: never \
            student data). Dates are Kentucky dates; --to includes its whole day.
            """)

    @OptionGroup var options: ReviewOptions

    @Option(help: "Only records received, and files delivered, on or after this date (YYYY-MM-DD).")
    var from: String?

    @Option(help: "Only records received, and files delivered, on or before this date (YYYY-MM-DD).")
    var to: String?

    func run() async throws {
        let exchange = try await options.exchange()
        try await exchange.running {
            let reference = exchange.references.current
            let period: ReceiptQuery
            do {
                period = try SubmissionFilter(participants: [], types: [], outcomes: [], from: from, to: to, limit: 0)
                    .query(zone: reference.policy.timeZone)
            } catch let error as SupportError {
                throw ValidationError(error.message)
            }
            let audit = ConservationAudit(tree: exchange.configuration.tree, ledger: exchange.ledger, validator: try FileValidator())
            let report = try await audit.run(
                from: period.claimedFrom, before: period.claimedBefore, participants: reference.participants.keys.sorted())
            try options.emit(SupportViews.conservation(report)) {
                func count(_ number: Int, _ one: String, _ many: String) -> String { "\(number) \(number == 1 ? one : many)" }
                var text = "checked " + count(report.acceptedRecords, "accepted record", "accepted records") + ", "
                text += count(report.trailEntries, "trail entry", "trail entries") + ", "
                text += count(report.deliveries, "delivery", "deliveries") + ", "
                text += count(report.filesReadBack, "file", "files") + " read back\n"
                if report.holds { return text + "conservation holds\n" }
                text += "conservation FAILS: " + count(report.discrepancies.count, "discrepancy", "discrepancies") + "\n"
                return text + report.discrepancies.map { "  \($0)\n" }.joined()
            }
            if !report.holds { throw ExitCode(1) }
        }
    }
}

/// `ktsx attendance-report`: a high school's attendance at the centers, as its attendance page exports it.
struct AttendanceReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attendance-report",
        abstract: "Print a high school's attendance at the technical centers as CSV, as its attendance page exports it.",
        discussion: """
            The centers' records as they stand now (a corrected record in its latest version, a withdrawn one left out), \
            each absence with an unknown excuse marked unknown, and one the school was sent as unknown that the center \
            has since settled marked resolved. Example: ktsx attendance-report --config /etc/ktsx --school 061010 --from 2026-01-12 --to 2026-01-16
            """)

    @OptionGroup var configuration: ConfigurationOptions

    @Option(help: "The high school (orgId).")
    var school: String

    @Option(help: "The first day, YYYY-MM-DD.")
    var from: String

    @Option(help: "The last day, YYYY-MM-DD (at most 62 days after the first).")
    var to: String

    func validate() throws {
        guard let first = LocalDate(from), let last = LocalDate(to) else { throw ValidationError("give --from and --to as YYYY-MM-DD") }
        guard first <= last, last.dayNumber - first.dayNumber < Int64(ParticipantDesk.maxReportDays) else {
            throw ValidationError("--from must come before --to, at most \(ParticipantDesk.maxReportDays) days apart")
        }
    }

    func run() async throws {
        let exchange = try await Exchange(configuration: try configuration.load(), command: "review")
        try await exchange.running {
            guard let desk = ParticipantDesk(orgId: school, desk: exchange.desk) else {
                throw ValidationError("\(school) is not a participant (participants.csv)")
            }
            guard !desk.isTechnicalCenter else { throw ValidationError("\(school) is a technical center: the attendance report is a high school's") }
            let report = try await desk.attendanceReport(from: LocalDate(from)!, through: LocalDate(to)!)
            print(report.csv(), terminator: "")
        }
    }
}
