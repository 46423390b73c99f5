/// Writes acknowledgements and error files as bytes, in either binding, valid against the bundled ACK and
/// ERR schemas. Pure: the caller writes the bytes.
public enum AcknowledgementRenderer {
    /// ACK field names, in order (the CSV header; UpperCamelCase for XML).
    public static let acknowledgementFields = [
        "receiptId", "inputFile", "senderOrgId", "fileType", "binding", "contentSha256", "sizeBytes",
        "receivedDateTime", "processedDateTime", "outcome", "recordsReceived", "recordsAccepted", "recordsRejected",
        "errorCount", "errorFile", "firstReceiptId", "message",
    ]
    /// ERR field names, in order.
    public static let errorFields = [
        "receiptId", "inputFile", "line", "column", "path", "recordKey", "field", "code", "message",
    ]

    /// The acknowledgement file.
    public static func acknowledgement(_ ack: Acknowledgement, as binding: Binding) -> [UInt8] {
        render(
            type: .acknowledgement, fields: acknowledgementFields, records: [ack.fieldValues], binding: binding)
    }

    /// The error file.
    public static func errors(_ entries: [ErrorEntry], as binding: Binding) -> [UInt8] {
        render(type: .errorList, fields: errorFields, records: entries.map(\.fieldValues), binding: binding)
    }

    /// A file of any type: the CSV header row and rows, or the XML root, the `Header` (for the partner
    /// types) and one element per record, with empty values left out.
    /// - Parameters:
    ///   - fields: The type's field names, in schema order.
    ///   - header: Sender and school year for the XML `Header` of a partner type (ignored for CSV).
    ///   - records: Each record's values in the order of `fields`.
    public static func render(
        type: ExchangeType, fields: [String], header: (senderOrgId: String, schoolYear: Int, created: Timestamp)? = nil,
        records: [[String?]], binding: Binding
    ) -> [UInt8] {
        // Built as bytes, each element's tags made once per file: a small file's outputs are rendered for
        // every file a backlog drains.
        var out: [UInt8] = []
        out.reserveCapacity(256 + records.count * fields.count * 32)
        switch binding {
        case .csv:
            out.append(contentsOf: fields.joined(separator: ",").utf8)
            out.append(contentsOf: "\r\n".utf8)
            for record in records {
                for (index, value) in record.enumerated() {
                    if index > 0 { out.append(UInt8(ascii: ",")) }
                    out.append(contentsOf: csvCell(value ?? "").utf8)
                }
                out.append(contentsOf: "\r\n".utf8)
            }
        case .xml:
            out.append(contentsOf: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<\(type.xmlRootElement) xmlns=\"\(ktsxNamespace)\">\n".utf8)
            if let header, type.hasXMLHeader {
                out.append(contentsOf: "  <Header>\n    <SenderOrgId>\(header.senderOrgId)</SenderOrgId>\n    <SchoolYear>\(header.schoolYear)</SchoolYear>\n".utf8)
                out.append(contentsOf: "    <RecordCount>\(records.count)</RecordCount>\n    <CreatedDateTime>\(header.created.iso8601)</CreatedDateTime>\n".utf8)
                out.append(contentsOf: "    <SourceSystem>KTS Exchange</SourceSystem>\n  </Header>\n".utf8)
            }
            let tags = fields.map { name in
                let element = name.prefix(1).uppercased() + name.dropFirst()
                return (open: Array("    <\(element)>".utf8), close: Array("</\(element)>\n".utf8))
            }
            let (recordOpen, recordClose) = (Array("  <\(type.xmlRecordElement)>\n".utf8), Array("  </\(type.xmlRecordElement)>\n".utf8))
            for record in records {
                out.append(contentsOf: recordOpen)
                for (tag, value) in zip(tags, record) {
                    guard let value, !value.isEmpty else { continue }
                    out.append(contentsOf: tag.open)
                    appendXMLText(value, to: &out)
                    out.append(contentsOf: tag.close)
                }
                out.append(contentsOf: recordClose)
            }
            out.append(contentsOf: "</\(type.xmlRootElement)>\n".utf8)
        }
        return out
    }

    /// Appends `value` escaped for XML (`xmlText`), copying it as it is when no byte needs a look: none of
    /// `&`, `<`, `>`, no control character, and no 0xEF (the lead byte of U+FFFE and U+FFFF).
    static func appendXMLText(_ value: String, to out: inout [UInt8]) {
        let plain = !value.utf8.contains { byte in
            byte < 0x20 || byte == UInt8(ascii: "&") || byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">") || byte == 0xEF
        }
        if plain {
            out.append(contentsOf: value.utf8)
        } else {
            out.append(contentsOf: xmlText(value).utf8)
        }
    }

    /// A CSV cell: quoted when it holds a comma, quote or line break; a leading `=`, `+`, `-`, `@`, tab or
    /// carriage return is defused with a `'` so a spreadsheet never runs it as a formula.
    static func csvCell(_ value: String) -> String {
        var text = value
        if let first = text.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) {
            text = "'" + text
        }
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingQuotes() + "\""
    }

    /// Text escaped for XML, with characters XML 1.0 cannot carry replaced by U+FFFD.
    static func xmlText(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                let v = scalar.value
                let allowed = (v >= 0x20 && v <= 0xD7FF) || (v >= 0xE000 && v <= 0xFFFD) || v >= 0x10000
                out.unicodeScalars.append(allowed ? scalar : "\u{FFFD}")
            }
        }
        return out
    }
}

extension String {
    fileprivate func replacingQuotes() -> String {
        var out = ""
        for character in self {
            if character == "\"" { out += "\"\"" } else { out.append(character) }
        }
        return out
    }
}
