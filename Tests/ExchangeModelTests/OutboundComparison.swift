import Foundation

/// One disagreement between the model and what the binary wrote.
struct Discrepancy: Sendable, CustomStringConvertible {
    var seed: UInt64
    /// The participant whose `outbound/` it concerns.
    var participant: String
    /// The file concerned (a dropped file, or a file in `outbound/`).
    var file: String
    /// The record concerned, if any.
    var recordId: String?
    var message: String

    var description: String {
        "seed \(seed) · \(participant) · \(file)\(recordId.map { " · record \($0)" } ?? ""): \(message)"
    }
}

/// Compares every participant's `outbound/` with the model's predictions.
struct OutboundComparison {
    let scenario: Scenario
    let drop: URL
    private(set) var discrepancies: [Discrepancy] = []
    /// Receipt id of each dropped file, read from its ack.
    private(set) var receipts: [String: String] = [:]
    /// Every visible outbound file, for `ktsx validate`.
    private(set) var visibleFiles: [URL] = []
    /// Differences where the documents leave the choice open (reported, not failed).
    private(set) var openQuestions: [Discrepancy] = []

    init(scenario: Scenario, drop: URL) {
        self.scenario = scenario
        self.drop = drop
    }

    private mutating func report(_ participant: String, _ file: String, _ recordId: String? = nil, _ message: String) {
        discrepancies.append(Discrepancy(seed: scenario.world.seed, participant: participant, file: file, recordId: recordId, message: message))
    }

    /// Reads every `outbound/` and compares.
    mutating func compare() {
        var outbound: [String: [OutboundFile]] = [:]
        for participant in scenario.world.participants {
            let (files, hidden) = OutboundReader.read(drop.appendingPathComponent(participant.orgId).appendingPathComponent("outbound"))
            for name in hidden { report(participant.orgId, name, nil, "hidden file left in outbound/") }
            outbound[participant.orgId] = files
            visibleFiles += files.map(\.url)
            for file in files where file.problem != nil { report(participant.orgId, file.name, nil, "cannot read: \(file.problem!)") }
        }
        // Acks first: they give the receipts the postings and syncs name.
        for participant in scenario.world.participants { compareAnswers(participant, outbound[participant.orgId] ?? []) }
        for participant in scenario.world.participants { compareDeliveries(participant, outbound[participant.orgId] ?? []) }
    }

    // MARK: - Acknowledgements and error files

