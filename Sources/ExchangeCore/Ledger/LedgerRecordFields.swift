import Foundation

/// How every ledger stores a held record's or a waiver's fields, and the date it files a record under.
public enum LedgerRecordFields {
    /// The fields as a JSON object with sorted keys (written by hand: Foundation's writer sorts keys
    /// through NSString and cost a tenth of the service's time).
    public static func encode(_ values: [String: String]) -> String {
        var out = "{"
        for (index, key) in values.keys.sorted().enumerated() {
            if index > 0 { out += "," }
            out += ReportRenderer.jsonString(key) + ":" + ReportRenderer.jsonString(values[key]!)
        }
        return out + "}"
    }

    /// The fields of a JSON object written by `encode` (empty if the text is not one).
    public static func decode(_ text: String) -> [String: String] {
        (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? [:]
    }

    /// Text as every ledger can keep it: a NUL character (which a message may quote from a file) becomes
    /// U+FFFD (PostgreSQL text cannot hold one; SQLite's would be cut there when read).
    public static func storable(_ text: String) -> String {
        text.contains("\u{0}") ? String(String.UnicodeScalarView(text.unicodeScalars.map { $0 == "\u{0}" ? "\u{FFFD}" : $0 })) : text
    }

    /// `storable` for optional text.
    public static func storable(_ text: String?) -> String? { text.map { storable($0) } }
}
