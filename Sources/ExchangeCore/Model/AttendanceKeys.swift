/// Attendance keys as ledgers held them before the date came first.
public enum AttendanceKeys {
    /// `key` written `ssid|center|date|...` with its date moved first (`date|ssid|center|...`); a key that
    /// already starts with its date is returned as it is.
    public static func dayFirst(_ key: String) -> String {
        let parts = key.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count >= 3, !parts[0].contains("-"), parts[2].contains("-") else { return key }
        return ([parts[2], parts[0], parts[1]] + parts.dropFirst(3)).joined(separator: "|")
    }
}
