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
    ///
    /// Read by hand, byte by byte (JSONDecoder cost a tenth of judging a file whose records have held
    /// state); text in any other JSON shape (a database's own rendering, a `null`) is left to
    /// JSONDecoder.
    public static func decode(_ text: String) -> [String: String] {
        var text = text
        if let fields = text.withUTF8({ bytes in
            var reader = FlatObjectReader(bytes: bytes)
            return reader.read()
        }) {
            return fields
        }
        return (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? [:]
    }

    /// Text as every ledger can keep it: a NUL character (which a message may quote from a file) becomes
    /// U+FFFD (PostgreSQL text cannot hold one; SQLite's would be cut there when read).
    public static func storable(_ text: String) -> String {
        text.contains("\u{0}") ? String(String.UnicodeScalarView(text.unicodeScalars.map { $0 == "\u{0}" ? "\u{FFFD}" : $0 })) : text
    }

    /// `storable` for optional text.
    public static func storable(_ text: String?) -> String? { text.map { storable($0) } }
}

/// Reads a JSON object whose values are all strings, with optional spaces; nil for anything else.
private struct FlatObjectReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    mutating func read() -> [String: String]? {
        var fields: [String: String] = [:]
        skipSpaces()
        guard take(UInt8(ascii: "{")) else { return nil }
        skipSpaces()
        if take(UInt8(ascii: "}")) { return atEnd() ? fields : nil }
        while true {
            skipSpaces()
            guard let key = string() else { return nil }
            skipSpaces()
            guard take(UInt8(ascii: ":")) else { return nil }
            skipSpaces()
            guard let value = string() else { return nil }
            if fields[key] == nil { fields[key] = value }  // the first wins, as in JSONDecoder
            skipSpaces()
            if take(UInt8(ascii: ",")) { continue }
            guard take(UInt8(ascii: "}")) else { return nil }
            return atEnd() ? fields : nil
        }
    }

    private mutating func atEnd() -> Bool {
        skipSpaces()
        return index == bytes.count
    }

    private mutating func skipSpaces() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
            index += 1
        }
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// A string: the bytes between quotes, unescaped.
    private mutating func string() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        // The common case: no escapes, so the bytes are the string.
        while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") {
            guard bytes[index] >= 0x20 else { return nil }
            index += 1
        }
        guard index < bytes.count else { return nil }
        if bytes[index] == UInt8(ascii: "\"") {
            index += 1
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<(index - 1)]), as: UTF8.self)
        }
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self).unicodeScalars)
        var pendingHigh: UInt32?
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                guard pendingHigh == nil else { return nil }
                return String(scalars)
            }
            guard byte == UInt8(ascii: "\\") else {
                guard byte >= 0x20, pendingHigh == nil else { return nil }
                // One UTF-8 sequence, copied as it is.
                var end = index + 1
                while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
                scalars.append(contentsOf: String(decoding: UnsafeBufferPointer(rebasing: bytes[index..<end]), as: UTF8.self).unicodeScalars)
                index = end
                continue
            }
            guard index + 1 < bytes.count else { return nil }
            let escaped = bytes[index + 1]
            index += 2
            let simple: Unicode.Scalar? = switch escaped {
            case UInt8(ascii: "\""): "\""
            case UInt8(ascii: "\\"): "\\"
            case UInt8(ascii: "/"): "/"
            case UInt8(ascii: "b"): "\u{8}"
            case UInt8(ascii: "f"): "\u{C}"
            case UInt8(ascii: "n"): "\n"
            case UInt8(ascii: "r"): "\r"
            case UInt8(ascii: "t"): "\t"
            default: nil
            }
            if let simple {
                guard pendingHigh == nil else { return nil }
                scalars.append(simple)
                continue
            }
            guard escaped == UInt8(ascii: "u"), index + 4 <= bytes.count,
                let code = UInt32(String(decoding: UnsafeBufferPointer(rebasing: bytes[index..<(index + 4)]), as: UTF8.self), radix: 16)
            else { return nil }
            index += 4
            if let high = pendingHigh {
                guard (0xDC00...0xDFFF).contains(code),
                    let scalar = Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00))
                else { return nil }
                scalars.append(scalar)
                pendingHigh = nil
            } else if (0xD800...0xDBFF).contains(code) {
                pendingHigh = code
            } else {
                guard let scalar = Unicode.Scalar(code) else { return nil }
                scalars.append(scalar)
            }
        }
        return nil
    }
}
