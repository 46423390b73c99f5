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
        /// Not a text file at all (a workbook, an archive, a PDF): what it is, in words, with what to send
        /// instead.
        case notText(String)
    }

    /// The first bytes of files that are not text, with what a clerk is told.
    static let notTextSignatures: [(bytes: [UInt8], message: String)] = [
        (
            [0x50, 0x4B, 0x03, 0x04],
            "The file is an Excel workbook (.xlsx) or another zip archive, not a CSV or XML text file. In Excel, choose "
                + "Save As and the type \"CSV UTF-8 (Comma delimited)\", and send that file."
        ),
        (
            [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1],
            "The file is an Excel 97-2003 workbook (.xls), not a CSV or XML text file. In Excel, choose Save As and the type "
                + "\"CSV UTF-8 (Comma delimited)\", and send that file."
        ),
        ([0x1F, 0x8B], "The file is compressed (gzip). Send the exchange file itself, not compressed."),
        ([0x89, 0x50, 0x4E, 0x47], "The file is a picture (PNG), not an exchange file. Send the file your student system exports (CSV or XML)."),
        ([0xFF, 0xD8, 0xFF], "The file is a picture (JPEG), not an exchange file. Send the file your student system exports (CSV or XML)."),
        (
            Array("%PDF".utf8),
            "The file is a PDF document. Send the exchange file your student system exports (CSV or XML), not a printout."
        ),
    ]

    /// The binding of a file whose first bytes are `prefix`.
    public static func binding(of prefix: UnsafeRawBufferPointer) -> Sniffed {
        if let known = notTextSignatures.first(where: { prefix.starts(with: $0.bytes) }) { return .notText(known.message) }
        if let foreign = EncodingCheck.foreignEncoding(prefix: prefix) { return .foreign(foreign) }
        var index = prefix.starts(with: EncodingCheck.utf8BOM) ? 3 : 0
        while index < prefix.count, [0x20, 0x09, 0x0A, 0x0D].contains(prefix[index]) { index += 1 }
        return index < prefix.count && prefix[index] == UInt8(ascii: "<") ? .xml : .csv
    }
}
