import ExchangeCore
import ExchangeRules
import ExchangeRuntime
import ExchangeTesting
import ExchangeValidation
import Foundation
import Logging
import Testing

/// A drop tree on the in-memory file system, the fixtures' reference data and an in-memory ledger: the
/// world a simulated crash happens in and a fresh processor recovers, in milliseconds.
struct InMemoryWorld {
    let fileSystem = InMemoryFileSystem()
    let tree: DropTree
    let ledger: InMemoryLedger
    let reference: ReferenceData
    let settings = ServiceSettings(dropRoot: "/drop", stateDirectory: "/state", quietPeriod: .zero)
    let validator: FileValidator
    /// Receipt ids count up across processors, as a restarted service's fresh ids never meet the old ones.
    private let counter = Counter()
    static let now = Timestamp(secondsSinceEpoch: 1_771_599_600)  // 2026-02-20T15:00:00Z
    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }()

    init() throws {
        tree = DropTree(dropRoot: settings.dropRoot, stateDirectory: settings.stateDirectory, fileSystem: fileSystem)
        reference = try ExchangeConfiguration.loadReference(directory: Repository.fixtures.appendingPathComponent("reference").path)
        ledger = InMemoryLedger(clock: { InMemoryWorld.now.secondsSinceEpoch })
        validator = try FileValidator()
        try tree.prepare(for: reference.participants.values.sorted { $0.orgId < $1.orgId })
    }

    /// A processor (the same instance name each time, as a restarted service), crashing where `crashes` says.
    func processor(crashes: CrashSwitch = .never) -> FileProcessor {
        let (reference, counter) = (self.reference, self.counter)
        return FileProcessor(
            tree: tree, ledger: ledger, validator: validator, maxFileBytes: settings.maxFileBytes, reference: { reference },
            now: { InMemoryWorld.now },
            newReceiptId: { sender in FileProcessor.receiptId(sender: sender, time: InMemoryWorld.now, suffix: String(format: "%06d", counter.next())) },
            crashes: crashes)
    }

    /// A service's pass over the drop tree with a fresh processor: what a restart does.
    func restartedCycle() -> ExchangeCycle {
        ExchangeCycle(
            references: ReferenceStore(directory: Repository.fixtures.appendingPathComponent("reference").path, reference: reference),
            settings: settings, tree: tree, ledger: ledger, processor: processor(), filesPerPass: 100)
    }

    /// Drops a fixture file into a participant's `inbound/`.
    func drop(_ bytes: [UInt8], as name: String, into org: String) throws {
        try fileSystem.put("\(tree.inbound(org))/\(name)", bytes)
    }

    func participant(_ org: String) throws -> Participant {
        try #require(reference.participants[org])
    }

    /// Every ready file in the participants' `inbound/`, in the order a pass would meet them.
    func readyFiles() -> [(org: String, name: String)] {
        reference.participants.keys.sorted().flatMap { org in fileSystem.listing(tree.inbound(org)).map { (org, $0) } }
    }

    /// The visible files in a participant's `outbound/`.
    func outbound(_ org: String) -> [String] {
        fileSystem.listing(tree.outbound(org)).filter { !$0.hasPrefix(".") }
    }

    func text(_ org: String, _ name: String) -> String {
        String(decoding: fileSystem.contents(of: "\(tree.outbound(org))/\(name)") ?? [], as: UTF8.self)
    }

    /// The high schools' rosters taken in, and every outbound file taken away, as a settled exchange.
    func loadRosters(of schools: [String]) async throws {
        let rosters = Repository.fixtures.appendingPathComponent("reference/roster")
        for name in try FileManager.default.contentsOfDirectory(atPath: rosters.path).sorted() {
            let org = String(name.split(separator: "_")[2])
            guard schools.contains(org) else { continue }
            try drop(Array(try Data(contentsOf: rosters.appendingPathComponent(name))), as: name, into: org)
            #expect(try await processor().process(name, from: participant(org), logger: InMemoryWorld.logger)?.outcome == .accepted, "\(name)")
        }
        for org in reference.participants.keys {
            for name in fileSystem.listing(tree.outbound(org)) { fileSystem.removeFile("\(tree.outbound(org))/\(name)") }
        }
    }
}

@Suite("Crash safety in-process: a file's life stopped at each step on the in-memory file system, then recovered")
struct CrashInProcessTests {
    static let fileSteps = CrashPoint.allCases.filter { $0.rawValue.hasPrefix("file-") }