    private mutating func compareAnswers(_ participant: Participant, _ files: [OutboundFile]) {
        let expectations = scenario.model.files.filter { $0.file.sender == participant.orgId }
        let expectedNames = Set(expectations.map(\.file.name))
        for file in files where file.isAck || file.isErrorFile {
            let base = String(file.name.dropLast(file.isAck ? 8 : 11))
            if !expectedNames.contains(base) { report(participant.orgId, file.name, nil, "an answer to a file this participant never dropped") }
        }
        for expectation in expectations {
            let name = expectation.file.name
            let acks = files.filter { $0.isAck && ($0.name == "\(name).ack.xml" || $0.name == "\(name).ack.csv") }
            guard acks.count == 1, let ackFile = acks.first else {
                report(participant.orgId, expectation.file.label, nil, acks.isEmpty ? "no acknowledgement (expected \(expectation.outcome))" : "\(acks.count) acknowledgements")
                continue
            }
            if let binding = expectation.answerBinding, ackFile.extensionBinding != binding || ackFile.binding != binding {
                report(participant.orgId, ackFile.name, nil, "ack in \(ackFile.binding?.rawValue ?? "?") (.\(ackFile.name.suffix(3))), expected \(binding.rawValue): "
                       + "outputFormat \(participant.outputFormat), file sent in \(expectation.file.binding.rawValue) (DESIGN §2, §4)")
            }
            guard ackFile.type == .acknowledgement, ackFile.records.count == 1 else {
                report(participant.orgId, ackFile.name, nil, "not one ACK record (type \(ackFile.type?.rawValue ?? "?"), \(ackFile.records.count) records)")
                continue
            }
            let ack = ackFile.records[0]
            if let receipt = ack["receiptId"] { receipts[name] = receipt }
            if ack["outcome"] != expectation.outcome {
                let refused = expectation.refused.map { "\($0.key.prefix(8)):\($0.value.joined(separator: "+"))" }.sorted().prefix(6)
                report(participant.orgId, expectation.file.label, nil,
                       "outcome \(ack["outcome"] ?? "none"), model expects \(expectation.outcome) (accepted \(expectation.accepted.count), refused \(expectation.refused.count): \(refused.joined(separator: ", ")))")
            }
            if ack["inputFile"] != name || ack["senderOrgId"] != participant.orgId {
                report(participant.orgId, ackFile.name, nil, "ack names inputFile \(ack["inputFile"] ?? "-"), sender \(ack["senderOrgId"] ?? "-")")
            }
            if expectation.file.mistake == nil {
                if ack["fileType"] != expectation.file.type.rawValue || ack["binding"] != expectation.file.binding.rawValue {
                    report(participant.orgId, ackFile.name, nil, "ack says \(ack["fileType"] ?? "-")/\(ack["binding"] ?? "-"), sent \(expectation.file.type.rawValue)/\(expectation.file.binding.rawValue)")
                }
            }
            if expectation.file.mistake == nil, expectation.outcome != "DUPLICATE" {
                let counts = (ack["recordsReceived"], ack["recordsAccepted"], ack["recordsRejected"])
                let expected = (String(expectation.file.records.count), String(expectation.accepted.count), String(expectation.refused.count))
                if counts != expected {
                    report(participant.orgId, ackFile.name, nil, "ack counts received/accepted/rejected \(counts.0 ?? "-")/\(counts.1 ?? "-")/\(counts.2 ?? "-"), model \(expected.0)/\(expected.1)/\(expected.2)")
                }
            } else if expectation.outcome == "REJECTED", let accepted = ack["recordsAccepted"], accepted != "0" {
                report(participant.orgId, ackFile.name, nil, "a rejected file with recordsAccepted \(accepted)")
            }
            if let first = expectation.firstCopy, ack["outcome"] == "DUPLICATE" {
                if let firstReceipt = receipts[first], ack["firstReceiptId"] != firstReceipt {
                    report(participant.orgId, ackFile.name, nil, "duplicate names first receipt \(ack["firstReceiptId"] ?? "none"), the first copy \(first) had \(firstReceipt)")
                }
            }
            if expectation.refusalIsFinal, let message = ack["message"], message.lowercased().contains("send it again") {
                report(participant.orgId, ackFile.name, nil, "a refusal no resend can fix (WVR-01, a waiver from an ATC) advises: \"\(message)\" (DESIGN §4)")
            }
            let errorFiles = files.filter { $0.isErrorFile && ($0.name == "\(name).errors.xml" || $0.name == "\(name).errors.csv") }
            if let errorFile = errorFiles.first {
                if ack["errorFile"] != errorFile.name || ack["errorCount"] != String(errorFile.records.count) {
                    report(participant.orgId, ackFile.name, nil, "ack names error file \(ack["errorFile"] ?? "none") with \(ack["errorCount"] ?? "-") errors; "
                           + "\(errorFile.name) holds \(errorFile.records.count)")
                }
            } else if let count = ack["errorCount"], count != "0" {
                report(participant.orgId, ackFile.name, nil, "ack counts \(count) errors but there is no error file")
            }
            compareErrorFile(participant, expectation, errorFiles)
        }
    }

