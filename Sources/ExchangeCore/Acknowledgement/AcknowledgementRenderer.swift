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
        var out = ""
        switch binding {
        case .csv:
            out += fields.joined(separator: ",") + "\r\n"
            for record in records {
                out += record.map { csvCell($0 ?? "") }.joined(separator: ",") + "\r\n"
            }
        case .xml:
            out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<\(type.xmlRootElement) xmlns=\"\(ktsxNamespace)\">\n"
            if let header, type.hasXMLHeader {
                out += "  <Header>\n    <SenderOrgId>\(header.senderOrgId)</SenderOrgId>\n    <SchoolYear>\(header.schoolYear)</SchoolYear>\n"
                out += "    <RecordCount>\(records.count)</RecordCount>\n    <CreatedDateTime>\(header.created.iso8601)</CreatedDateTime>\n"
                out += "    <SourceSystem>KTS Exchange</SourceSystem>\n  </Header>\n"
            }
            for record in records {
                out += "  <\(type.xmlRecordElement)>\n"
                for (name, value) in zip(fields, record) {
                    guard let value, !value.isEmpty else { continue }
                    let element = name.prefix(1).uppercased() + name.dropFirst()
                    out += "    <\(element)>\(xmlText(value))</\(element)>\n"
                }
                out += "  </\(type.xmlRecordElement)>\n"
            }
            out += "</\(type.xmlRootElement)>\n"
        }
        return Array(out.utf8)
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
