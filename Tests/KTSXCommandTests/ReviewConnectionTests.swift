import ExchangeTesting
import Foundation
import Testing

/// Slow and idle clients cannot hold the review page's connections: the real service on loopback, probed by
/// `Tests/HostileClient/slow_connections.py` (bounded: three connections, 45 s at most).
@Suite("Review page connections: idle, slow-header and slow-body clients are cut off")
struct ReviewConnectionTests {
    @Test("an idle connection, a header trickled and a body trickled are each closed after the 30 s idle timeout")
    func slowClients() throws {
        try withTemporaryDirectory { root in
            let port = try SFTPServer.freePort()
            let tree = try DropTreeFixture(root: root, settings: "review_address = 127.0.0.1:\(port)")
            let service = try tree.startService()
            defer {
                if service.isRunning {
                    service.terminate()
                    service.waitUntilExit()
                }
            }
            for _ in 0..<100 where !SFTPServer.isListening(port) { usleep(100_000) }
            let probe = try runProcess(
                "python3", [Repository.root.appendingPathComponent("Tests/HostileClient/slow_connections.py").path, "\(port)", "45"], timeout: 120)
            #expect(probe.status == 0, "\(probe.standardError)")
            let seconds = Dictionary(uniqueKeysWithValues: probe.standardOutput.split(whereSeparator: \.isWhitespace).compactMap { pair -> (String, Double?)? in
                let parts = pair.split(separator: "=")
                return parts.count == 2 ? (String(parts[0]), Double(parts[1])) : nil
            })
            for name in ["idle", "slow-header", "slow-body"] {
                let closed = try #require(seconds[name], "\(name) missing: \(probe.standardOutput)")
                #expect(closed != nil && closed! <= 35, "\(name) stayed open: \(probe.standardOutput)")
            }
        }
    }
}