    private mutating func compareErrorFile(_ participant: Participant, _ expectation: FileExpectation, _ errorFiles: [OutboundFile]) {
        let name = expectation.file.name
        let failed = expectation.outcome == "REJECTED" || expectation.outcome == "ACCEPTED_WITH_ERRORS"
        if expectation.outcome == "ACCEPTED", !errorFiles.isEmpty {
            report(participant.orgId, name, nil, "an error file for a file the model accepts whole: \(errorFiles.map(\.name))")
        }
        guard failed else { return }
        guard errorFiles.count == 1, let errorFile = errorFiles.first else {
            report(participant.orgId, expectation.file.label, nil, "\(errorFiles.count) error files (expected one: the file is \(expectation.outcome))")
            return
        }
        if let binding = expectation.answerBinding, errorFile.extensionBinding != binding {
            report(participant.orgId, errorFile.name, nil, "error file in .\(errorFile.name.suffix(3)), expected \(binding.rawValue)")
        }
        var codes: [String: Set<String>] = [:]
        var allCodes = Set<String>()
        for row in errorFile.records {
            if let code = row["code"] { allCodes.insert(code) }
            if let key = row["recordKey"], let code = row["code"] { codes[key, default: []].insert(code) }
        }
        if let mistake = expectation.file.mistake {
            let acceptable: Set<String> = switch mistake {
            case .schemaInvalid: ["constraint-error", "schema-error", "type-error"]
            case .senderMismatch: ["sender-mismatch"]
            case .badEncoding: ["encoding-error"]
            case .recordCountMismatch: ["record-count-mismatch"]
            }
            if allCodes.isDisjoint(with: acceptable) {
                report(participant.orgId, errorFile.name, nil, "planted \(mistake.rawValue), error codes \(allCodes.sorted())")
            }
            return
        }
        let plantedById = Dictionary(expectation.file.records.map { ($0.recordId, $0.plantedRule) }, uniquingKeysWith: { a, _ in a })
        for (recordId, modelCodes) in expectation.refused.sorted(by: { $0.key < $1.key }) {
            let wanted = plantedById[recordId].flatMap { $0 }
            guard let listed = codes[recordId] else {
                report(participant.orgId, name, recordId, "refused by the model (\(modelCodes.joined(separator: ", "))) but not in the error file")
                continue
            }
            if let wanted, !listed.contains(wanted) {
                report(participant.orgId, name, recordId, "error file lists \(listed.sorted()), the planted mistake is \(wanted) (model: \(modelCodes))")
            }
        }
        for recordId in expectation.accepted where codes[recordId] != nil {
            report(participant.orgId, name, recordId, "accepted by the model, but the error file lists \(codes[recordId]!.sorted())")
        }
    }

    // MARK: - Routed records, postings, syncs

