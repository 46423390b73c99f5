/// Renders validation reports for people (text) and scripts (JSON).
public enum ReportRenderer {
    /// The JSON array `ktsx validate --format json` prints: one object per file with members `file`,
    /// `type`, `binding`, `valid`, `errorCount`, `truncated` and `errors` (each error: `line`, `column`,
    /// `path`, `field`, `code`, `message`; null where a member does not apply).
    public static func json(_ reports: [ValidationReport]) -> String {
        json(reports.map { ($0, "") })
    }

    /// The JSON array `ktsx validate --config` prints: as `json(_:)`, each object with `sender`,
    /// `rulesChecked`, `outcome` (ACCEPTED, ACCEPTED_WITH_ERRORS or REJECTED, as if sent now) and
    /// `recordsApplied` besides, and the errors the rules found when they ran; `valid` is true when every
    /// record would be applied.
    public static func json(_ checked: [PreCheckedFile]) -> String {
        json(
            checked.map { file in
                // Every outcome but ACCEPTED comes with errors, so `valid` is "every record would be applied".
                let report = file.judgedReport
                let applied = file.verdict.applies ? file.verdict.recordsReceived - file.verdict.recordsRejected : 0
                return (
                    report,
                    "\"sender\": \(jsonString(file.senderOrgId)), \"rulesChecked\": \(file.verdict.rulesChecked), "
                        + "\"outcome\": \(jsonString(file.verdict.outcome.rawValue)), \"recordsApplied\": \(applied), "
                )
            })
    }

    private static func json(_ reports: [(report: ValidationReport, extra: String)]) -> String {
        var out = "[\n"
        for (index, (report, extra)) in reports.enumerated() {
            out += "  {\"file\": \(jsonString(report.file)), \"type\": \(optional(report.type?.code)), "
            out += "\"binding\": \(optional(report.binding?.rawValue)), \"valid\": \(report.isValid), \(extra)"
            out += "\"records\": \(report.recordCount), "
            out += "\"errorCount\": \(report.errorCount), \"truncated\": \(report.truncated), \"errors\": ["
            for (position, issue) in report.issues.enumerated() {
                out += position == 0 ? "\n" : ",\n"
                out += "    {\"line\": \(optional(issue.line)), \"column\": \(optional(issue.column)), "
                out += "\"path\": \(optional(issue.path)), \"field\": \(optional(issue.field)), "
                out += "\"code\": \(jsonString(issue.code.rawValue)), \"message\": \(jsonString(issue.message))}"
            }
            out += report.issues.isEmpty ? "]}" : "\n  ]}"
            out += index == reports.count - 1 ? "\n" : ",\n"
        }
        return out + "]\n"
    }

    /// The text a clerk reads: one verdict line per file, then one line per error.
    public static func text(_ reports: [ValidationReport]) -> String {
        var out = ""
        for report in reports {
            if report.isValid {
                out += "\(report.file): VALID — \(described(report))\n"
                continue
            }
            let count = "\(report.errorCount) error\(report.errorCount == 1 ? "" : "s")"
            out += "\(report.file): INVALID — \(described(report)), \(count)\n"
            out += issueLines(report)
        }
        return out
    }

    /// The text `ktsx validate --config` prints: for a file that passes the gate, what the exchange would
    /// do with its records if its sender sent it now, and the rules' errors; for one that does not, the
    /// gate's errors, as `text(_:)`, and that its records were not judged.
    public static func text(_ checked: [PreCheckedFile]) -> String {
        var out = ""
        for file in checked {
            let report = file.judgedReport
            guard file.verdict.rulesChecked else {
                out += text([report])
                out += "  Its records were not checked against the exchange's rules: the file is refused as a whole first.\n"
                continue
            }
            let verdict = switch file.verdict.outcome {
            case .accepted: "ACCEPTED"
            case .acceptedWithErrors: "PARTLY ACCEPTED"
            case .rejected, .duplicate: "REJECTED"
            }
            out += "\(report.file): \(verdict) if \(file.senderOrgId) sent it now — \(described(report)): \(file.summary)\n"
            out += issueLines(report)
        }
        return out
    }

    /// "Attendance file (ATT), csv, 27 records".
    private static func described(_ report: ValidationReport) -> String {
        let kind = report.type.map { "\($0.displayName) file (\($0.code))" } ?? "unrecognised file"
        let binding = report.binding.map { ", \($0.rawValue)" } ?? ""
        let records = report.type == nil ? "" : ", \(report.recordCount) record\(report.recordCount == 1 ? "" : "s")"
        return kind + binding + records
    }

    /// One line per listed error, and how many more there are.
    private static func issueLines(_ report: ValidationReport) -> String {
        var out = ""
        for issue in report.issues {
            var place: [String] = []
            if let line = issue.line {
                // A quoted value over several lines puts a spreadsheet's row number behind the file's line.
                let row = issue.row.flatMap { $0 != line ? " (spreadsheet row \($0))" : nil } ?? ""
                place.append("line \(line)\(row)" + (issue.column.map { ", column \($0)" } ?? ""))
            }
            if let field = issue.field { place.append("field \(field)") }
            let location = place.isEmpty ? "" : place.joined(separator: ", ") + ": "
            out += "  \(location)\(issue.message) [\(issue.code)]\n"
        }
        if report.truncated {
            out += "  … and \(report.errorCount - report.issues.count) more errors not listed.\n"
        }
        return out
    }

    private static func optional(_ value: Int?) -> String { value.map(String.init) ?? "null" }
    private static func optional(_ value: String?) -> String { value.map(jsonString) ?? "null" }

    /// A JSON string literal (quotes, backslashes and control characters escaped).
    public static func jsonString(_ value: String) -> String {
        // Most values need no escape: checked on the UTF-8 bytes (U+2028 and U+2029 start with 0xE2).
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 == 0xE2 }) {
            return "\"" + value + "\""
        }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
