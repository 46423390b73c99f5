import ExchangeCore
import Foundation

/// Rewrites libxml2's schema-validity messages into issues a school clerk can act on: field names
/// without namespaces, allowed values spelled out, and no value of a student-data field repeated.
enum SchemaMessage {
    private static let namespacePrefix = "{\(ktsxNamespace)}"

    /// The message of a RecordId repeated in one file (libxml2's identity constraint or the parser's own check).
    static let duplicateRecordId = "RecordId repeats an earlier record's RecordId in this file. If it is the same record copied, remove "
        + "the copy; if not, give this record its own RecordId."

    /// The element libxml2's message `raw` is about (without the exchange's namespace), and the rest of it.
    private static func split(_ raw: String) -> (element: String?, text: String) {
        let text = raw.replacingOccurrences(of: namespacePrefix, with: "")
        guard text.hasPrefix("Element '"), let end = text.dropFirst(9).firstIndex(of: "'") else { return (nil, text) }
        return (
            String(text[text.index(text.startIndex, offsetBy: 9)..<end]),
            String(text[text.index(after: end)...]).dropPrefix(":").trimmingCharacters(in: .whitespaces)
        )
    }

    /// The element that schema error `code` with message `raw` finds where the exchange format has no
    /// element of that name (an export's own field, or a misspelt one), if it is that error.
    static func unknownElement(code: Int, raw: String, guide: FieldGuide) -> String? {
        let (element, text) = split(raw)
        guard code == 1871, text.hasPrefix("This element is not expected"), let element, !guide.elementNames.contains(element) else {
            return nil
        }
        return element
    }

