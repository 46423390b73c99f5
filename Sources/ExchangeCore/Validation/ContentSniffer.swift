/// Tells XML from CSV by the first bytes of a file.
public enum ContentSniffer {
    /// What the first bytes show.
    public enum Sniffed: Equatable, Sendable {
        /// The first character after an optional byte-order mark and white space is `<`.
        case xml
        /// Anything else in UTF-8 (or ASCII).
        case csv
        /// A non-UTF-8 encoding, named.
        case foreign(String)
    }

    /// The binding of a file whose first bytes are `prefix`.
    public static func binding(of prefix: UnsafeRawBufferPointer) -> Sniffed {
        if let foreign = EncodingCheck.foreignEncoding(prefix: prefix) { return .foreign(foreign) }
        var index = prefix.starts(with: EncodingCheck.utf8BOM) ? 3 : 0
        while index < prefix.count, [0x20, 0x09, 0x0A, 0x0D].contains(prefix[index]) { index += 1 }
        return index < prefix.count && prefix[index] == UInt8(ascii: "<") ? .xml : .csv
    }
}
