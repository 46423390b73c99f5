import Foundation
#if canImport(FoundationXML)
import FoundationXML  // XMLParser lives here on Linux: part of Foundation
#endif

/// A file found in a participant's `outbound/`, parsed with Foundation only (XMLParser and a small CSV reader).
struct OutboundFile: Sendable {
    /// The file name.
    var name: String
    /// Where it is.
    var url: URL
    /// The binding recognised from the content (XML root in our namespace, or a CSV header row of a known type).
    var binding: Binding?
    /// The type recognised from the content.
    var type: RecordType?
    /// The records: field name → value (absent when the XML element is missing or the CSV cell empty).
    var records: [[String: String]]
    /// Why the file could not be read, if it could not.
    var problem: String?

    /// An acknowledgement of a dropped file: `NAME.ack.<ext>`.
    var isAck: Bool { name.hasSuffix(".ack.xml") || name.hasSuffix(".ack.csv") }
    /// An error file: `NAME.errors.<ext>`.
    var isErrorFile: Bool { name.hasSuffix(".errors.xml") || name.hasSuffix(".errors.csv") }
    /// The binding its extension names.
    var extensionBinding: Binding? { name.hasSuffix(".xml") ? .xml : name.hasSuffix(".csv") ? .csv : nil }
}

/// Reads `outbound/` folders.
enum OutboundReader {
    /// The visible files of a folder, parsed, and the names of hidden files (leading `.`) left there.
    static func read(_ folder: URL) -> (files: [OutboundFile], hidden: [String]) {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
        let hidden = names.filter { $0.hasPrefix(".") }
        let files = names.filter { !$0.hasPrefix(".") }.map { parse(folder.appendingPathComponent($0)) }
        return (files, hidden)
    }

    /// Parses one file in whichever binding its content shows.
    static func parse(_ url: URL) -> OutboundFile {
        var file = OutboundFile(name: url.lastPathComponent, url: url, binding: nil, type: nil, records: [], problem: nil)
        guard var data = try? Data(contentsOf: url) else {
            file.problem = "unreadable"
            return file
        }
        if data.starts(with: [0xEF, 0xBB, 0xBF]) { data = data.dropFirst(3) }
        let firstByte = data.first { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }
        if firstByte == UInt8(ascii: "<") {
            let reader = XMLRecordReader()
            let parser = XMLParser(data: Data(data))
            parser.shouldProcessNamespaces = true
            parser.delegate = reader
            guard parser.parse() else {
                file.problem = "XML does not parse: \(parser.parserError.map { "\($0)" } ?? "?")"
                return file
            }
            file.binding = .xml
            guard reader.namespace == exchangeNamespace, let type = RecordType.fromXMLRoot(reader.root ?? "") else {
                file.problem = "unknown XML root \(reader.root ?? "?") in \(reader.namespace ?? "no namespace")"
                return file
            }
            file.type = type
            file.records = reader.records
        } else {
            guard let text = String(data: Data(data), encoding: .utf8) else {
                file.problem = "not UTF-8"
                return file
            }
            guard let rows = CSVReader.rows(text), let header = rows.first else {
                file.problem = "CSV does not parse"
                return file
            }
            file.binding = .csv
            guard let type = RecordType.fromCSVHeader(header) else {
                file.problem = "unknown CSV header \(header.prefix(4).joined(separator: ","))…"
                return file
            }
            file.type = type
            for row in rows.dropFirst() where !(row.count == 1 && row[0].isEmpty) {
                guard row.count == header.count else {
                    file.problem = "a CSV row has \(row.count) cells, the header \(header.count)"
                    continue
                }
                var record: [String: String] = [:]
                for (name, value) in zip(header, row) where !value.isEmpty { record[name] = value }
                file.records.append(record)
            }
        }
        return file
    }
}

/// Collects the records of an exchange XML file: the root, then each child of the root other than `Header` is a
/// record whose children are its fields.
final class XMLRecordReader: NSObject, XMLParserDelegate {
    /// The root element's local name and namespace.
    var root: String?
    var namespace: String?
    /// The records, field name → text.
    var records: [[String: String]] = []
    private var depth = 0
    private var current: [String: String]?
    private var field: String?
    private var text = ""

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        depth += 1
        switch depth {
        case 1: root = elementName; namespace = namespaceURI
        case 2: current = elementName == "Header" ? nil : [:]
        case 3: field = fieldName(ofElement: elementName); text = ""
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { if depth == 3 { text += string } }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        if depth == 3, let field, current != nil { current?[field] = text }
        if depth == 2, let current { records.append(current) }
        if depth == 2 { current = nil }
        depth -= 1
    }
}

/// A small RFC 4180 reader: quoted values with doubled quotes and line breaks, CRLF or LF.
enum CSVReader {
    /// The rows of `text`, or nil when the quoting is broken.
    static func rows(_ text: String) -> [[String]]? {
        var rows: [[String]] = []
        var row: [String] = []
        var value = ""
        var quoted = false
        var afterQuote = false
        var iterator = Array(text.unicodeScalars).makeIterator()
        var pending: Unicode.Scalar? = iterator.next()
        while let c = pending {
            pending = iterator.next()
            if quoted {
                if c == "\"" {
                    if pending == "\"" { value.unicodeScalars.append("\""); pending = iterator.next() } else { quoted = false; afterQuote = true }
                } else {
                    value.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"":
                guard value.isEmpty, !afterQuote else { return nil }
                quoted = true
            case ",":
                row.append(value); value = ""; afterQuote = false
            case "\r":
                if pending == "\n" { pending = iterator.next() }
                row.append(value); rows.append(row); row = []; value = ""; afterQuote = false
            case "\n":
                row.append(value); rows.append(row); row = []; value = ""; afterQuote = false
            default:
                guard !afterQuote else { return nil }
                value.unicodeScalars.append(c)
            }
        }
        if quoted { return nil }
        if !value.isEmpty || !row.isEmpty { row.append(value); rows.append(row) }
        return rows
    }
}
