/// Reads the configuration files a support person edits: `ktsx.conf` (settings) and
/// `participants.csv`. Strict: an unknown key, a repeated key or a bad value is an error naming the file,
/// the line and what is expected; every problem is reported, not only the first.
public enum ConfigurationParser {
    /// The time zones Kentucky schools use.
    public static let kentuckyTimeZones: Set<String> = [
        "America/New_York", "America/Chicago", "America/Kentucky/Louisville", "America/Kentucky/Monticello",
        "America/Louisville",
    ]

    /// The header of `participants.csv`.
    public static let participantColumns = ["orgId", "name", "classification", "timeZone", "outputFormat", "doneMarker"]

    private static let settingKeys = [
        "drop_root", "state_dir", "quiet_period", "poll_interval", "max_file_size", "retention_days",
    ]

    /// Parses `ktsx.conf`: `key = value` lines, `#` comments, blank lines.
    /// - Parameters:
    ///   - text: The file's text.
    ///   - file: Its name, for messages.
    ///   - resolvePath: Turns a configured path (possibly relative to the configuration directory) into
    ///     the path to use.
    /// - Throws: `ConfigurationErrors` listing every problem.
    public static func settings(
        from text: String, file: String = "ktsx.conf", resolvePath: (String) -> String = { $0 }
    ) throws(ConfigurationErrors) -> ServiceSettings {
        var errors: [ConfigurationError] = []
        var values: [String: (value: String, line: Int)] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = index + 1
            let content = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let trimmed = content.trimmingWhitespace()
            if trimmed.isEmpty { continue }
            guard let equals = trimmed.firstIndex(of: "=") else {
                errors.append(ConfigurationError(file: file, line: line, reason: "expected 'key = value', found '\(trimmed)'"))
                continue
            }
            let key = trimmed[..<equals].trimmingWhitespace()
            let value = trimmed[trimmed.index(after: equals)...].trimmingWhitespace()
            guard settingKeys.contains(key) else {
                errors.append(
                    ConfigurationError(
                        file: file, line: line,
                        reason: "unknown setting '\(key)'; the settings are \(settingKeys.joined(separator: ", "))"))
                continue
            }
            if let earlier = values[key] {
                errors.append(
                    ConfigurationError(file: file, line: line, reason: "'\(key)' is set again (first on line \(earlier.line))"))
                continue
            }
            values[key] = (value, line)
        }
        func required(_ key: String) -> String? {
            guard let entry = values[key], !entry.value.isEmpty else {
                errors.append(ConfigurationError(file: file, line: values[key]?.line, reason: "'\(key)' is required"))
                return nil
            }
            return resolvePath(entry.value)
        }
        func parsed<T>(_ key: String, _ parse: (String) -> T?, expected: String) -> T? {
            guard let entry = values[key] else { return nil }
            guard let value = parse(entry.value) else {
                errors.append(
                    ConfigurationError(file: file, line: entry.line, reason: "'\(key)' is '\(entry.value)'; expected \(expected)"))
                return nil
            }
            return value
        }
        let dropRoot = required("drop_root")
        let stateDirectory = required("state_dir")
        let quiet = parsed("quiet_period", duration, expected: "a duration such as 5s, 500ms or 1m")
        let poll = parsed("poll_interval", duration, expected: "a duration such as 2s or 500ms")
        let maxSize = parsed("max_file_size", byteSize, expected: "a size such as 512MB, 2GB or 100000 (bytes)")
        let retention = parsed("retention_days", { Int($0).flatMap { $0 > 0 ? $0 : nil } }, expected: "a whole number of days above 0")
        guard errors.isEmpty, let dropRoot, let stateDirectory else { throw ConfigurationErrors(errors) }
        var settings = ServiceSettings(dropRoot: dropRoot, stateDirectory: stateDirectory)
        if let quiet { settings.quietPeriod = quiet }
        if let poll { settings.pollInterval = poll }
        if let maxSize { settings.maxFileBytes = maxSize }
        if let retention { settings.retentionDays = retention }
        return settings
    }

    /// Parses `participants.csv` (header `orgId,name,classification,timeZone,outputFormat,doneMarker`).
    /// - Throws: `ConfigurationErrors` listing every problem.
    public static func participants(from bytes: [UInt8], file: String = "participants.csv") throws(ConfigurationErrors)
        -> [Participant]
    {
        var errors: [ConfigurationError] = []
        var rows: [(line: Int, cells: [String])] = []
        var reader = CSVRecordReader()
        let collect: (CSVRecord) -> Void = { record in
            if !record.isEmptyLine { rows.append((record.line, (0..<record.count).map { record.string($0) })) }
        }
        let problem: (CSVSyntaxProblem) -> Void = { problem in
            errors.append(ConfigurationError(file: file, line: problem.line, reason: "broken CSV quoting in value \(problem.field)"))
        }
        bytes.withUnsafeBytes { reader.consume($0, onRecord: collect, onProblem: problem) }
        reader.finish(onRecord: collect, onProblem: problem)
        guard let header = rows.first else {
            throw ConfigurationErrors([ConfigurationError(file: file, line: 1, reason: "the file is empty; expected the header \(participantColumns.joined(separator: ","))")])
        }
        guard header.cells == participantColumns else {
            throw ConfigurationErrors(
                errors + [ConfigurationError(
                    file: file, line: header.line,
                    reason: "the header is '\(header.cells.joined(separator: ","))'; expected '\(participantColumns.joined(separator: ","))'")])
        }
        var participants: [Participant] = []
        var seen: [String: Int] = [:]
        for (line, cells) in rows.dropFirst() {
            guard cells.count == participantColumns.count else {
                errors.append(
                    ConfigurationError(
                        file: file, line: line, reason: "expected \(participantColumns.count) values, found \(cells.count)"))
                continue
            }
            var rowErrors: [String] = []
            let orgId = cells[0]
            if orgId.utf8.count != 6 || !orgId.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
                rowErrors.append("orgId '\(orgId)' must be six digits (district + school number)")
            } else if let first = seen[orgId] {
                rowErrors.append("orgId \(orgId) is listed twice (first on line \(first))")
            }
            if cells[1].isEmpty { rowErrors.append("name is empty") }
            let classification = Classification(rawValue: cells[2])
            if classification == nil {
                rowErrors.append("classification '\(cells[2])' is not a KDE classification (A1, A2, C2, ...)")
            }
            if !kentuckyTimeZones.contains(cells[3]) {
                rowErrors.append("timeZone '\(cells[3])' is not one of \(kentuckyTimeZones.sorted().joined(separator: ", "))")
            }
            let format = OutputFormat(rawValue: cells[4])
            if format == nil { rowErrors.append("outputFormat '\(cells[4])' must be same, xml or csv") }
            let doneMarker = ["true": true, "false": false][cells[5]]
            if doneMarker == nil { rowErrors.append("doneMarker '\(cells[5])' must be true or false") }
            if rowErrors.isEmpty, let classification, let format, let doneMarker {
                seen[orgId] = line
                participants.append(
                    Participant(
                        orgId: orgId, name: cells[1], classification: classification, timeZone: cells[3],
                        outputFormat: format, usesDoneMarker: doneMarker))
            } else {
                errors += rowErrors.map { ConfigurationError(file: file, line: line, reason: $0) }
            }
        }
        guard errors.isEmpty else { throw ConfigurationErrors(errors) }
        return participants
    }

    /// `500ms`, `5s`, `2m`, `1h`, or a number of seconds.
    static func duration(_ text: String) -> Duration? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        for (suffix, milliseconds) in units where text.hasSuffix(suffix) {
            guard let value = Int64(text.dropLast(suffix.count).trimmingWhitespace()), value >= 0 else { return nil }
            return .milliseconds(value * milliseconds)
        }
        return Int64(text).flatMap { $0 >= 0 ? .seconds($0) : nil }
    }

    /// `512MB`, `2GB`, `100KB`, or a number of bytes.
    static func byteSize(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [("KB", 1024), ("MB", 1024 * 1024), ("GB", 1024 * 1024 * 1024), ("B", 1)]
        for (suffix, factor) in units where text.uppercased().hasSuffix(suffix) {
            guard let value = Int64(text.dropLast(suffix.count).trimmingWhitespace()), value > 0 else { return nil }
            return value * factor
        }
        return Int64(text).flatMap { $0 > 0 ? $0 : nil }
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs (and a carriage return).
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" || first == "\r" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" || last == "\r" { slice = slice.dropLast() }
        return String(slice)
    }
}
