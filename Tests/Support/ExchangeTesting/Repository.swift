import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Paths into the package checkout, for tests that read `Schemas/` and `Fixtures/` or run `ktsx`.
public enum Repository {
    /// The package root (the folder holding Package.swift).
    public static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        preconditionFailure("Package.swift not found above \(#filePath)")
    }()

    /// `Fixtures/`.
    public static var fixtures: URL { root.appendingPathComponent("Fixtures") }

    /// `Schemas/`.
    public static var schemas: URL { root.appendingPathComponent("Schemas") }

    /// The `ktsx` binary built beside the test bundle, or the one `KTSX_TEST_BINARY` names (CI runs the SFTP
    /// test again against the binary the package installed).
    public static let ktsx = ProcessInfo.processInfo.environment["KTSX_TEST_BINARY"].map { URL(fileURLWithPath: $0) } ?? product("ktsx")

    /// The fuzz harness built beside the test bundle, as a replayer (`ktsx-fuzz TARGET FILE...`).
    public static let ktsxFuzz = product("ktsx-fuzz")

    private static func product(_ name: String) -> URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        return root.appendingPathComponent(".build/debug/\(name)")
    }

    /// The files in a fixture folder (relative to `Fixtures/`), sorted, with the given extensions.
    public static func fixtureFiles(in folder: String, extensions: Set<String>) -> [URL] {
        files(in: fixtures.appendingPathComponent(folder), extensions: extensions)
    }

    /// The example files of the specification, `Schemas/examples/`.
    public static func exampleFiles(extensions: Set<String>) -> [URL] {
        files(in: schemas.appendingPathComponent("examples"), extensions: extensions)
    }

    private static func files(in directory: URL, extensions: Set<String>) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().map { directory.appendingPathComponent($0) }
            .filter { extensions.contains($0.pathExtension) }
    }
}

/// The outcome of running a program.
public struct ProcessResult: Sendable {
    /// Exit status.
    public var status: Int32
    /// Standard output.
    public var standardOutput: String
    /// Standard error.
    public var standardError: String
}

/// Runs a program to completion and captures its output.
///
/// Output goes to temporary files rather than pipes: a grandchild that keeps a pipe open (ssh under
/// sftp, say) would otherwise keep the reader waiting after the program itself has exited.
/// - Parameters:
///   - executable: An absolute path, or a name looked up on PATH.
///   - arguments: Its arguments.
///   - directory: The working directory.
///   - timeout: Seconds after which the program is killed (the result then has status 137 or so).
///   - environment: Variables to set for the program, on top of this process's environment.
///   - standardInput: Text for the program's standard input (none by default).
public func runProcess(
    _ executable: String, _ arguments: [String], in directory: URL? = nil, timeout: Double = 600, environment: [String: String] = [:],
    standardInput: String? = nil
) throws -> ProcessResult {
    let process = Process()
    if !environment.isEmpty {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    }
    if executable.hasPrefix("/") {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
    } else {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
    }
    if let directory { process.currentDirectoryURL = directory }
    let scratch = FileManager.default.temporaryDirectory
    let outputURL = scratch.appendingPathComponent("ktsx-out-\(UUID().uuidString)")
    let errorURL = scratch.appendingPathComponent("ktsx-err-\(UUID().uuidString)")
    let inputURL = scratch.appendingPathComponent("ktsx-in-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: inputURL.path, contents: Data((standardInput ?? "").utf8))
    defer {
        try? FileManager.default.removeItem(at: outputURL)
        try? FileManager.default.removeItem(at: errorURL)
        try? FileManager.default.removeItem(at: inputURL)
    }
    let output = try FileHandle(forWritingTo: outputURL)
    let error = try FileHandle(forWritingTo: errorURL)
    process.standardOutput = output
    process.standardError = error
    process.standardInput = standardInput == nil ? FileHandle.nullDevice : try FileHandle(forReadingFrom: inputURL)
    try process.run()
    try? output.close()
    try? error.close()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning {
        if Date() > deadline {
            process.terminate()
            kill(process.processIdentifier, SIGKILL)
            break
        }
        usleep(10_000)
    }
    process.waitUntilExit()
    return ProcessResult(
        status: process.terminationStatus,
        standardOutput: String(decoding: (try? Data(contentsOf: outputURL)) ?? Data(), as: UTF8.self),
        standardError: String(decoding: (try? Data(contentsOf: errorURL)) ?? Data(), as: UTF8.self))
}

/// Runs `body` with a new empty directory that is removed afterwards.
public func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ktsx-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory)
}

/// Runs async `body` with a fresh temporary directory, removed afterwards.
public func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ktsx-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body(directory)
}
