import ExchangeCore
import ExchangeRuntime

/// Charts drawn on the server as SVG, for people who would rather look than read: the geometry is
/// computed here (pure) and the `charts` template draws it, every text escaped like any other value.
/// Each chart says in words what it shows (`summary`, the SVG's accessible name).
enum Charts {
    static let accepted = "#2e8b57", partly = "#e0a100", rejected = "#c0392b", neutral = "#4a6fa5", axis = "#8a949e", ink = "#1b1f24"

    /// A number for an SVG attribute, with one decimal at most.
    static func number(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }

    /// Files per day as stacked bars (accepted, accepted with errors, rejected), the share rejected over
    /// each day that had rejections.
    static func filesPerDay(_ days: [Activity.Day], title: String) -> [String: Any] {
        let (width, height, left, bottom, top) = (640.0, 200.0, 34.0, 24.0, 18.0)
        let plotHeight = height - bottom - top
        let peak = max(1, days.map(\.files).max() ?? 0)
        let slot = (width - left - 4) / Double(max(1, days.count))
        var rects: [[String: Any]] = []
        var texts: [[String: Any]] = [
            ["x": number(left - 4), "y": number(top + 4), "anchor": "end", "size": "10", "fill": axis, "text": "\(peak)"],
            ["x": number(left - 4), "y": number(height - bottom), "anchor": "end", "size": "10", "fill": axis, "text": "0"],
        ]
        for (index, day) in days.enumerated() {
            let x = left + Double(index) * slot + slot * 0.15
            var base = height - bottom
            let good = day.files - day.rejected - day.partly
            for (count, fill, what) in [(good, accepted, "accepted"), (day.partly, partly, "accepted with errors"), (day.rejected, rejected, "rejected")]
            where count > 0 {
                let h = plotHeight * Double(count) / Double(peak)
                base -= h
                rects.append([
                    "x": number(x), "y": number(base), "w": number(slot * 0.7), "h": number(h), "fill": fill, "tip": "\(day.date): \(count) \(what)",
                ])
            }
            if day.rejected > 0 {
                texts.append([
                    "x": number(x + slot * 0.35), "y": number(base - 3), "anchor": "middle", "size": "9", "fill": rejected,
                    "text": "\(Int((Double(day.rejected) / Double(day.files) * 100).rounded()))%",
                ])
            }
            if index % 5 == 0 || index == days.count - 1 {
                let label = String(day.date.description.suffix(5))
                texts.append(["x": number(x + slot * 0.35), "y": number(height - 8), "anchor": "middle", "size": "10", "fill": axis, "text": label])
            }
        }
        let files = days.reduce(0) { $0 + $1.files }, refused = days.reduce(0) { $0 + $1.rejected }
        let share = files == 0 ? 0 : Int((Double(refused) / Double(files) * 100).rounded())
        var chart: [String: Any] = [
            "title": title, "width": number(width), "height": number(height), "rects": rects, "texts": texts,
            "lines": [["x1": number(left), "y1": number(height - bottom), "x2": number(width), "y2": number(height - bottom), "stroke": axis]],
            "summary": "\(title): \(files) file(s) in \(days.count) days, \(refused) rejected (\(share)%).",
            "legend": [["fill": accepted, "label": "accepted"], ["fill": partly, "label": "accepted with errors"], ["fill": rejected, "label": "rejected"]],
            "hasLegend": true,
        ]
        if files == 0 { chart["empty"] = "No files in these days." }
        return chart
    }

    /// Counts as horizontal bars, one per labelled item, in the order given.
    static func bars(_ items: [(label: String, count: Int)], title: String, unit: String, empty: String, fill: String = neutral) -> [String: Any] {
        let (width, row, left) = (640.0, 22.0, 170.0)
        let height = max(row, row * Double(items.count)) + 4
        let peak = max(1, items.map(\.count).max() ?? 0)
        var rects: [[String: Any]] = []
        var texts: [[String: Any]] = []
        for (index, item) in items.enumerated() {
            let y = Double(index) * row + 3
            let w = (width - left - 60) * Double(item.count) / Double(peak)
            texts.append(["x": number(left - 8), "y": number(y + 13), "anchor": "end", "size": "11", "fill": ink, "text": item.label])
            rects.append(["x": number(left), "y": number(y), "w": number(max(w, item.count > 0 ? 1 : 0)), "h": number(row - 6), "fill": fill, "tip": "\(item.label): \(item.count) \(unit)"])
            texts.append(["x": number(left + w + 6), "y": number(y + 13), "anchor": "start", "size": "11", "fill": ink, "text": "\(item.count)"])
        }
        let total = items.reduce(0) { $0 + $1.count }
        var chart: [String: Any] = [
            "title": title, "width": number(width), "height": number(height), "rects": rects, "texts": texts, "lines": [[String: Any]](),
            "summary": "\(title): " + (items.isEmpty ? empty : items.map { "\($0.label) \($0.count)" }.joined(separator: ", ")) + ".",
        ]
        if total == 0 { chart["empty"] = empty }
        return chart
    }

    /// The three charts of a participant's home page or support's status page.
    static func activity(_ activity: Activity, whose: String) -> [[String: Any]] {
        [
            filesPerDay(activity.days, title: "Files \(whose) per day, last \(activity.days.count) days"),
            bars(
                activity.codes.map { ($0.code, $0.count) }, title: "Most frequent error codes, last \(activity.days.count) days", unit: "error(s)",
                empty: "No errors in these days.", fill: rejected),
            bars(activity.waitingByAge, title: "Files waiting for pickup, by how long they have waited", unit: "file(s)", empty: "Nothing waits."),
        ]
    }
}
