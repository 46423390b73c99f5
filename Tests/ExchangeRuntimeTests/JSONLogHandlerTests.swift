import Foundation
import Logging
import Synchronization
import Testing

@testable import ExchangeRuntime

@Suite("Log lines as JSON (log_format = json)")
struct JSONLogHandlerTests {
    @Test("one JSON object a line: the text line's fields and the metadata beside them, any text escaped")
    func objectPerLine() throws {
        let lines = Mutex<[String]>([])
        var logger = Logger(label: "ktsx") { label in
            JSONLogHandler(label: label, now: { Date(timeIntervalSince1970: 1_796_621_290.957) }) { line in lines.withLock { $0.append(line) } }
        }
        logger[metadataKey: "exchange.participant"] = "165901"
        logger.info(
            "file acknowledged", metadata: ["exchange.outcome": "ACCEPTED", "exchange.count": .stringConvertible(3)])
        logger.debug("not written at info")
        logger.error(
            "a \"quoted\" name\nwith a newline, a tab\t, a bell \u{7} and é",
            metadata: ["exchange.files": ["a.csv", "b.xml"], "exchange.detail": ["reason": "full disk"]])
        let written = lines.withLock { $0 }
        #expect(written.count == 2)
        #expect(written.allSatisfy { $0.hasSuffix("}\n") && $0.dropLast().allSatisfy { $0 != "\n" } })
        let first = try #require(try JSONSerialization.jsonObject(with: Data(written[0].utf8)) as? [String: Any])
        #expect(first["time"] as? String == "2026-12-07T05:28:10.957Z")
        #expect(first["level"] as? String == "info")
        #expect(first["label"] as? String == "ktsx")
        #expect(first["message"] as? String == "file acknowledged")
        #expect(first["exchange.participant"] as? String == "165901")
        #expect(first["exchange.outcome"] as? String == "ACCEPTED")
        #expect(first["exchange.count"] as? String == "3")
        #expect((first["source"] as? String)?.isEmpty == false)
        let second = try #require(try JSONSerialization.jsonObject(with: Data(written[1].utf8)) as? [String: Any])
        #expect(second["message"] as? String == "a \"quoted\" name\nwith a newline, a tab\t, a bell \u{7} and é")
        #expect(second["exchange.files"] as? [String] == ["a.csv", "b.xml"])
        #expect((second["exchange.detail"] as? [String: String]) == ["reason": "full disk"])
        #expect(written[1].contains("\\u0007"))
    }

    @Test("milliseconds kept, also before 1970 and at a second's edge")
    func timestamps() {
        #expect(JSONLogHandler.timestamp(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(JSONLogHandler.timestamp(Date(timeIntervalSince1970: 1.0405)) == "1970-01-01T00:00:01.040Z")
        #expect(JSONLogHandler.timestamp(Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59.500Z")
    }
}
