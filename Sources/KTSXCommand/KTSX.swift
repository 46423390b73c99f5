import ArgumentParser

/// `ktsx`: the KTS Exchange command.
@main
struct KTSX: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ktsx",
        abstract: "KTS Exchange: the KSIS–KTS data exchange between technical centers and high schools.",
        subcommands: [Validate.self]
    )

    /// Runs the command; usage errors exit with 2 (not ArgumentParser's 64), as the exit-code contract says.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                var standardError = StandardError()
                print(fullMessage(for: error), to: &standardError)
                exit(withError: ExitCode(2))
            }
            exit(withError: error)
        }
    }
}
