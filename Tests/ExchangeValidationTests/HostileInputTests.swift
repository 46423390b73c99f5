import ExchangeCore
import ExchangeTesting
import ExchangeValidation
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A row of `Fixtures/hostile/EXPECTED.tsv`.
struct HostileCase: CustomStringConvertible, Sendable {
    var file: String
    var valid: Bool
    var code: String
    var description: String { file }

    static func all() -> [HostileCase] {
        let url = Repository.fixtures.appendingPathComponent("hostile/EXPECTED.tsv")
        let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let columns = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return HostileCase(file: columns[0], valid: columns[1] == "yes", code: columns[2])
        }
    }
}

/// A TCP listener on the loopback port the hostile fixtures point at (29171: below Linux's ephemeral
/// range, so no outgoing connection of a test running beside it takes it); counts connection attempts.
final class LoopbackTrap {
    let socketDescriptor: Int32

    init(port: UInt16) throws {
        socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(socketDescriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(socketDescriptor, 16) == 0 else {
            close(socketDescriptor)
            throw OracleFailure(message: "cannot listen on 127.0.0.1:\(port)")
        }
        _ = fcntl(socketDescriptor, F_SETFL, O_NONBLOCK)
    }

    /// Connections accepted since the trap was set.
    func connections() -> Int {
        var count = 0
        while true {
            let client = accept(socketDescriptor, nil, nil)
            if client < 0 { break }
            close(client)
            count += 1
        }
        return count
    }

    deinit { close(socketDescriptor) }
}

/// Runs `ktsx` under `/usr/bin/time` and returns its result and its own peak resident memory in MiB.
private func ktsxMeasured(_ arguments: [String], in directory: URL) throws -> (ProcessResult, Int) {
    let report = directory.appendingPathComponent("time.txt")
    let result = try runProcess("/usr/bin/time", ["-f", "%M", "-o", report.path, Repository.ktsx.path] + arguments)
    // The last line is the figure; a non-zero exit adds a line before it.
    let lines = try String(contentsOf: report, encoding: .utf8).split(separator: "\n")
    let kilobytes = lines.last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? .max
    return (result, kilobytes / 1024)
}

@Suite("Hostile input: clean, specific rejections in bounded time and memory", .serialized)
struct HostileInputTests {
    @Test("each hostile fixture gets its expected verdict and code; nothing reaches the network", arguments: HostileCase.all())
    func hostileFixture(testCase: HostileCase) throws {
        let trap = try LoopbackTrap(port: 29171)
        let file = Repository.fixtures.appendingPathComponent("hostile/\(testCase.file)")
        let started = ContinuousClock.now
        let report = try FileValidator().validate(path: file.path)
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(report.isValid == testCase.valid, "\(report.issues.prefix(3))")
        if !testCase.valid {
            #expect(report.issues.contains { $0.code.rawValue == testCase.code }, "\(report.issues.prefix(3))")
            #expect(report.issues.allSatisfy { !$0.message.isEmpty })
        }
        #expect(trap.connections() == 0)
    }

    @Test("a 2 GiB single line (past every 32-bit offset) is refused early in bounded memory, as XML and as CSV", arguments: ["xml", "csv"])
    func hugeSingleLine(binding: String) throws {
        try withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("huge.\(binding)")
            _ = FileManager.default.createFile(atPath: file.path, contents: nil)
            let handle = try FileHandle(forWritingTo: file)
            let csvHeader = try #require(
                String(contentsOf: Repository.fixtures.appendingPathComponent("hostile/formula-injection.csv"), encoding: .utf8)
                    .split(separator: "\n").first)
            let head = binding == "xml"
                ? "<KtsxWaiverFile xmlns=\"urn:ky:kde:ktsx:1.0\"><Header><SenderOrgId>"
                : csvHeader + "\n\"0d1f6c1e"
            try handle.write(contentsOf: Data(head.utf8))
            let block = Data(repeating: UInt8(ascii: "7"), count: 1 << 20)
            // Made here, never committed: 2 GiB and a byte.
            for _ in 0..<2048 { try handle.write(contentsOf: block) }
            try handle.write(contentsOf: Data("7".utf8))
            try handle.close()

            let (result, peakMiB) = try ktsxMeasured(["validate", "--format", "json", file.path], in: directory)
            #expect(result.status == 1)
            let expected = binding == "xml" ? "schema-error" : "record-too-large"
            #expect(result.standardOutput.contains("\"code\": \"\(expected)\""), "\(result.standardOutput.prefix(400))")
            #expect(peakMiB < 64, "peak RSS \(peakMiB) MiB")
        }
    }

    @Test("an error flood keeps the first errors, counts them all and says it was cut")
    func errorFlood() throws {
        try withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("flood.csv")
            let header = try #require(
                String(contentsOf: Repository.fixtures.appendingPathComponent("hostile/formula-injection.csv"), encoding: .utf8)
                    .split(separator: "\n").first)
            var text = header + "\n"
            // Blank rows with a row after them (blank rows at the end would be a spreadsheet's leftovers).
            for _ in 0..<20_000 { text += ",,,,\n" }
            text += "x\n"
            try text.write(to: file, atomically: true, encoding: .utf8)
            let report = try FileValidator(issueLimit: 50).validate(path: file.path)
            #expect(report.issues.count == 50)
            #expect(report.errorCount == 20_001, "one error per blank row, one for the row cut short")
            #expect(report.truncated)
        }
    }
}
