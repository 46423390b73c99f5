import ExchangeCore
import Foundation
import Logging

/// Log lines as one JSON object each (`log_format = json`), for log shippers: the fields of the text lines
/// (`time`, `level`, `label`, `source`, `message`) and the metadata's keys beside them, one write per line so
/// that lines from several threads never interleave.
public struct JSONLogHandler: LogHandler {
    /// The handler's metadata, merged under each call's.
    public var metadata: Logger.Metadata = [:]
    /// The lowest level written.
    public var logLevel: Logger.Level = .info
    private let label: String
    private let write: @Sendable (String) -> Void
    private let now: @Sendable () -> Date

    /// A handler for `label` that hands each line (with its newline) to `write`.
    public init(label: String, now: @escaping @Sendable () -> Date = Date.init, write: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.now = now
        self.write = write
    }

    /// A handler writing to standard error.
    public static func standardError(label: String) -> JSONLogHandler {
        JSONLogHandler(label: label) { line in
            var bytes = Array(line.utf8)
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress! + offset, $0.count - offset) }
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }

    /// A metadata value by key.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes one line.
    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        write(
            JSONLogHandler.line(
                time: now(), level: event.level, label: label, source: event.source, message: "\(event.message)", metadata: merged))
    }

    /// The JSON object of one event, its fields in a fixed order (the metadata's sorted by key), and a newline.
    static func line(time: Date, level: Logger.Level, label: String, source: String, message: String, metadata: Logger.Metadata)
        -> String
    {
        var out = "{"
        out += "\"time\":" + quoted(timestamp(time))
        out += ",\"level\":" + quoted(level.rawValue)
        out += ",\"label\":" + quoted(label)
        out += ",\"source\":" + quoted(source)
        out += ",\"message\":" + quoted(message)
        for key in metadata.keys.sorted() where !["time", "level", "label", "source", "message"].contains(key) {
            out += "," + quoted(key) + ":" + json(metadata[key]!)
        }
        return out + "}\n"
    }

    private static func json(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): quoted(text)
        case .stringConvertible(let convertible): quoted(convertible.description)
        case .array(let values): "[" + values.map(json).joined(separator: ",") + "]"
        case .dictionary(let values): "{" + values.keys.sorted().map { quoted($0) + ":" + json(values[$0]!) }.joined(separator: ",") + "}"
        }
    }

    /// `2026-12-07T05:20:14.123Z`.
    static func timestamp(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let fraction = Int(milliseconds - seconds * 1000)
        let instant = Timestamp(secondsSinceEpoch: seconds)
        let digits = String(fraction)
        return "\(instant.iso8601.dropLast())." + String(repeating: "0", count: 3 - digits.count) + digits + "Z"
    }

    private static func quoted(_ text: String) -> String { ReportRenderer.jsonString(text) }
}
