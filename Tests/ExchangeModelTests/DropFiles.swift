import Foundation

/// One record as the model knows it: its canonical values by field name (DESIGN section 4: "a value is stored,
/// compared, routed and posted in its one canonical form"), and, where the drop file spells a value another
/// tolerated way (`2026-1-5`, ` 15 `, `1` for true), that spelling.
struct ModelRecord: Sendable {
    var type: RecordType
    /// Canonical values; an absent optional field has no entry.
    var values: [String: String]
    /// How the drop file writes a field when not canonically.
    var spellings: [String: String] = [:]
    /// The rule code of a mistake planted in this record on purpose, if any.
    var plantedRule: String?

    /// The record's `recordId`.
    var recordId: String { values["recordId"]! }

    /// The canonical value of `field`.
    subscript(field: String) -> String? {
        get { values[field] }
        set { values[field] = newValue }
    }

    /// The natural key, as one string.
    var naturalKey: String { type.naturalKey.map { values[$0] ?? "" }.joined(separator: "|") }

    /// The text written into the drop file for `field`.
    func written(_ field: String) -> String? { spellings[field] ?? values[field] }
}

/// A mistake that concerns a file as a whole: the exchange rejects the file and applies nothing in it
/// (DESIGN section 4, "File gate").
enum FileMistake: String, Sendable {
    /// A value the schema forbids (`action` `insert`).
    case schemaInvalid = "schema-invalid"
    /// The XML header names another sender.
    case senderMismatch = "sender-mismatch"
    /// Not UTF-8 (UTF-16, or Latin-1 bytes).
    case badEncoding = "encoding-error"
    /// The XML header's RecordCount differs from the records sent.
    case recordCountMismatch = "record-count-mismatch"
}

/// A file a participant drops into its `inbound/`.
struct DropFile: Sendable {
    /// The file name.
    var name: String
    /// The participant whose `inbound/` it is dropped in.
    var sender: String
    var type: RecordType
    var binding: Binding
    var records: [ModelRecord]
    /// A whole-file mistake, if planted.
    var mistake: FileMistake?
    /// For a re-drop of earlier bytes under a new name: the earlier file's name.
    var duplicateOf: String?
    /// The bytes dropped.
    var bytes: Data

    /// A description for reports: name, sender, binding, what was planted.
    var label: String {
        var text = "\(name) (from \(sender), \(binding.rawValue), \(records.count) records"
        if let mistake { text += ", planted \(mistake.rawValue)" }
        if let duplicateOf { text += ", copy of \(duplicateOf)" }
        return text + ")"
    }
}

/// Renders drop files in either binding, as the specification describes them (Schemas/README.md, "XML binding",
/// "CSV binding").
enum DropFileRenderer {
    /// The bytes of a file of `records` in `binding`, from `sender` (the XML header's SenderOrgId unless a
    /// sender mismatch is planted), with a whole-file `mistake` if any.
    static func render(
        type: RecordType, binding: Binding, records: [ModelRecord], headerSender: String, schoolYear: Int, created: String,
        mistake: FileMistake?, byteOrderMark: Bool, crlf: Bool, random: inout SeededRandom
    ) -> Data {
        var records = records
        if mistake == .schemaInvalid, !records.isEmpty {
            let index = Int.random(in: 0..<records.count, using: &random)
            records[index].spellings["action"] = "insert"
        }
        var text: String
        switch binding {
        case .xml:
            let count = records.count + (mistake == .recordCountMismatch ? 1 : 0)
            var lines = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "<\(type.xmlRoot) xmlns=\"\(exchangeNamespace)\">", "  <Header>",
                         "    <SenderOrgId>\(headerSender)</SenderOrgId>", "    <SchoolYear>\(schoolYear)</SchoolYear>",
                         "    <RecordCount>\(count)</RecordCount>", "    <CreatedDateTime>\(created)</CreatedDateTime>",
                         "    <SourceSystem>KTSX model test</SourceSystem>", "  </Header>"]
            for record in records {
                lines.append("  <\(type.xmlRecord)>")
                for field in type.fields {
                    guard let value = record.written(field) else { continue }
                    let element = xmlElementName(field)
                    lines.append("    <\(element)>\(xmlEscape(value))</\(element)>")
                }
                lines.append("  </\(type.xmlRecord)>")
            }
            lines.append("</\(type.xmlRoot)>")
            text = lines.joined(separator: crlf ? "\r\n" : "\n") + "\n"
        case .csv:
            var lines = [type.fields.joined(separator: ",")]
            for record in records {
                lines.append(type.fields.map { csvQuote(record.written($0) ?? "") }.joined(separator: ","))
            }
            text = lines.joined(separator: crlf ? "\r\n" : "\n") + (crlf ? "\r\n" : "\n")
        }
        if mistake == .badEncoding {
            if text.unicodeScalars.contains(where: { $0.value > 127 && $0.value < 256 }), random.chance(0.5),
               let latin1 = text.data(using: .isoLatin1) {
                return latin1
            }
            // UTF-16 with its byte-order mark.
            var data = Data([0xFF, 0xFE])
            for unit in text.utf16 { data.append(UInt8(unit & 0xFF)); data.append(UInt8(unit >> 8)) }
            return data
        }
        var data = Data(text.utf8)
        if byteOrderMark { data.insert(contentsOf: [0xEF, 0xBB, 0xBF], at: 0) }
        return data
    }

    /// XML text escaping.
    static func xmlEscape(_ value: String) -> String {
        value.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    /// RFC 4180 quoting: a value holding a comma, a quote or a line break is quoted, quotes doubled.
    static func csvQuote(_ value: String) -> String {
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
