/// Text from files and names, made safe to look at: control characters (NUL, BEL, escape, ...) and the
/// Unicode characters that reorder or hide text (direction overrides and isolates, marks, zero-width
/// joiners, the byte-order mark) are shown as `⟨U+202E⟩` instead of acting on the page. A file named with
/// a right-to-left override cannot display as another name; a cell with a NUL shows that it has one.
/// (HTML escaping is Mustache's; this comes before it.)
enum VisibleText {
    /// Whether a scalar must be shown by its code rather than rendered.
    static func isHidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D: false  // tab and line breaks lay text out as meant
        case 0x00...0x1F, 0x7F...0x9F: true  // C0 and C1 controls, DEL
        case 0x061C, 0x200B...0x200F, 0x202A...0x202E, 0x2060...0x2069, 0xFEFF, 0xFFF9...0xFFFB: true
        default: false
        }
    }

    /// `text` with every hidden scalar shown as `⟨U+XXXX⟩`.
    static func make(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isHidden) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if isHidden(scalar) {
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out.append(contentsOf: "⟨U+\(String(repeating: "0", count: max(0, 4 - hex.count)))\(hex)⟩".unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// Template values with every string made visible, through dictionaries and arrays.
    static func values(_ value: Any) -> Any {
        switch value {
        case let text as String: make(text)
        case let dictionary as [String: Any]: dictionary.mapValues(values)
        case let array as [Any]: array.map(values)
        default: value
        }
    }
}
