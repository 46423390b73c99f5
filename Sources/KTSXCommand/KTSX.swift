import ArgumentParser

/// `ktsx`: the KTS Exchange command.
@main
struct KTSX: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ktsx",
        abstract: "KTS Exchange: the KSIS–KTS data exchange between technical centers and high schools.",
        subcommands: [
            Validate.self, Check.self, Init.self, Run.self, Backup.self, Restore.self, Retire.self, ParticipantCommand.self, Doctor.self, Demo.self, Status.self, Submissions.self, Show.self, Reprocess.self, Deliveries.self,
            Participants.self, Waivers.self, Waiver.self, PostGrades.self, SyncUnknownAttendance.self, Audit.self, HashPassword.self, AttendanceReportCommand.self,
        ]
    )

    /// Runs the command; usage and configuration errors exit with 2 (not ArgumentParser's 64).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure || error is ConfigurationFailure {
                var standardError = StandardError()
                print(fullMessage(for: error), to: &standardError)
                exit(withError: ExitCode(2))
            }
            exit(withError: error)
        }
    }
}
