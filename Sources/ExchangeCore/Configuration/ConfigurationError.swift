/// A problem in a configuration file, with the file, the line and the reason, so that a support person
/// can fix it without reading code.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file, as named in the configuration directory.
    public var file: String
    /// The line, 1-based, when the problem has one.
    public var line: Int?
    /// What is wrong and what is expected.
    public var reason: String

    /// Creates an error.
    public init(file: String, line: Int?, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    /// `file:line: reason`.
    public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(reason)" }
}

/// Every problem found in a configuration (all are reported at once, not just the first).
public struct ConfigurationErrors: Error, Sendable, CustomStringConvertible {
    /// The problems.
    public var errors: [ConfigurationError]
    /// Wraps problems.
    public init(_ errors: [ConfigurationError]) { self.errors = errors }
    /// One problem per line.
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
