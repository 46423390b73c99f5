import ExchangeCore
import ExchangeRules
import Foundation
import Synchronization

/// The configuration directory: `ktsx.conf` (settings), `participants.csv`, and the reference files the
/// rules use (`ReferenceDataParser.files`).
public struct ExchangeConfiguration: Sendable {
    /// The settings file's name.
    public static let settingsFile = "ktsx.conf"
    /// The participants file's name.
    public static let participantsFile = "participants.csv"

    /// The directory it was read from.
    public var directory: String
    /// How the service runs.
    public var settings: ServiceSettings
    /// The reference data (participants included).
    public var reference: ReferenceData

    /// Who exchanges files, ordered by orgId.
    public var participants: [Participant] { reference.participants.values.sorted { $0.orgId < $1.orgId } }

    /// Reads and checks the configuration in `directory`; relative paths in `ktsx.conf` are relative to it.
    /// - Throws: `ConfigurationErrors` naming every problem with its file and line.
    public static func load(directory: String) throws(ConfigurationErrors) -> ExchangeConfiguration {
        let base = URL(fileURLWithPath: directory).standardizedFileURL
        let settingsText = String(decoding: try contents(settingsFile, in: base), as: UTF8.self)
        var errors: [ConfigurationError] = []
        var settings: ServiceSettings?
        do {
            settings = try ConfigurationParser.settings(from: settingsText, file: settingsFile) { path in
                path.hasPrefix("/") ? path : base.appendingPathComponent(path).standardizedFileURL.path
            }
        } catch {
            errors += error.errors
        }
        var reference: ReferenceData?
        do {
            reference = try loadReference(directory: directory)
        } catch {
            errors += error.errors
        }
        guard errors.isEmpty, let settings, let reference else { throw ConfigurationErrors(errors) }
        return ExchangeConfiguration(directory: base.path, settings: settings, reference: reference)
    }

    /// Reads `participants.csv` and the reference files of `directory`.
    public static func loadReference(directory: String) throws(ConfigurationErrors) -> ReferenceData {
        let base = URL(fileURLWithPath: directory).standardizedFileURL
        let participantBytes = Array(try contents(participantsFile, in: base))
        var errors: [ConfigurationError] = []
        var participants: [Participant] = []
        do {
            participants = try ConfigurationParser.participants(from: participantBytes, file: participantsFile)
        } catch {
            errors += error.errors
        }
        var files: [String: [UInt8]] = [:]
        for name in ReferenceDataParser.files {
            let url = base.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            files[name] = Array(try contents(name, in: base))
        }
        // Reference files are checked against the participants; with a broken participants.csv that
        // check would only repeat its problems.
        guard errors.isEmpty else { throw ConfigurationErrors(errors) }
        var reference: ReferenceData?
        do {
            reference = try ReferenceDataParser.parse(participants: participants, files: files)
        } catch {
            errors += error.errors
        }
        guard errors.isEmpty, let reference else { throw ConfigurationErrors(errors) }
        return reference
    }

    private static func contents(_ name: String, in base: URL) throws(ConfigurationErrors) -> Data {
        do {
            return try Data(contentsOf: base.appendingPathComponent(name))
        } catch {
            throw ConfigurationErrors([
                ConfigurationError(file: name, line: nil, reason: "cannot read \(base.appendingPathComponent(name).path): \(error.localizedDescription)")
            ])
        }
    }

    /// The drop tree the settings describe.
    public var tree: DropTree { DropTree(dropRoot: settings.dropRoot, stateDirectory: settings.stateDirectory) }
}

/// The reference data in force, reloaded when a support person edits a reference file: `reloadIfChanged`
/// rereads the files when any of their modification times or sizes changed; a version with problems is
/// refused (and reported) and the previous one stays in force.
public final class ReferenceStore: Sendable {
    private let directory: String
    private let state: Mutex<(reference: ReferenceData, stamp: [String])>

    /// A store that starts with `reference`, read from `directory`.
    public init(directory: String, reference: ReferenceData) {
        self.directory = directory
        state = Mutex((reference, ReferenceStore.stamp(directory)))
    }

    /// The reference data in force.
    public var current: ReferenceData { state.withLock { $0.reference } }

    /// Rereads the files if they changed.
    /// - Returns: nil when nothing changed; `.success` with the new data, or `.failure` with the problems
    ///   (the old data stays in force).
    public func reloadIfChanged() -> Result<ReferenceData, ConfigurationErrors>? {
        let stamp = ReferenceStore.stamp(directory)
        guard stamp != state.withLock({ $0.stamp }) else { return nil }
        do {
            let reference = try ExchangeConfiguration.loadReference(directory: directory)
            state.withLock { $0 = (reference, stamp) }
            return .success(reference)
        } catch {
            state.withLock { $0.stamp = stamp }
            return .failure(error)
        }
    }

    private static func stamp(_ directory: String) -> [String] {
        ([ExchangeConfiguration.participantsFile] + ReferenceDataParser.files).map { name in
            var info = stat()
            guard stat("\(directory)/\(name)", &info) == 0 else { return "\(name):absent" }
            return "\(name):\(info.st_size):\(info.st_mtim.tv_sec):\(info.st_mtim.tv_nsec)"
        }
    }
}
