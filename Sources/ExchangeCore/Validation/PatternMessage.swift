/// The message for a value that does not match its field's pattern, shared by both bindings: the expected
/// form in words when the schema gives it, with the pattern itself for whoever fixes the export.
public enum PatternMessage {
    /// - Parameters:
    ///   - field: The field as the binding names it.
    ///   - shownValue: `" 'value'"`, or empty for student data.
    ///   - pattern: The pattern.
    ///   - hint: The expected form in words, if known.
    public static func text(field: String, shownValue: String, pattern: String, hint: String?) -> String {
        let expected = hint.map { " Expected: \($0.hasSuffix(".") ? String($0.dropLast()) : $0) (pattern \(pattern))." }
            ?? " It must match the pattern \(pattern)."
        return "\(field) value\(shownValue) is not in the required form.\(expected)"
    }
}
