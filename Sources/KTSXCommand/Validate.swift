import ArgumentParser
import ExchangeCore
import ExchangeValidation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `ktsx validate`: checks files offline, as a partner would before sending them.
struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check exchange files' form, encoding and schema, as the exchange does first when they arrive.",
        discussion: """
            The type and binding are recognised from the content (the XML root element, or the CSV header row).
            The rule codes (ENR-, ATT-, GRD-, WVR-) are not checked: they need the exchange's roster and
            reference data, and are checked when the file arrives.
            Exit status: 0 when every file is valid, 1 when any file is invalid, 2 on a usage error or a file
            that cannot be read.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Option(help: "Output format: text for people, json for scripts.")
    var format: Format = .text

    @Option(help: "Most errors listed per file; the rest are counted.")
    var maxErrors: Int = IssueCollector.defaultLimit

    @Argument(help: "The files to check.")
    var files: [String]

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("Name at least one file to check.") }
        guard maxErrors >= 1 else { throw ValidationError("--max-errors must be at least 1.") }
    }

    func run() throws {
        let validator = try FileValidator(issueLimit: maxErrors)
        var reports: [ValidationReport] = []
        var unreadable = false
        var standardError = StandardError()
        for file in files {
            do {
                reports.append(try validator.validate(path: file))
            } catch {
                unreadable = true
                print("ktsx: \(error)", to: &standardError)
            }
        }
        let output = format == .json ? ReportRenderer.json(reports) : ReportRenderer.text(reports)
        print(output, terminator: "")
        if format == .text, reports.contains(where: { $0.isValid && $0.type.map(ExchangeType.partnerTypes.contains) == true }) {
            print("Rules not checked: they need the exchange's roster and reference data, and are checked when a file arrives.")
        }
        if unreadable { throw ExitCode(2) }
        if reports.contains(where: { !$0.isValid }) { throw ExitCode(1) }
    }
}

/// Standard error as a `TextOutputStream`.
struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var bytes = Array(string.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
