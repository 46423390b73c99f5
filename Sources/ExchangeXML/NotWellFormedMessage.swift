import Foundation

/// libxml2's fatal parse errors put in words a clerk can act on: what is wrong at the line given and what
/// to do, the parser's own words kept only for an error not known here. A tag's name is repeated only when
/// it is (the start of) an exchange element's name: a `<` inside a value makes a "tag" of the value.
enum NotWellFormedMessage {
    /// The message for fatal error text `raw` (its first line), given the innermost element still open.
    static func text(
        raw: String, unclosed: (name: String, line: Int)? = nil, elementNames: Set<String> = [], sawRoot: Bool = true
    ) -> String {
        let raw = raw.trimmingCharacters(in: .whitespaces)
        func known(_ name: String) -> Bool { !name.isEmpty && elementNames.contains { $0.hasPrefix(name) } }
        func tag(_ name: String, closing: Bool = false) -> String {
            known(name) ? "<\(closing ? "/" : "")\(name)>" : (closing ? "a closing tag of another name" : "an element")
        }
        func match(_ pattern: String) -> [String]? {
            guard let regex = try? NSRegularExpression(pattern: pattern),
                let found = regex.firstMatch(in: raw, range: NSRange(raw.startIndex..., in: raw))
            else { return nil }
            return (1..<found.numberOfRanges).map { index in
                Range(found.range(at: index), in: raw).map { String(raw[$0]) } ?? ""
            }
        }
        if raw.hasPrefix("xmlParseEntityRef: no name") || raw.hasPrefix("EntityRef: expecting ';'") {
            return "An & is written as it is; in XML it starts a character reference. Write & as &amp; (as in Health &amp; Safety)."
        }
        if let found = match(#"^Entity '([A-Za-z0-9]{1,20})' not defined"#) {
            return "&\(found[0]); is not an XML character reference (HTML names such as &nbsp; are not XML). Write the character itself, or & as &amp;."
        }
        if let found = match(#"^Opening and ending tag mismatch: ([^ ]+) line ([0-9]+) and ([^ ]+)"#) {
            let cut = found[0].hasPrefix(found[2]) ? " If the file ends here, it was cut off: send the whole file." : ""
            let opened = known(found[0]) ? "The element <\(found[0])>" : "An element"
            return "\(opened) opened on line \(found[1]) is closed by \(tag(found[2], closing: true)); each element must be closed by "
                + "its own name, in order (a < inside a value is written &lt;).\(cut)"
        }
        if let found = match(#"^Premature end of data in tag ([^ ]+) line ([0-9]+)"#) {
            return "The file ends before \(tag(found[0])) (opened on line \(found[1])) is closed: it was cut off. Send the whole file."
        }
        if raw.hasPrefix("EndTag: '</' not found") || raw.hasPrefix("Premature end of data") {
            return "The file ends before the XML is complete: it was cut off. Send the whole file."
        }
        // libxml2's push parser says "Extra content" when the file ends with elements still open.
        if raw.hasPrefix("Extra content at the end of the document"), let unclosed {
            return "The file ends before \(tag(unclosed.name)) (opened on line \(unclosed.line)) is closed: it was cut off. Send the whole file."
        }
        if raw.hasPrefix("Extra content at the end of the document"), !sawRoot {
            return "The file holds no records: there is no root element after the <?xml …?> declaration. Send the file with its content."
        }
        if raw.hasPrefix("expected '>'") {
            return "A tag is not closed with >; if the file ends here, it was cut off: send the whole file."
        }
        if raw.hasPrefix("Extra content at the end of the document") {
            return "There is more after the end of the root element; a file holds one root element (were two files joined?)."
        }
        if raw.hasPrefix("Start tag expected, '<' not found") || raw.hasPrefix("Document is empty") {
            return "The file does not start as XML does (with <?xml or an element); check that it is the XML file."
        }
        if raw.hasPrefix("StartTag: invalid element name") {
            return "A < is not followed by an element name. Write < inside a value as &lt;."
        }
        if let found = match(#"^Couldn't find end of Start Tag ([^ ]+)"#) {
            guard known(found[0]) else {
                return "A < inside a value starts what XML reads as a tag; write < in a value as &lt;."
            }
            return "The start tag <\(found[0]) is not closed with >; if the file ends here, it was cut off: send the whole file."
        }
        if raw.hasPrefix("PCDATA invalid Char value") || raw.contains("out of allowed range") {
            return "A control character (an invisible character XML cannot carry) is in the file here; remove it."
        }
        if raw.contains("attribute") {
            return "A tag here is not written as XML allows (exchange files carry no attributes); a < inside a value starts what XML "
                + "reads as a tag: write it as &lt;."
        }
        if raw.hasPrefix("XML declaration allowed only at the start") {
            return "The <?xml …?> declaration must be the very first thing in the file (no blank line or other text before it)."
        }
        if raw.hasPrefix("Double hyphen within comment") || raw.hasPrefix("Comment not terminated") {
            return "A comment (<!-- … -->) here is not written as XML allows: it holds -- or is never closed with -->. Remove the "
                + "comment, or export the file again."
        }
        if raw.hasPrefix("xmlParseCharRef") || raw.hasPrefix("CharRef") {
            return "A character written as a number (&#…;) here is not one XML can carry (an invisible control character, or a "
                + "number that is not written right). Remove it, or export the file again."
        }
        if raw.hasPrefix("AttValue") || raw.hasPrefix("Specification mandates value for attribute") {
            return "A tag here is not written as XML allows (exchange files carry no attributes); a < inside a value starts what XML "
                + "reads as a tag: write it as &lt;."
        }
        if raw.hasPrefix("Unescaped '<' not allowed in attributes values") || raw.hasPrefix("Unescaped '<'") {
            return "A < inside a value starts what XML reads as a tag; write < in a value as &lt;."
        }
        if raw.hasPrefix("Sequence ']]>' not allowed in content") {
            return "The characters ]]> may not stand in a value; write > as &gt;."
        }
        if raw.hasPrefix("Input is not proper UTF-8") || raw.hasPrefix("Char 0x") {
            return "Characters here are not UTF-8: the file was saved in another encoding. Save or export it as UTF-8 and send it again."
        }
        // Not known here: the place is given, and the next step; the parser's words only after them.
        return "The XML is broken here and cannot be read further: the export went wrong, or the file was edited by hand. Export "
            + "it again from your student system and send that (the parser's words, for whoever fixes the export: \(raw))."
    }
}
