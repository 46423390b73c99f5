import ExchangeCore
import ExchangeLedgerSQLite
import ExchangeTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The hostile-client suite (`Tests/HostileClient/hostile_client.py`) against the real `ktsx run` on loopback:
/// a drop tree holding what an attacker would go for (a rejection with student rows, a large original, a
/// pending waiver, file names and cells with control and direction characters, files hard- and
/// symbolically linked into `inbound/` from outside the tree), then every section of the suite over real
/// sockets and in headless Chromium. Bounded: about 3,500 requests (most of them the login flood) and a minute or so.
@Suite("The review site against a hostile client", .serialized)
struct HostileClientTests {
    /// Rows in the large original (its only error is on the last one).
    static let largeRows = 80_000

    @Test("logins flooded and raced, path, method, Origin and Host tricks on every route, slow clients, large originals, links, control characters")
    func hostileClient() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"), FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver")
        else {
            Issue.record("Chromium is not installed: scripts/test.sh installs chromium and chromium-driver")
            return
        }
        try await withTemporaryDirectory { root in
            let port = try SFTPServer.freePort()
            let tree = try DropTreeFixture(root: root, maxFileSize: "64MB", settings: "review_address = 127.0.0.1:\(port)")
            let users = [("support", "a support password for the suite"), ("throttled", "another support password, locked by the suite")]
            for (user, password) in users {
                let hashed = try runProcess(
                    Repository.ktsx.path, ["hash-password", "--user", user, "--cost", "10", "--config", tree.config.path], standardInput: password + "\n")
                #expect(hashed.status == 0, "\(hashed.standardError)")
            }
            let clerk = ("clerk.061010", "a clerk's password for the suite")
            let made = try runProcess(
                Repository.ktsx.path, ["hash-password", "--user", clerk.0, "--org", "061010", "--cost", "10", "--config", tree.config.path],
                standardInput: clerk.1 + "\n")
            #expect(made.status == 0, "\(made.standardError)")
            try tree.loadRoster()
            let world = try HostileWorld(tree: tree)
            try tree.runOnce()

            let ledger = try tree.ledger()
            func receipt(_ name: String) async throws -> Receipt {
                try #require(try await ledger.allReceipts().first { $0.originalName == name }, "\(name) was not claimed")
            }
            let controls = try await receipt(HostileWorld.controlsName)
            let large = try await receipt(HostileWorld.largeName)
            #expect(controls.outcome == .rejected && large.outcome == .rejected)
            for name in HostileWorld.linkedNames { #expect(try await receipt(name).outcome == .rejected) }
            #expect(try await receipt(HostileWorld.hostileName).outcome == .rejected)

            // What is another organisation's than the clerk's: receipts and files of every other sender, and the
            // files the exchange wrote for others; the site's GET routes with those ids.
            let others = try await ledger.allReceipts().filter { $0.senderOrgId != "061010" }
            #expect(!others.isEmpty)
            let foreignFiles = try await ledger.deliveries(deliveredFrom: nil, before: nil).filter { $0.recipientOrgId != "061010" }.map(\.fileName)
            let foreignRoutes = try String(contentsOf: Repository.root.appendingPathComponent("Tests/HostileClient/routes.txt"), encoding: .utf8)
                .split(separator: "\n").filter { $0.hasPrefix("GET /my/") && $0.contains("{") }.flatMap { line -> [String] in
                    let route = String(line.dropFirst(4))
                    let ids = route.contains("{name}") ? Array(foreignFiles.prefix(3)) : others.prefix(3).map(\.id)
                    return ids.map { route.replacingOccurrences(of: route.contains("{name}") ? "{name}" : "{id}", with: $0) }
                }
            let service = try tree.startService()
            defer {
                if service.isRunning {
                    service.terminate()
                    service.waitUntilExit()
                }
            }
            for _ in 0..<100 where !SFTPServer.isListening(port) { usleep(100_000) }
            let description: [String: Any] = [
                "port": port, "user": users[0].0, "password": users[0].1, "throttleUser": users[1].0, "throttlePassword": users[1].1,
                "routes": try HostileWorld.routes(receipt: controls.id, sender: controls.senderOrgId, outboundFile: try #require(controls.ackFile)),
                "waiver": HostileWorld.waiverId, "controlsReceipt": controls.id, "largeReceipts": [large.id],
                "largeLastLine": HostileClientTests.largeRows + 1, "secrets": world.secrets, "studentData": world.studentData,
                "controlCodesInCells": ["U+202E", "U+2066", "U+0007", "U+001B"], "controlCodesInNames": ["U+202E", "U+0007"],
                "linkedNames": HostileWorld.linkedNames, "clerk": clerk.0, "clerkPassword": clerk.1, "foreignRoutes": foreignRoutes,
                "foreignMarks": others.flatMap { [$0.id, $0.originalName] } + foreignFiles,
            ]
            let worldFile = root.appendingPathComponent("world.json")
            try JSONSerialization.data(withJSONObject: description).write(to: worldFile)
            let suite = try runProcess(
                "python3", [Repository.root.appendingPathComponent("Tests/HostileClient/hostile_client.py").path, worldFile.path], timeout: 600)
            let report = try #require(
                try? JSONSerialization.jsonObject(with: Data(suite.standardOutput.utf8)) as? [String: [String: Any]],
                "the suite printed no report: \(suite.standardError)")
            // Each section ran, tried at least what it should, and found nothing.
            let leastTried = [
                "slow": 3, "flood": 50, "throttle": 31, "paths": 400, "methods": 180, "origins": 90, "hosts": 150, "clerk": 400, "own": 2, "originals": 6,
                "crawl": 20, "browser": 2,
            ]
            for (name, least) in leastTried {
                let part = try #require(report[name], "section \(name) is missing")
                #expect((part["tried"] as? Int ?? 0) >= least, "\(name) tried \(part["tried"] ?? 0)")
                #expect((part["violations"] as? [String])?.isEmpty == true, "\(name): \(part["violations"] ?? [])")
            }
            #expect(suite.status == 0, "\(suite.standardError)")
            print("hostile-client suite:", suite.standardOutput)
            // The outside files were never touched.
            for (file, secret) in zip(world.outside, world.secrets) {
                #expect(try String(contentsOf: file, encoding: .utf8).contains(secret))
            }
        }
    }
}

