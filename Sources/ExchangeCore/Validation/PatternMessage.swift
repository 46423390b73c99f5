/// The message for a value that does not match its field's pattern, shared by both bindings: the expected
/// form in words (the pattern itself is for whoever fixes the export, in `Schemas/README.md`), and the
/// likely cause when a spreadsheet made it: a number that lost its leading zeros.
public enum PatternMessage {
    /// - Parameters:
    ///   - field: The field as the binding names it.
    ///   - shownValue: `" 'value'"`, or empty for student data.
    ///   - pattern: The pattern.
    ///   - hint: The expected form in words, if known.
    ///   - value: The value itself, looked at for lost leading zeros and never repeated.
    public static func text(field: String, shownValue: String, pattern: String, hint: String?, value: String? = nil) -> String {
        let expected = (hint ?? impliedForm[pattern]).map { " Expected: \($0.hasSuffix(".") ? String($0.dropLast()) : $0)." }
            ?? " It does not have the form the specification gives for \(field) (Schemas/README.md)."
        if let value, value.wholeMatch(of: #/[0-9](\.[0-9]+)?[eE]\+?[0-9]+/#) != nil {
            return "\(field) is written as a number in scientific form (like 2.1E+09): a spreadsheet turned it into a number and "
                + "lost digits. Copy the values again from your student system into a column formatted as Text; do not retype them."
        }
        if let value, let zeros = lostLeadingZeros(value, pattern: pattern) {
            let digits = value.utf8.count
            // Only likely: a digit other than a zero may have been lost, so the value is copied again, never guessed.
            return "\(field) has \(digits) digit\(digits == 1 ? "" : "s"), \(zeros) too few. If it began with 0, a spreadsheet dropped "
                + "the zero\(zeros == 1 ? "" : "s").\(expected) Format the column as Text and copy the values again from your student "
                + "system; do not type the missing digits in by guess."
        }
        // A recordId in another form is most likely another column's value (a name, a date, a state ID): never
        // repeated, and the export's column named as the cause.
        if field.lowercased() == "recordid" {
            return "\(field) is not in the required form.\(expected) It looks like another column's value: check which column the "
                + "export writes into \(field), and export the file again."
        }
        // A run of digits may be a student's state ID put in the wrong field: never repeated.
        let shown = value.map { $0.count >= 9 && $0.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } } == true ? "" : shownValue
        return "\(field) value\(shown) is not in the required form.\(expected)"
    }

    /// The forms of the XML schemas' date and time patterns (which the CSV schemas give as types).
    static let impliedForm = [
        "[0-9]{4}-[0-9]{2}-[0-9]{2}": "a date written YYYY-MM-DD, without a time or time zone",
        "[0-9]{2}:[0-9]{2}:[0-9]{2}": "a time written HH:MM:SS, without a time zone",
    ]

    /// How many leading zeros `value` lost, if it is all digits and matches `pattern` with one to three
    /// zeros put back; nil otherwise.
    public static func lostLeadingZeros(_ value: String, pattern: String) -> Int? {
        guard !value.isEmpty, value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let matcher = try? PatternMatcher(pattern)
        else { return nil }
        return (1...3).first { matcher.matches(String(repeating: "0", count: $0) + value) }
    }
}