    private mutating func compareDeliveries(_ participant: Participant, _ files: [OutboundFile]) {
        let allowed: Set<RecordType> = participant.isCenter ? [.enrollment] : [.attendance, .gradePosting, .unknownAttendance]
        var found: [String: [(file: OutboundFile, record: [String: String])]] = [:]
        for file in files where !file.isAck && !file.isErrorFile {
            guard let type = file.type else { continue }
            if type == .dailySummary { continue }
            guard allowed.contains(type) else {
                report(participant.orgId, file.name, nil, "unexpected \(type.rawValue) file in outbound/")
                continue
            }
            if file.binding != participant.receivedBinding || file.extensionBinding != participant.receivedBinding {
                report(participant.orgId, file.name, nil, "\(type.rawValue) delivered in \(file.binding?.rawValue ?? "?"), outputFormat \(participant.outputFormat) "
                       + "means \(participant.receivedBinding.rawValue) (DESIGN §2: `same` means XML for files received from others)")
            }
            if file.records.isEmpty, type == .unknownAttendance || type == .gradePosting {
                report(participant.orgId, file.name, nil, "an empty \(type.rawValue) file (nothing to send)")
            }
            for record in file.records { found["\(type.rawValue)|\(record["recordId"] ?? "?")", default: []].append((file, record)) }
        }
        let expected = scenario.model.deliveries.filter { $0.receiver == participant.orgId }
        var expectedKeys = Set<String>()
        for delivery in expected {
            let key = "\(delivery.type.rawValue)|\(delivery.values["recordId"]!)"
            expectedKeys.insert(key)
            let copies = found[key] ?? []
            let recordId = delivery.values["recordId"]
            guard !copies.isEmpty else {
                report(participant.orgId, delivery.sourceFile, recordId, "\(delivery.type.rawValue) record missing (\(delivery.occasion))")
                continue
            }
            if copies.count > 1 {
                report(participant.orgId, copies.map(\.file.name).joined(separator: ", "), recordId, "\(delivery.type.rawValue) record delivered \(copies.count) times")
            }
            var values = delivery.values
            if delivery.type == .gradePosting || delivery.type == .unknownAttendance {
                values["receiptId"] = receipts[delivery.sourceFile]
            }
            compareValues(participant, copies[0].file.name, recordId, type: delivery.type, expected: values, actual: copies[0].record,
                          alternatives: delivery.alternatives)
        }
        // One input gives each receiver its own file (DESIGN §2): a routed file holds the records of one dropped
        // file, and is named after its sender (`KTSX_<TYPE>_<sender>_<time>_<receipt>`).
        let sourceOf = Dictionary(expected.map { ("\($0.type.rawValue)|\($0.values["recordId"]!)", $0.sourceFile) }, uniquingKeysWith: { a, _ in a })
        let senderOf = Dictionary(scenario.files.map { ($0.name, $0.sender) }, uniquingKeysWith: { a, _ in a })
        for file in files where file.type == .enrollment || file.type == .attendance {
            guard !file.isAck, !file.isErrorFile, let type = file.type else { continue }
            let sources = Set(file.records.compactMap { sourceOf["\(type.rawValue)|\($0["recordId"] ?? "")"] })
            if sources.count > 1 { report(participant.orgId, file.name, nil, "one routed file holds records of \(sources.count) dropped files: \(sources.sorted())") }
            if let source = sources.first, let sender = senderOf[source], !file.name.hasPrefix("KTSX_\(type.rawValue)_\(sender)_") {
                report(participant.orgId, file.name, nil, "routed file not named KTSX_\(type.rawValue)_\(sender)_… after the sender of \(source)")
            }
        }
        // One UKA file per school and day, holding that day only.
        var syncFiles: [String: [String]] = [:]
        for file in files where file.type == .unknownAttendance {
            let days = Set(file.records.compactMap { $0["attendanceDate"] })
            if days.count > 1 { report(participant.orgId, file.name, nil, "one UKA file holds several days: \(days.sorted())") }
            for day in days { syncFiles[day, default: []].append(file.name) }
        }
        for (day, names) in syncFiles.sorted(by: { $0.key < $1.key }) where names.count > 1 {
            report(participant.orgId, names.joined(separator: ", "), nil, "\(names.count) UKA files for \(day) (a day is sent once)")
        }
        let refusedIds = Set(scenario.model.files.flatMap(\.refused.keys))
        for (key, copies) in found.sorted(by: { $0.key < $1.key }) where !expectedKeys.contains(key) {
            let recordId = String(key.split(separator: "|").last ?? "")
            let why = refusedIds.contains(recordId) ? "a record the model refuses was delivered" : "a record the model does not expect here"
            report(participant.orgId, copies[0].file.name, recordId, "\(why) (\(key.prefix(3)))")
        }
    }

    /// Field by field: the model's canonical values against the delivered ones; date-times as instants with an offset.
    private mutating func compareValues(_ participant: Participant, _ file: String, _ recordId: String?, type: RecordType,
                                        expected: [String: String], actual: [String: String], alternatives: [String: String]) {
        var differences: [String] = []
        for field in type.fields {
            let want = expected[field], got = actual[field]
            if want == got { continue }
            if let other = alternatives[field], other == got {
                openQuestions.append(Discrepancy(seed: scenario.world.seed, participant: participant.orgId, file: file, recordId: recordId,
                                                 message: "\(type.rawValue) \(field) '\(got ?? "")' where the model reads '\(want ?? "")' (the documents leave it open)"))
                continue
            }
            if field.hasSuffix("DateTime") || field == "lastModified", let want, let got, let a = parseInstant(want), let b = parseInstant(got), a == b {
                continue
            }
            if field == "receiptId", want == nil { continue }  // the source file's ack was not found: reported there
            differences.append("\(field) \(got.map { "'\($0)'" } ?? "absent"), expected \(want.map { "'\($0)'" } ?? "absent")")
        }
        if !differences.isEmpty {
            report(participant.orgId, file, recordId, "\(type.rawValue): " + differences.joined(separator: "; "))
        }
    }
}