    /// The issue for an element no exchange file has, said once for the file: a known name in other case
    /// or misspelt is named with its right spelling (removing it would remove a field); any other is to
    /// be removed from the export. Its made-up name is never given as the field.
    private static func unknownElementIssue(name: String, known: Set<String>, line: Int, path: String?) -> ValidationIssue {
        var issue = ValidationIssue(code: .unexpectedElement, message: "", line: line, path: path)
        let once = "; it is listed once here, at its first place, and every record that carries it needs the same change."
        let nameLike = name.wholeMatch(of: #/[A-Za-z][A-Za-z0-9_.\-]{0,39}/#) != nil
        let sameButCase = known.first { $0.lowercased() == name.lowercased() }
        let near = nameLike && name.count >= 4
            ? known.filter { editDistance($0, name) <= 2 }.min { editDistance($0, name) < editDistance($1, name) } : nil
        if let right = sameButCase ?? near {
            issue.field = right.prefix(1).lowercased() + right.dropFirst()
            issue.message = "\(name) is not an element of the exchange format: it is written \(right)"
                + (sameButCase != nil ? " (element names are case-sensitive)" : "") + ". Correct the name in the export (in its "
                + "settings, or ask its vendor) and send the file again" + once
        } else {
            issue.message = "\(nameLike ? name : "This element") is not an element of the exchange format. Remove it from the export (in "
                + "its settings, or ask its vendor) and send the file again" + once
        }
        return issue
    }

    /// The number of single-character insertions, deletions and substitutions between two names.
    private static func editDistance(_ a: String, _ b: String) -> Int {
        let (a, b) = (Array(a.lowercased()), Array(b.lowercased()))
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    /// The issue for libxml2 schema-validity error `code` with message `raw`, in a file of `type`.
    static func issue(code: Int, raw: String, line: Int, path: String?, type: ExchangeType?, guide: FieldGuide) -> ValidationIssue {
        let studentDataFields = guide.studentDataFields
        let formatHints = guide.formatHints
        let (element, text) = split(raw)
        let field = element.map(lowerCamel)
        let hideValue = field.map(studentDataFields.contains) ?? false
        let name = element ?? "The element"
        let value = hideValue ? nil : quoted(after: "value '", in: text) ?? quoted(after: "", in: text)
        let shown = value.map { " '\($0)'" } ?? ""

        if text.contains("Element content is not allowed, because the type definition is simple") {
            return ValidationIssue(
                code: .unexpectedElement,
                message: "\(name) holds another element where only a value is allowed: write a < inside a value as &lt;, and close "
                    + "\(name) before the next element starts.",
                line: line, path: path, field: field)
        }
        // Attributes: exchange files carry none.
        if text.hasPrefix(", attribute '"), let attribute = quoted(after: ", attribute '", in: text) {
            return ValidationIssue(
                code: .schemaError,
                message: "\(name) has an attribute \(attribute)=\"…\"; exchange files carry no attributes. Remove it and send the file again.",
                line: line, path: path, field: field)
        }
        // An empty element fails its type, pattern or codes as an empty string would: said as empty.
        let empty = switch code {
        case 1824, 1825: quoted(after: "", in: text) == ""
        case 1839, 1840: quoted(after: "value '", in: text) == ""
        default: false
        }
        switch code {
        case _ where empty, 1831:  // an empty value; minLength
            let required = type.flatMap { type in field.map { guide.requiredFields[type]?.contains($0) ?? false } } ?? false
            return ValidationIssue(
                code: .constraintError,
                message: required ? "\(name) is empty; it is required: give it a value."
                    : "\(name) is empty; give it a value, or leave the element out (it is optional).",
                line: line, path: path, field: field)
        case 1824, 1825:  // cvc-datatype-valid
            let typeName = text.components(separatedBy: "atomic type '").last?.components(separatedBy: "'").first
            let raw = quoted(after: "", in: text) ?? ""
            var what = "not \(describe(type: typeName))."
            if ["xs:date", "Date"].contains(typeName ?? ""), raw.wholeMatch(of: #/[0-9]{4}-[0-9]{2}-[0-9]{2}/#) != nil {
                what = "not a day of the calendar; check the month and day."
            } else if typeName == "SchoolYear" {
                what += " Write a school year as the year it ends: 2026 for 2025-26."
            }
            return ValidationIssue(
                code: .typeError, message: "\(name) value\(hideValue ? "" : quotedValue(text)) is \(what)", line: line, path: path, field: field)
        case 1839:  // pattern
            let pattern = quoted(after: "pattern '", in: text) ?? ""
            return ValidationIssue(
                code: .constraintError,
                message: PatternMessage.text(
                    field: name, shownValue: shown, pattern: pattern, hint: field.flatMap { formatHints[$0] },
                    value: quoted(after: "value '", in: text)),
                line: line, path: path, field: field)
        case 1840:  // enumeration
            let set = text.components(separatedBy: "set {").last?.components(separatedBy: "}").first ?? ""
            let allowed = set.replacingOccurrences(of: "'", with: "")
            return ValidationIssue(
                code: .constraintError, message: "\(name) value\(shown) is not one of the allowed codes: \(allowed).",
                line: line, path: path, field: field)
        case 1830, 1832:  // length, maxLength
            let limit = quoted(after: "maximum length of '", in: text) ?? quoted(after: "length of '", in: text) ?? "?"
            return ValidationIssue(
                code: .constraintError, message: "\(name) is longer than the \(limit) characters allowed.",
                line: line, path: path, field: field)
        case 1833:  // minInclusive
            let limit = text.components(separatedBy: "('").last?.components(separatedBy: "'").first ?? "?"
            return ValidationIssue(
                code: .constraintError, message: "\(name) value\(shown) is below the minimum of \(limit).",
                line: line, path: path, field: field)
        case 1834:  // maxInclusive
            let limit = text.components(separatedBy: "('").last?.components(separatedBy: "'").first ?? "?"
            return ValidationIssue(
                code: .constraintError, message: "\(name) value\(shown) is above the maximum of \(limit).",
                line: line, path: path, field: field)
        case 1826...1838:
            return ValidationIssue(
                code: .constraintError, message: "\(name): \(text)", line: line, path: path, field: field)
        case 1843:  // cvc-complex-type.2.3: text inside an element that holds only elements
            return ValidationIssue(
                code: .unexpectedElement,
                message: "\(name) holds text where only elements are allowed; remove the stray text.",
                line: line, path: path, field: element.map(lowerCamel))
        case 1871 where unknownElement(code: code, raw: raw, guide: guide) != nil:  // an element the format does not have
            return unknownElementIssue(name: element ?? "", known: guide.elementNames, line: line, path: path)
        case 1871:  // element content
            // In the header, or in a record (or, for a missing child, the header or record itself).
            let inHeader = path.map { $0.range(of: #"/Header(\[[0-9]+\])?(/|$)"#, options: .regularExpression) != nil } ?? false
            return elementContentIssue(
                text: text, element: element, line: line, path: path,
                order: inHeader ? FieldGuide.headerFields : type.flatMap { guide.fieldOrder[$0] } ?? [],
                required: inHeader ? FieldGuide.requiredHeaderFields : type.flatMap { guide.requiredFields[$0] } ?? [])
        case 1877 where text.contains("Duplicate key-sequence"):  // identity constraint
            return ValidationIssue(
                code: .uniqueError,
                message: duplicateRecordId,
                line: line, path: path.map { $0 + "/RecordId" }, field: "recordId")
        default:
            return ValidationIssue(
                code: .schemaError, message: "\(name): \(text)", line: line, path: path, field: field)
        }
    }

    /// - Parameters:
    ///   - order: The record fields of the file's type, in order.
    ///   - required: Those required.
    private static func elementContentIssue(
        text: String, element: String?, line: Int, path: String?, order: [String], required: Set<String>
    ) -> ValidationIssue {
        let expected = text.components(separatedBy: "Expected is").last.map { tail in
            tail.replacingOccurrences(of: "one of", with: "").replacingOccurrences(of: "(", with: "").replacingOccurrences(of: ")", with: "")
                .replacingOccurrences(of: ".", with: "").trimmingCharacters(in: .whitespaces)
        }
        let expectedNames = (expected ?? "").components(separatedBy: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        // libxml2 lists the elements allowed next: optional ones, then the next required one.
        let nextRequired = expectedNames.last { required.contains(lowerCamel($0)) }
        let name = element ?? "element"
        if text.hasPrefix("Missing child element") {
            let missing = nextRequired ?? expectedNames.last ?? "?"
            return ValidationIssue(
                code: .missingElement,
                message: "\(missing) is missing from \(name); it is required.",
                line: line, path: path.map { $0 + "/" + missing }, field: lowerCamel(missing))
        }
        // An element that comes later in the record than the required one expected: that one is missing.
        if text.hasPrefix("This element is not expected"), let missing = nextRequired,
            let missingAt = order.firstIndex(of: lowerCamel(missing)), let foundAt = order.firstIndex(of: lowerCamel(name)), missingAt < foundAt
        {
            let parent = path.map { String($0[..<($0.lastIndex(of: "/") ?? $0.endIndex)]) }
            return ValidationIssue(
                code: .missingElement,
                message: "\(missing) is missing here; it is required, before \(name). Elements come in the order the specification "
                    + "lists; if \(missing) is further down, move it up.",
                line: line, path: parent.map { $0 + "/" + missing }, field: lowerCamel(missing))
        }
        if text.hasPrefix("This element is not expected") {
            let hint = expected.map { " Expected here: \($0)." } ?? " No more elements are allowed here."
            return ValidationIssue(
                code: .unexpectedElement,
                message: "\(name) is not allowed here (unknown, misspelled, repeated or out of order).\(hint)",
                line: line, path: path, field: lowerCamel(name))
        }
        if text.hasPrefix("Character content other than whitespace") {
            return ValidationIssue(
                code: .unexpectedElement, message: "\(name) holds text where only elements are allowed.",
                line: line, path: path)
        }
        return ValidationIssue(code: .schemaError, message: "\(name): \(text)", line: line, path: path)
    }

    private static func describe(type: String?) -> String {
        switch type ?? "" {
        case "xs:date", "Date": "a valid date written YYYY-MM-DD"
        case "xs:dateTime", "DateTime": "a valid date and time written YYYY-MM-DDTHH:MM:SS (optionally with Z or ±HH:MM)"
        case "xs:time", "Time": "a valid time written HH:MM:SS"
        case "xs:boolean", "Boolean": "true or false"
        case "xs:integer", "SchoolYear", "Count", "Minutes", "LineNumber": "a whole number"
        case "xs:decimal", "Credits", "NumericGrade", "DayFraction": "a number"
        default: "a valid value"
        }
    }

    private static func quotedValue(_ text: String) -> String {
        quoted(after: "", in: text).map { " '\($0)'" } ?? ""
    }

    /// The text between the first `'` after `marker` and the next `'`.
    private static func quoted(after marker: String, in text: String) -> String? {
        let start: String.Index
        if marker.isEmpty {
            guard let quote = text.firstIndex(of: "'") else { return nil }
            start = text.index(after: quote)
        } else {
            guard let range = text.range(of: marker) else { return nil }
            start = range.upperBound
        }
        guard let end = text[start...].firstIndex(of: "'") else { return nil }
        return String(text[start..<end])
    }
}

extension String {
    func dropPrefix(_ prefix: String) -> String {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self
    }
}