/// What the suite's drop tree holds beside the roster.
struct HostileWorld {
    static let controlsName = "KTSX_ENR_061010_20260220T080000_0001.csv"
    static let largeName = "KTSX_ENR_061010_20260220T080500_0001.csv"
    /// A name with a direction override and a bell (rejected for its name, shown in the list).
    static let hostileName = "KTSX_ENR_061010_20260220T081000_0001\u{202E}vsc.\u{07}csv"
    static let linkedNames = ["KTSX_ENR_061010_20260220T081500_0001.csv", "KTSX_ENR_061010_20260220T082000_0001.csv"]
    static let waiverId = "5d1f3c0a-7b2e-4c55-9a61-0f2b8e6d4c11"

    /// Every route of the site (`Tests/HostileClient/routes.txt`) by method, its ids filled in: the
    /// receipt's, its sender's (an organisation's pages) and a file waiting in the sender's `outbound/`.
    static func routes(receipt: String, sender: String, outboundFile: String) throws -> [String: [String]] {
        let listed = try String(contentsOf: Repository.root.appendingPathComponent("Tests/HostileClient/routes.txt"), encoding: .utf8)
        var routes: [String: [String]] = [:]
        for line in listed.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            let path = parts[1].replacingOccurrences(of: "/receipts/{id}", with: "/receipts/\(receipt)")
                .replacingOccurrences(of: "/waivers/{id}", with: "/waivers/\(waiverId)").replacingOccurrences(of: "{org}", with: sender)
                .replacingOccurrences(of: "{name}", with: outboundFile)
            routes[parts[0], default: []].append(path)
        }
        return routes
    }

    /// Strings of the files outside the tree: no answer may hold them.
    let secrets = ["OUTSIDE-SYMLINKED-\(UUID().uuidString)", "OUTSIDE-HARDLINKED-\(UUID().uuidString)"]
    /// The files outside the tree.
    let outside: [URL]
    /// Values of the dropped records: only a logged-in page may show them.
    let studentData: [String]

    init(tree: DropTreeFixture) throws {
        let enrollments = try String(contentsOf: Repository.schemas.appendingPathComponent("examples/ENR.example.csv"), encoding: .utf8)
        let lines = enrollments.split(separator: "\n").map(String.init)
        let header = lines[0]
        // Cells with control and direction characters on a row that fails (a state ID with them in it).
        var cells = lines[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        cells[3] = "21369\u{202E}31390"
        cells[5] = "Mu\u{2066}ñoz\u{07}\u{1B}[31m"
        try tree.drop([header, cells.joined(separator: ","), lines[2], ""].joined(separator: "\n"), as: HostileWorld.controlsName, into: "061010")
        studentData = [cells[6], "2816701202"]
        // A large original whose only error is on its last line: a page of it must read the whole file.
        var large = header + "\n"
        large.reserveCapacity(HostileClientTests.largeRows * 260)
        var row = lines[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        for index in 0..<HostileClientTests.largeRows {
            row[0] = UUID().uuidString.lowercased()
            if index == HostileClientTests.largeRows - 1 { row[8] = "2009-13-45" }
            large += row.joined(separator: ",") + "\n"
        }
        try tree.drop(large, as: HostileWorld.largeName, into: "061010")
        try tree.drop(enrollments, as: HostileWorld.hostileName, into: "061010")
        // A pending waiver request, for the changes the suite forges.
        try """
            recordId,action,centerOrgId,centerName,centerClassification,operatingDistrictNumber,waiverSchoolYear,waiverScope,reasonCode,reasonText,alternateProcess,affectedHomeSchoolOrgIds,submitterName,submitterTitle,submitterEmail,submitterPhone,superintendentApproval,approvalDate,submittedDateTime,priorWaiverId
            \(HostileWorld.waiverId),submit,165901,Bluegrass Career and Technical Center,A2,165,2027,FULL_EXCHANGE,ALT_SIS,,Rosters and grades by the district's own SIS export.,,Pat Lee,Principal,pat.lee@example.org,,true,2026-02-14,2026-02-20T09:00:00-05:00,

            """.write(to: tree.inbound("165901").appendingPathComponent("KTSX_WVR_165901_20260220T090000_0001.csv"), atomically: true, encoding: .utf8)
        // Files outside the tree, linked into inbound/: one by a symbolic link, one by a hard link.
        outside = secrets.enumerated().map { index, _ in tree.root.appendingPathComponent("outside-\(index).csv") }
        for (file, secret) in zip(outside, secrets) {
            try "\(header)\n\(secret)\n".write(to: file, atomically: true, encoding: .utf8)
        }
        #expect(symlink(outside[0].path, tree.inbound("061010").appendingPathComponent(HostileWorld.linkedNames[0]).path) == 0)
        #expect(link(outside[1].path, tree.inbound("061010").appendingPathComponent(HostileWorld.linkedNames[1]).path) == 0)
    }
}
