import ExchangeCore
import Foundation

/// A system program run to its end (useradd, ssh-keygen, sshd -T, getent): what it printed and how it ended.
struct SystemCommand {
    /// Its exit status.
    var status: Int32
    /// What it wrote to standard output.
    var output: String
    /// What it wrote to standard error, trimmed.
    var errors: String

    /// Runs `command` (looked for in /usr/sbin, /usr/bin, /sbin, /bin) with `arguments`.
    static func run(_ command: String, _ arguments: [String]) throws -> SystemCommand {
        let process = Process()
        let path = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map { "\($0)/\(command)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        process.executableURL = URL(fileURLWithPath: path ?? command)
        process.arguments = arguments
        let (output, errors) = (Pipe(), Pipe())
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Standard output first: these programs say little on standard error (far less than a pipe holds).
        let text = output.fileHandleForReading.readDataToEndOfFile()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return SystemCommand(
            status: process.terminationStatus, output: String(decoding: text, as: UTF8.self),
            errors: String(decoding: message, as: UTF8.self).trimmingWhitespace())
    }
}