    @Test("stopped at each step (unflushed bytes lost), a restart finishes it: one ack per file, routed once to each school, original filed", arguments: fileSteps)
    func fileStep(step: CrashPoint) async throws {
        let world = try InMemoryWorld()
        try await world.loadRosters(of: ["165010", "165020", "165030"])
        let enrollments = try String(contentsOf: Repository.schemas.appendingPathComponent("examples/ENR.example.csv"), encoding: .utf8)
        try world.drop(Array(enrollments.utf8), as: "good.csv", into: "061010")
        try world.drop(Array(enrollments.replacingOccurrences(of: ",2009-", with: ",2009-13-").utf8), as: "bad.csv", into: "061010")
        // A center's attendance for students of three high schools: one input, three receivers.
        let attendance = "KTSX_ATT_165901_20260211T020000_0001.xml"
        try world.drop(Array(try Data(contentsOf: Repository.fixtures.appendingPathComponent("valid/\(attendance)"))), as: attendance, into: "165901")

        // Files are taken one after another until the crash; nothing runs after it.
        let crashing = world.processor(crashes: .simulated(at: step))
        var crashed = false
        for file in world.readyFiles() where !crashed {
            do {
                _ = try await crashing.process(file.name, from: world.participant(file.org), logger: InMemoryWorld.logger)
            } catch let crash as SimulatedCrash {
                #expect(crash.point == step)
                crashed = true
            }
        }
        #expect(crashed, "\(step.rawValue) was never reached")
        world.fileSystem.crash()

        var cycle = world.restartedCycle()
        _ = try await cycle.recover(logger: InMemoryWorld.logger)
        let pass = await cycle.run(now: .zero, logger: InMemoryWorld.logger)
        #expect(pass.failed == 0, "\(step.rawValue)")

        #expect(world.outbound("061010") == ["bad.csv.ack.csv", "bad.csv.errors.csv", "good.csv.ack.csv"], "\(step.rawValue)")
        #expect(world.text("061010", "good.csv.ack.csv").contains(",ACCEPTED,"), "\(step.rawValue)")
        #expect(world.text("061010", "bad.csv.ack.csv").contains(",REJECTED,"), "\(step.rawValue)")
        // The accepted enrollments reached the center once, and are on its roster once.
        #expect(world.outbound("061014").count == 1, "\(step.rawValue): \(world.outbound("061014"))")
        #expect(try await world.ledger.enrollments(ssid: "2136931390", center: "061014").count == 1, "\(step.rawValue)")
        #expect(world.outbound("165901").filter { $0.hasPrefix(attendance) }.count == 1, "\(step.rawValue): one acknowledgement")
        for school in ["165010", "165020", "165030"] {
            #expect(world.outbound(school).filter { $0.hasPrefix("KTSX_ATT_165901_") }.count == 1, "\(step.rawValue) \(school)")
        }
        // One receipt per file: nothing judged twice.
        let receipts = try await world.ledger.receipts(matching: ReceiptQuery())
        #expect(
            receipts.map(\.originalName).filter { !$0.hasPrefix("KTSX_ENR_") }.sorted() == [attendance, "bad.csv", "good.csv"],
            "\(step.rawValue)")
        // Nothing half-done: inbound and the work area empty, no hidden temporary, every receipt finished,
        // the originals filed once.
        for org in world.reference.participants.keys {
            #expect(world.fileSystem.listing(world.tree.inbound(org)).isEmpty, "\(step.rawValue): \(org) inbound")
            #expect(world.fileSystem.listing(world.tree.outbound(org)).allSatisfy { !$0.hasPrefix(".") }, "\(step.rawValue): \(org)")
        }
        #expect(world.fileSystem.listing(world.tree.work).isEmpty, "\(step.rawValue)")
        #expect(try await world.ledger.unfinishedReceipts().isEmpty, "\(step.rawValue)")
        let archived = world.fileSystem.files(under: "\(world.settings.stateDirectory)/archive")
        let quarantined = world.fileSystem.files(under: "\(world.settings.stateDirectory)/quarantine")
        #expect(archived.filter { $0.hasSuffix("/good.csv") || $0.hasSuffix("/\(attendance)") }.count == 2, "\(step.rawValue)")
        #expect(quarantined.filter { $0.hasSuffix("/bad.csv") }.count == 1, "\(step.rawValue)")
        // Every delivered file present whole, carrying exactly its trail's records and valid by its schema.
        let audit = try await ConservationAudit(tree: world.tree, ledger: world.ledger, validator: world.validator)
            .run(from: nil, before: nil, participants: world.reference.participants.keys.sorted())
        #expect(audit.holds, "\(step.rawValue): \(audit.discrepancies)")
        #expect(audit.filesReadBack >= 7, "\(step.rawValue): \(audit.filesReadBack) files read back")
    }

    @Test("the in-memory file system loses what was written but never flushed, and keeps a linked file's bytes")
    func twinSemantics() throws {
        let fileSystem = InMemoryFileSystem()
        try fileSystem.makeDirectory("/d", mode: 0o700)
        let unflushed = try fileSystem.createFile("/d/a", mode: 0o600, ownerOfFolder: false)
        try [UInt8](repeating: 1, count: 3).withUnsafeBytes { try unflushed.write($0) }
        try fileSystem.put("/d/b", [2, 2])
        try fileSystem.link("/d/b", as: "/d/c")
        #expect(throws: DropTreeError.self) { try fileSystem.link("/d/a", as: "/d/c") }
        fileSystem.removeFile("/d/b")
        #expect(try fileSystem.entry(at: "/d/c").links == 1)
        fileSystem.crash()
        #expect(fileSystem.contents(of: "/d/a") == [])
        #expect(fileSystem.contents(of: "/d/c") == [2, 2])
        try fileSystem.putSymbolicLink("/d/l", to: "/etc/passwd")
        #expect(try fileSystem.openForReading("/d/l") == nil)
        #expect(throws: DropTreeError.self) { try fileSystem.createFile("/d/l", mode: 0o600, ownerOfFolder: false) }
    }
}
