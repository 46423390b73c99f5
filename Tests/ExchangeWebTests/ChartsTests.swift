import ExchangeCore
import ExchangeRuntime
@testable import ExchangeWeb
import Foundation
import Testing

@Suite("Charts drawn as SVG on the server")
struct ChartsTests {
    static func day(_ text: String, files: Int, rejected: Int = 0, partly: Int = 0) -> Activity.Day {
        Activity.Day(date: LocalDate(text)!, files: files, rejected: rejected, partly: partly)
    }

    @Test("files per day: stacked bars in proportion to the busiest day, the share rejected above each day that had rejections")
    func filesPerDay() throws {
        let days = [Self.day("2026-01-12", files: 10, rejected: 2, partly: 3), Self.day("2026-01-13", files: 0), Self.day("2026-01-14", files: 5)]
        let chart = Charts.filesPerDay(days, title: "Files per day")
        let rects = try #require(chart["rects"] as? [[String: Any]])
        // Day one: 5 accepted, 3 partly, 2 rejected; day two nothing; day three 5 accepted.
        #expect(rects.map { $0["fill"] as? String } == [Charts.accepted, Charts.partly, Charts.rejected, Charts.accepted])
        let heights = rects.compactMap { ($0["h"] as? String).flatMap(Double.init) }
        let plot = 200.0 - 24 - 18
        #expect(heights == [plot / 2, plot * 0.3, plot * 0.2, plot / 2].map { ($0 * 10).rounded() / 10 })
        #expect(rects[0]["tip"] as? String == "2026-01-12: 5 accepted")
        let texts = try #require(chart["texts"] as? [[String: Any]]).compactMap { $0["text"] as? String }
        #expect(texts.contains("20%") && texts.contains("10") && texts.contains("01-12") && texts.contains("01-14"))
        #expect(chart["summary"] as? String == "Files per day: 15 file(s) in 3 days, 2 rejected (13%).")
        #expect(chart["empty"] == nil)
        #expect(Charts.filesPerDay([Self.day("2026-01-12", files: 0)], title: "x")["empty"] as? String == "No files in these days.")
    }

    @Test("horizontal bars: one per item in order, the longest for the largest count, every count written beside its bar")
    func bars() throws {
        let chart = Charts.bars([("ATT-01", 8), ("<b>", 2), ("none", 0)], title: "Codes", unit: "error(s)", empty: "No errors.")
        let rects = try #require(chart["rects"] as? [[String: Any]])
        let widths = rects.compactMap { ($0["w"] as? String).flatMap(Double.init) }
        #expect(widths == [410, 102.5, 0].map { ($0 * 10).rounded() / 10 })
        #expect(chart["summary"] as? String == "Codes: ATT-01 8, <b> 2, none 0.")
        let waiting = Activity(days: [], codes: [], waitingHours: [0, 3, 30, 200, 200])
        #expect(waiting.waitingByAge.map(\.count) == [1, 1, 0, 1, 0, 2])
        #expect(Charts.bars(waiting.waitingByAge, title: "t", unit: "file(s)", empty: "Nothing waits.")["empty"] == nil)
        #expect(Charts.bars([("a", 0)], title: "t", unit: "file(s)", empty: "Nothing waits.")["empty"] as? String == "Nothing waits.")
    }
}
