import ExchangeCore
import Foundation

/// The configuration directory: `ktsx.conf` (settings) and `participants.csv`.
public struct ExchangeConfiguration: Sendable {
    /// The settings file's name.
    public static let settingsFile = "ktsx.conf"
    /// The participants file's name.
    public static let participantsFile = "participants.csv"

    /// How the service runs.
    public var settings: ServiceSettings
    /// Who exchanges files.
    public var participants: [Participant]

    /// Reads and checks the configuration in `directory`; relative paths in `ktsx.conf` are relative to it.
    /// - Throws: `ConfigurationErrors` naming every problem with its file and line.
    public static func load(directory: String) throws(ConfigurationErrors) -> ExchangeConfiguration {
        let base = URL(fileURLWithPath: directory).standardizedFileURL
        func contents(_ name: String) throws(ConfigurationErrors) -> Data {
            do {
                return try Data(contentsOf: base.appendingPathComponent(name))
            } catch {
                throw ConfigurationErrors([
                    ConfigurationError(file: name, line: nil, reason: "cannot read \(base.appendingPathComponent(name).path): \(error.localizedDescription)")
                ])
            }
        }
        let settingsText = String(decoding: try contents(settingsFile), as: UTF8.self)
        let participantBytes = Array(try contents(participantsFile))
        var errors: [ConfigurationError] = []
        var settings: ServiceSettings?
        var participants: [Participant] = []
        do {
            settings = try ConfigurationParser.settings(from: settingsText, file: settingsFile) { path in
                path.hasPrefix("/") ? path : base.appendingPathComponent(path).standardizedFileURL.path
            }
        } catch {
            errors += error.errors
        }
        do {
            participants = try ConfigurationParser.participants(from: participantBytes, file: participantsFile)
        } catch {
            errors += error.errors
        }
        guard errors.isEmpty, let settings else { throw ConfigurationErrors(errors) }
        return ExchangeConfiguration(settings: settings, participants: participants)
    }

    /// The drop tree the settings describe.
    public var tree: DropTree { DropTree(dropRoot: settings.dropRoot, stateDirectory: settings.stateDirectory) }
}
