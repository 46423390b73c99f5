/// Recognises, from a file's first bytes, encodings other than UTF-8, so they are refused with a message
/// that names them instead of a cryptic parse error.
public enum EncodingCheck {
    /// The UTF-8 byte-order mark, which the exchange tolerates.
    public static let utf8BOM: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// The non-UTF-8 encoding the first bytes reveal (a byte-order mark, or the zero bytes of UTF-16 or
    /// UTF-32 text), or nil.
    public static func foreignEncoding(prefix: UnsafeRawBufferPointer) -> String? {
        let b = Array(prefix.prefix(4))
        func starts(_ bytes: [UInt8]) -> Bool { b.count >= bytes.count && Array(b.prefix(bytes.count)) == bytes }
        if starts([0x00, 0x00, 0xFE, 0xFF]) || starts([0xFF, 0xFE, 0x00, 0x00]) { return "UTF-32" }
        if starts([0xFE, 0xFF]) || starts([0xFF, 0xFE]) { return "UTF-16" }
        if b.count >= 4, b[0] == 0, b[1] == 0, b[2] == 0, b[3] != 0 { return "UTF-32" }
        if b.count >= 4, b[0] != 0, b[1] == 0, b[2] == 0, b[3] == 0 { return "UTF-32" }
        if b.count >= 2, (b[0] == 0) != (b[1] == 0) { return "UTF-16" }
        return nil
    }

    /// The issue for an XML file that is not UTF-8: a foreign byte pattern, or an XML declaration naming
    /// another encoding.
    public static func xmlEncodingIssue(prefix: UnsafeRawBufferPointer) -> ValidationIssue? {
        if let foreign = foreignEncoding(prefix: prefix) {
            return issue(found: foreign)
        }
        var bytes = Array(prefix.prefix(512))
        if bytes.starts(with: utf8BOM) { bytes.removeFirst(3) }
        guard bytes.starts(with: Array("<?xml".utf8)), let end = bytes.firstRange(of: Array("?>".utf8)) else {
            return nil
        }
        let declaration = String(decoding: bytes[..<end.lowerBound], as: UTF8.self)
        guard let declared = attribute("encoding", in: declaration) else { return nil }
        let normalized = declared.uppercased()
        guard normalized != "UTF-8", normalized != "UTF8" else { return nil }
        return issue(found: "'\(declared)' (declared in the XML declaration)")
    }

    /// The issue for a file in `encoding`.
    public static func issue(found encoding: String) -> ValidationIssue {
        ValidationIssue(
            code: .encodingError,
            message: "The file is encoded as \(encoding). KTS Exchange files must be UTF-8; save the file as "
                + "UTF-8 and send it again.",
            line: 1)
    }

    private static func attribute(_ name: String, in declaration: String) -> String? {
        guard let range = declaration.firstRange(of: name) else { return nil }
        var rest = declaration[range.upperBound...].drop(while: { $0 == " " || $0 == "\t" })
        guard rest.first == "=" else { return nil }
        rest = rest.dropFirst().drop(while: { $0 == " " || $0 == "\t" })
        guard let quote = rest.first, quote == "\"" || quote == "'" else { return nil }
        let value = rest.dropFirst().prefix(while: { $0 != quote })
        return String(value)
    }
}
