import Foundation

/// One error as `frictionless validate --json` reports it.
public struct FrictionlessError: Hashable, Sendable, CustomStringConvertible {
    /// The error type (`type-error`, `blank-row`, ...).
    public var type: String
    /// The logical row (header = 1), or nil for label errors.
    public var rowNumber: Int?
    /// The field name, or nil.
    public var fieldName: String?
    /// The 1-based field position, or nil.
    public var fieldNumber: Int?
    /// A compact description.
    public var description: String { "\(rowNumber.map(String.init) ?? "-"):\(fieldName ?? "-")#\(fieldNumber.map(String.init) ?? "-"):\(type)" }
}

/// The independent validators the test suite compares verdicts with.
public enum Oracles {
    /// Runs `frictionless validate` on `file` with the Table Schema `schema`.
    /// - Returns: Whether it judged the file valid, and its errors.
    public static func frictionless(file: URL, schema: URL) throws -> (valid: Bool, errors: [FrictionlessError]) {
        let result = try runProcess(
            "frictionless",
            ["validate", "--trusted", "--json", "--limit-errors", "100000", "--encoding", "utf-8", "--format", "csv",
             // Pin the dialect: otherwise csv.Sniffer guesses the delimiter and skipInitialSpace.
             "--dialect",
             #"{"header": true, "csv": {"delimiter": ",", "quoteChar": "\"", "doubleQuote": true, "skipInitialSpace": false}}"#,
             "--schema", schema.path, file.path])
        guard let data = result.standardOutput.data(using: .utf8),
            let report = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let valid = report["valid"] as? Bool,
            let tasks = report["tasks"] as? [[String: Any]]
        else {
            throw OracleFailure(message: "frictionless gave no JSON report: \(result.standardError)")
        }
        var errors: [FrictionlessError] = []
        for task in tasks {
            for error in task["errors"] as? [[String: Any]] ?? [] {
                let name = error["fieldName"] as? String
                errors.append(
                    FrictionlessError(
                        type: error["type"] as? String ?? "?", rowNumber: error["rowNumber"] as? Int,
                        fieldName: name?.isEmpty == false ? name : nil, fieldNumber: error["fieldNumber"] as? Int))
            }
        }
        return (valid, errors)
    }

    /// Runs `xmllint --noout --nonet --schema` on `file`. Never call this on hostile files: xmllint
    /// expands entities when validating.
    /// - Returns: Whether it judged the file valid and the line of its first error.
    public static func xmllint(file: URL, schema: URL) throws -> (valid: Bool, firstErrorLine: Int?) {
        let result = try runProcess("xmllint", ["--noout", "--nonet", "--schema", schema.path, file.path])
        var firstLine: Int?
        for line in result.standardError.split(separator: "\n") where line.hasPrefix(file.path + ":") {
            let rest = line.dropFirst(file.path.count + 1)
            if let number = Int(rest.prefix(while: \.isNumber)) {
                firstLine = number
                break
            }
        }
        return (result.status == 0, firstLine)
    }
}

/// An oracle that did not answer as expected.
public struct OracleFailure: Error, CustomStringConvertible {
    /// What happened.
    public var message: String
    /// The message.
    public var description: String { message }
    /// Wraps a message.
    public init(message: String) { self.message = message }
}
