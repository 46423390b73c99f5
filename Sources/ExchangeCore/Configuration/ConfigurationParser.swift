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
    public static let participantColumns = [
        "orgId", "name", "classification", "timeZone", "outputFormat", "doneMarker", "unknownSync",
    ]

    private static let settingKeys = [
        "drop_root", "state_dir", "quiet_period", "poll_interval", "max_file_size", "large_file_size", "max_records", "retention_days", "keep_school_years",
        "review_address",
        "ledger", "instance_name", "lease_seconds", "log_format", "sendmail", "notify_from", "site_url",
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
        func requiredPath(_ key: String) -> String? {
            guard let entry = values[key], !entry.value.isEmpty else {
                errors.append(ConfigurationError(file: file, line: values[key]?.line, reason: "'\(key)' is required"))
                return nil
            }
            // An explanation pasted beside the value (without its '#') would otherwise become part of the path.
            guard !entry.value.contains(where: \.isWhitespace) else {
                errors.append(
                    ConfigurationError(
                        file: file, line: entry.line,
                        reason: "'\(key)' is '\(entry.value)'; expected a path without spaces (a comment starts with '#')"))
                return nil
            }
            return resolvePath(entry.value)
        }
        func parsed<T>(_ key: String, _ parse: (String) -> T?, expected: String) -> T? {
            guard let entry = values[key] else { return nil }
            guard let value = parse(entry.value) else {
                errors.append(
                    ConfigurationError(
                        file: file, line: entry.line,
                        reason: "'\(key)' is '\(ConfigurationParser.withoutPassword(entry.value))'; expected \(expected)"))
                return nil
            }
            return value
        }
        let dropRoot = requiredPath("drop_root")
        let stateDirectory = requiredPath("state_dir")
        let quiet = parsed("quiet_period", duration, expected: "a duration such as 5s, 500ms or 1m")
        let poll = parsed("poll_interval", duration, expected: "a duration such as 2s or 500ms")
        let maxSize = parsed("max_file_size", byteSize, expected: "a size such as 512MB, 2GB or 100000 (bytes)")
        let largeSize = parsed("large_file_size", byteSize, expected: "a size such as 8MB or 100000 (bytes)")
        let maxRecords = parsed("max_records", { Int($0).flatMap { $0 > 0 ? $0 : nil } }, expected: "a whole number of records above 0")
        let retention = parsed("retention_days", { Int($0).flatMap { $0 > 0 ? $0 : nil } }, expected: "a whole number of days above 0")
        let keepYears = parsed(
            "keep_school_years", { Int($0).flatMap { (1...50).contains($0) ? $0 : nil } },
            expected: "a whole number of school years from 1 to 50 (the current one counts)")
        let instance = parsed(
            "instance_name", { (text: String) -> String? in
                text.count <= 64 && !text.isEmpty && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
                    ? text : nil
            }, expected: "a name of letters, digits, '.', '_' and '-' (at most 64)")
        let lease = parsed(
            "lease_seconds", { Int64($0).flatMap { (10...86_400).contains($0) ? $0 : nil } }, expected: "a whole number of seconds from 10 to 86400")
        // `.some(nil)` is SQLite.
        let ledger = parsed(
            "ledger", { text -> String?? in
                if text == "sqlite" { return .some(nil) }
                return text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") ? .some(text) : nil
            }, expected: "sqlite, or a URL such as postgres://ktsx@db.example.org/ktsx?sslmode=verify-full")
        // `.some(nil)` is "off".
        let review = parsed("review_address", reviewAddress, expected: "host:port such as 127.0.0.1:8480, or off")
        let logFormat = parsed("log_format", ServiceSettings.LogFormat.init(rawValue:), expected: "text or json")
        let sendmail = parsed("sendmail", { $0.hasPrefix("/") && !$0.contains(where: \.isWhitespace) ? $0 : nil }, expected: "the absolute path of the sendmail program")
        let notifyFrom = parsed(
            "notify_from", { text in text.contains("@") && !text.contains(where: { $0.isNewline || $0 == "," }) ? text : nil },
            expected: "an address such as KTS Exchange <ktsx@example.org>")
        let siteURL = parsed(
            "site_url", { text in (text.hasPrefix("https://") || text.hasPrefix("http://")) && !text.contains(where: \.isWhitespace) ? text : nil },
            expected: "the review site's address as partners reach it, such as https://ktsx.example.org")
        guard errors.isEmpty, let dropRoot, let stateDirectory else { throw ConfigurationErrors(errors) }
        var settings = ServiceSettings(dropRoot: dropRoot, stateDirectory: stateDirectory)
        if let quiet { settings.quietPeriod = quiet }
        if let poll { settings.pollInterval = poll }
        if let maxSize { settings.maxFileBytes = maxSize }
        if let maxRecords { settings.maxRecords = maxRecords }
        if let largeSize { settings.largeFileBytes = largeSize }
        if let retention { settings.retentionDays = retention }
        if let keepYears { settings.keepSchoolYears = keepYears }
        if let review { settings.reviewAddress = review }
        if let ledger { settings.ledgerURL = ledger }
        if let instance { settings.instanceName = instance }
        if let lease { settings.leaseSeconds = lease }
        if let logFormat { settings.logFormat = logFormat }
        if let sendmail { settings.sendmailCommand = sendmail }
        if let notifyFrom { settings.notifyFrom = notifyFrom }
        if let siteURL { settings.siteURL = siteURL.hasSuffix("/") ? String(siteURL.dropLast()) : siteURL }
        return settings
    }

    /// A URL-like text with its password hidden, however malformed: whatever follows the first colon
    /// between `//` and the next `@` becomes `***`.
    public static func withoutPassword(_ text: String) -> String {
        guard let slashes = text.indices.first(where: { text[$0...].hasPrefix("//") }) else { return text }
        let start = text.index(slashes, offsetBy: 2)
        guard let at = text[start...].firstIndex(of: "@"), let colon = text[start..<at].firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }

    /// `host:port` (an IPv6 host in brackets), or `off` (`.some(nil)`); nil when not understood.
    static func reviewAddress(_ text: String) -> ReviewAddress?? {
        if text == "off" { return .some(nil) }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains(where: \.isWhitespace) else { return nil }
        return .some(ReviewAddress(host: host, port: port))
    }

    /// Parses `participants.csv` (header `orgId,name,classification,timeZone,outputFormat,doneMarker` and,
    /// optionally, `unknownSync`).
    /// - Throws: `ConfigurationErrors` listing every problem.
    public static func participants(from bytes: [UInt8], file: String = "participants.csv") throws(ConfigurationErrors)
        -> [Participant]
    {
        var errors: [ConfigurationError] = []
        let table = ConfigurationTable(bytes: bytes, file: file, columns: participantColumns, optionalTrailing: 1, errors: &errors)
        var participants: [Participant] = []
        var seen: [String: Int] = [:]
        let booleans = ["true": true, "false": false, "": false]
        for row in table.rows {
            var rowErrors: [String] = []
            let orgId = row["orgId"]
            if !isOrgId(orgId) {
                rowErrors.append("orgId '\(orgId)' must be six digits (district + school number)")
            } else if let first = seen[orgId] {
                rowErrors.append("orgId \(orgId) is listed twice (first on line \(first))")
            }
            if row["name"].isEmpty { rowErrors.append("name is empty") }
            let classification = Classification(rawValue: row["classification"])
            if classification == nil {
                rowErrors.append("classification '\(row["classification"])' is not a KDE classification (A1, A2, C2, ...)")
            }
            if !kentuckyTimeZones.contains(row["timeZone"]) {
                rowErrors.append("timeZone '\(row["timeZone"])' is not one of \(kentuckyTimeZones.sorted().joined(separator: ", "))")
            }
            let format = OutputFormat(rawValue: row["outputFormat"])
            if format == nil { rowErrors.append("outputFormat '\(row["outputFormat"])' must be same, xml or csv") }
            let doneMarker = booleans[row["doneMarker"]]
            if doneMarker == nil || row["doneMarker"].isEmpty { rowErrors.append("doneMarker '\(row["doneMarker"])' must be true or false") }
            let unknownSync = booleans[row["unknownSync"]]
            if unknownSync == nil { rowErrors.append("unknownSync '\(row["unknownSync"])' must be true, false or empty") }
            if unknownSync == true, let classification, classification.isTechnicalCenter {
                rowErrors.append("unknownSync is for high schools; \(orgId) is a technical center (\(classification.rawValue))")
            }
            if rowErrors.isEmpty, let classification, let format, let doneMarker, let unknownSync {
                seen[orgId] = row.line
                participants.append(
                    Participant(
                        orgId: orgId, name: row["name"], classification: classification, timeZone: row["timeZone"],
                        outputFormat: format, usesDoneMarker: doneMarker, unknownSync: unknownSync))
            } else {
                errors += rowErrors.map { ConfigurationError(file: file, line: row.line, reason: $0) }
            }
        }
        guard errors.isEmpty else { throw ConfigurationErrors(errors) }
        return participants
    }

    /// Six ASCII digits: a DDDSSS organisation number.
    public static func isOrgId(_ text: String) -> Bool {
        text.utf8.count == 6 && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// `500ms`, `5s`, `2m`, `1h`, or a number of seconds.
    public static func duration(_ text: String) -> Duration? {
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
    public func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" || first == "\r" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" || last == "\r" { slice = slice.dropLast() }
        return String(slice)
    }
}
