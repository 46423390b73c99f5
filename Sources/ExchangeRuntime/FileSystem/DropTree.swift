import ExchangeCore

#if canImport(Glibc)
import Glibc
#endif

/// A file-system operation that failed, with the path and the operating system's reason.
public struct DropTreeError: Error, Sendable, CustomStringConvertible {
    /// What was being done.
    public var operation: String
    /// The path involved.
    public var path: String
    /// `errno`.
    public var code: Int32
    /// A one-line description.
    public var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }

    /// An error of `operation` on `path`, for the reason `code` (`errno` by default).
    public init(_ operation: String, _ path: String, _ code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
    }
}

/// The drop tree and the processor's private state directory, on a `FileSystem` (the local one, or a
/// test's in-memory twin).
///
/// ```
/// <dropRoot>/<orgId>/inbound/     participants write; we list, then claim by rename
/// <dropRoot>/<orgId>/outbound/    we write (hidden temporary, fsync, no-overwrite link); participants take
/// <stateDir>/work/<receipt>~NAME  claimed files being judged (<receipt>/NAME when that is too long a name)
/// <stateDir>/archive/<orgId>/<yyyy-mm>/<receipt>/NAME      accepted originals
/// <stateDir>/quarantine/<orgId>/<yyyy-mm>/<receipt>/NAME   rejected or set-aside originals
/// ```
/// Every path built from a participant's file name is a single component (`/` cannot occur in a name
/// read from a directory), so nothing here can reach outside the tree.
public struct DropTree: Sendable {
    /// `<dropRoot>`.
    public let dropRoot: String
    /// `<stateDir>`.
    public let stateDirectory: String
    /// The file system the tree lives on.
    public let fileSystem: any FileSystem

    /// A tree at the given roots, on the local file system unless another is given (the tests' in-memory twin).
    public init(dropRoot: String, stateDirectory: String, fileSystem: any FileSystem = PosixFileSystem()) {
        self.dropRoot = dropRoot
        self.stateDirectory = stateDirectory
        self.fileSystem = fileSystem
    }

    /// A participant's `inbound/`.
    public func inbound(_ orgId: String) -> String { "\(dropRoot)/\(orgId)/inbound" }
    /// A participant's `outbound/`.
    public func outbound(_ orgId: String) -> String { "\(dropRoot)/\(orgId)/outbound" }
    /// The work area.
    public var work: String { "\(stateDirectory)/work" }
    /// The SQLite ledger.
    public var ledgerPath: String { "\(stateDirectory)/ledger.sqlite" }
    /// `<stateDir>/retired`: the archives of retired school years (`ktsx retire`, `keep_school_years`).
    public var retiredFolder: String { "\(stateDirectory)/retired" }

    // MARK: Set-up

    /// Creates the folders for `participants` (inbound 0770, outbound 0750) and the state directory
    /// (0700), and checks that the work area is on the same file system as every inbound folder (a claim
    /// is a rename) and not inside the drop tree.
    public func prepare(for participants: [Participant]) throws {
        try makeDirectory(dropRoot, mode: 0o755)
        for participant in participants {
            try makeDirectory("\(dropRoot)/\(participant.orgId)", mode: 0o755)
            try makeDirectory(inbound(participant.orgId), mode: 0o770)
            try makeDirectory(outbound(participant.orgId), mode: 0o750)
        }
        for directory in [stateDirectory, work, "\(stateDirectory)/archive", "\(stateDirectory)/quarantine"] {
            try makeDirectory(directory, mode: 0o700)
        }
        let realDrop = fileSystem.resolvedPath(dropRoot), realState = fileSystem.resolvedPath(stateDirectory)
        if realState == realDrop || realState.hasPrefix(realDrop + "/") {
            throw DropTreeError("the state directory must be outside the drop tree:", stateDirectory, EINVAL)
        }
        let workDevice = try fileSystem.device(of: work)
        for participant in participants where try fileSystem.device(of: inbound(participant.orgId)) != workDevice {
            throw DropTreeError("the work area is on another file system than", inbound(participant.orgId), EXDEV)
        }
    }

    private func makeDirectory(_ path: String, mode: UInt32) throws {
        try fileSystem.makeDirectory(path, mode: mode)
    }

    // MARK: Listing

    /// The entries of a folder, from `lstat` (links are reported as links, never followed). A name that
    /// is not UTF-8 cannot be carried by our paths, messages or acknowledgements: the entry is given a
    /// readable name in place (the acknowledgement shows it).
    public func list(_ directory: String) throws -> [DropEntry] {
        var entries: [DropEntry] = []
        for name in try fileSystem.names(in: directory, renamingUnreadable: true) {
            guard var entry = try? entry(at: "\(directory)/\(name)") else { continue }  // gone since it was listed
            entry.name = name
            entries.append(entry)
        }
        return entries.sorted { $0.name < $1.name }
    }

    /// The names in a folder, as they are (nothing renamed, nothing `lstat`-ed).
    public func names(in directory: String) throws -> Set<String> {
        Set(try fileSystem.names(in: directory, renamingUnreadable: false))
    }

    /// What `lstat` says of one path.
    public func entry(at path: String) throws -> DropEntry {
        try fileSystem.entry(at: path)
    }

    /// Whether a name exists in a folder (as any kind of entry).
    public func exists(_ path: String) -> Bool {
        fileSystem.exists(path)
    }

    // MARK: Claiming and filing

    /// Where a file claimed under `receiptId` is in the work area: `work/<receipt>~NAME`, one rename away
    /// from `inbound/` (no folder made and removed for each file); `work/<receipt>/NAME` when that name would
    /// be too long for the file system.
    public func claimedPath(receiptId: String, name: String) -> String {
        DropTree.claimsInFolder(receiptId: receiptId, name: name) ? "\(work)/\(receiptId)/\(name)" : "\(work)/\(receiptId)~\(name)"
    }

    /// Where a claim made before a restart is: in a folder of its own if it is there (as every claim was
    /// before the flat names, and a long name's still is), else where `claimedPath` puts it.
    public func locateClaimed(receiptId: String, name: String) -> String {
        let inFolder = "\(work)/\(receiptId)/\(name)"
        return exists(inFolder) ? inFolder : claimedPath(receiptId: receiptId, name: name)
    }

    /// Whether a claim keeps its original in a folder of its own (its name beside the receipt id would be
    /// longer than a file name may be).
    static func claimsInFolder(receiptId: String, name: String) -> Bool {
        receiptId.utf8.count + 1 + name.utf8.count > 255
    }

    /// Moves `name` out of `orgId`'s inbound into the work area under `receiptId`. Returns nil if the file
    /// is gone (another processor claimed it, or the sender removed it).
    public func claim(_ name: String, from orgId: String, receiptId: String) throws -> String? {
        let inFolder = DropTree.claimsInFolder(receiptId: receiptId, name: name)
        if inFolder { try makeDirectory("\(work)/\(receiptId)", mode: 0o700) }
        let target = claimedPath(receiptId: receiptId, name: name)
        do {
            try fileSystem.rename("\(inbound(orgId))/\(name)", to: target)
        } catch let error as DropTreeError {
            if inFolder { removeWork(receiptId: receiptId) }
            if error.code == ENOENT { return nil }
            throw DropTreeError("cannot claim", "\(inbound(orgId))/\(name)", error.code)
        }
        return target
    }

    /// The claims in the work area, by receipt id, with the original's name (nil for a receipt's folder
    /// left empty): to reconcile after a crash.
    public func workClaims() throws -> [String: String?] {
        var claims: [String: String?] = [:]
        for entry in try list(work) where !entry.name.hasPrefix(".") {
            if entry.kind == .directory {
                claims[entry.name] = .some(try list("\(work)/\(entry.name)").first { !$0.name.hasPrefix(".") }?.name)
            } else if let separator = entry.name.firstIndex(of: "~"), separator != entry.name.startIndex {
                claims[String(entry.name[..<separator])] = .some(String(entry.name[entry.name.index(after: separator)...]))
            }
        }
        return claims
    }

    /// Moves a claimed (or set-aside) file into the archive or quarantine, keeping it for retention.
    /// Returns where it went.
    @discardableResult
    public func file(_ path: String, receiptId: String, orgId: String, name: String, quarantine: Bool, at time: Timestamp)
        throws -> String
    {
        let folders = filedFolders(receiptId: receiptId, orgId: orgId, quarantined: quarantine, claimedAt: time)
        // The receipt's folder first: its parents are there for every file but the first of a sender's month.
        do {
            try makeDirectory(folders[3], mode: 0o700)
        } catch let error as DropTreeError where error.code == ENOENT {
            for directory in folders { try makeDirectory(directory, mode: 0o700) }
        }
        let target = "\(folders[3])/\(name)"
        try fileSystem.rename(path, to: target)
        if path.hasPrefix("\(work)/\(receiptId)/") { removeWork(receiptId: receiptId) }
        return target
    }

    /// Removes a receipt's folder in the work area once its original has left it (nothing if there is
    /// none, or it still holds something).
    public func removeWork(receiptId: String) {
        fileSystem.removeEmptyDirectory("\(work)/\(receiptId)")
    }

    /// Where `file` put (or will put) a receipt's original.
    public func filedPath(receiptId: String, orgId: String, name: String, quarantined: Bool, claimedAt: Timestamp) -> String {
        "\(filedFolders(receiptId: receiptId, orgId: orgId, quarantined: quarantined, claimedAt: claimedAt)[3])/\(name)"
    }

    /// The folders a receipt's original is filed in, outermost first: the area, the sender, the month, the receipt.
    private func filedFolders(receiptId: String, orgId: String, quarantined: Bool, claimedAt: Timestamp) -> [String] {
        let area = "\(stateDirectory)/\(quarantined ? "quarantine" : "archive")"
        let month = "\(area)/\(orgId)/\(claimedAt.iso8601.prefix(7))"
        return [area, "\(area)/\(orgId)", month, "\(month)/\(receiptId)"]
    }

    /// Where a judged receipt's original was filed (quarantine when rejected, else archive); nil before
    /// it was judged.
    public func filedOriginal(of receipt: Receipt) -> String? {
        receipt.outcome.map { outcome in
            filedPath(
                receiptId: receipt.id, orgId: receipt.senderOrgId, name: receipt.originalName, quarantined: outcome == .rejected,
                claimedAt: receipt.claimedAt)
        }
    }

    /// Copies a filed original into the work area as the claimed file of a new receipt: written to a
    /// hidden temporary, flushed, then renamed into place, so the work area never holds a partial copy.
    /// The source must be a regular file (links are never followed). Returns the claimed path.
    public func copyIntoWork(_ source: String, receiptId: String, name: String) throws -> String {
        guard let input = try fileSystem.openForReading(source) else { throw DropTreeError("not a regular file:", source, EINVAL) }
        if DropTree.claimsInFolder(receiptId: receiptId, name: name) { try makeDirectory("\(work)/\(receiptId)", mode: 0o700) }
        let target = claimedPath(receiptId: receiptId, name: name)
        let temporary = "\(work)/.\(receiptId).tmp"
        let output = try fileSystem.createFile(temporary, mode: 0o600, ownerOfFolder: false)
        try input.forEachChunk { chunk in
            try output.write(chunk)
            return true
        }
        try output.sync()
        try fileSystem.rename(temporary, to: target)
        return target
    }

    /// Every original kept in the archive and the quarantine (each receipt folder's one entry), in the order
    /// they were filed: a folder changes when its original is moved in, and one sender's files are filed in
    /// the order they were judged.
    public func filedOriginals() throws -> [FiledOriginal] {
        var found: [FiledOriginal] = []
        for area in ["archive", "quarantine"] {
            let base = "\(stateDirectory)/\(area)"
            guard exists(base) else { continue }
            for org in try list(base) where org.kind == .directory {
                for month in try list("\(base)/\(org.name)") where month.kind == .directory {
                    for folder in try list("\(base)/\(org.name)/\(month.name)") where folder.kind == .directory {
                        let path = "\(base)/\(org.name)/\(month.name)/\(folder.name)"
                        guard let original = try list(path).first else { continue }
                        found.append(
                            FiledOriginal(
                                receiptId: folder.name, orgId: org.name, name: original.name, path: "\(path)/\(original.name)",
                                quarantined: area == "quarantine", filedAt: folder.modified))
                    }
                }
            }
        }
        return found.sorted { ($0.filedAt, $0.receiptId) < ($1.filedAt, $1.receiptId) }
    }

    /// Removes archived and quarantined originals older than the retention period (whole months, see
    /// `RetentionPolicy`). Returns how many month folders went.
    @discardableResult
    public func sweep(retentionDays: Int, now: Timestamp) throws -> Int {
        var removed = 0
        for area in ["archive", "quarantine"] {
            let base = "\(stateDirectory)/\(area)"
            for org in (try? list(base)) ?? [] where org.kind == .directory {
                let months = ((try? list("\(base)/\(org.name)")) ?? []).filter { $0.kind == .directory }.map(\.name)
                for month in RetentionPolicy.expiredMonths(months, now: now, retentionDays: retentionDays) {
                    try fileSystem.removeTree("\(base)/\(org.name)/\(month)")
                    removed += 1
                }
            }
        }
        return removed
    }

    // MARK: Writing

    /// The hidden temporary an output is prepared in before it is placed.
    public static func temporaryName(for name: String, receiptId: String) -> String { ".\(name).\(receiptId).tmp" }

    /// A hidden temporary of ours found in an `outbound/`: the file it will be placed as, and the receipt
    /// or job run that prepared it.
    public struct Temporary: Sendable, Equatable {
        /// Its own (hidden) name.
        public var name: String
        /// The name it is placed under.
        public var fileName: String
        /// The receipt or job run that prepared it (ids never hold a dot).
        public var sourceId: String
    }

    /// The hidden temporaries (`.NAME.SOURCE.tmp`) in a participant's `outbound/`, from the names alone
    /// (nothing is opened or followed).
    public func temporaries(inOutboundOf orgId: String) throws -> [Temporary] {
        var found: [Temporary] = []
        for name in try fileSystem.names(in: outbound(orgId), renamingUnreadable: false) {
            guard name.hasPrefix("."), name.hasSuffix(".tmp"), name.count > 6 else { continue }
            let body = name.dropFirst().dropLast(4)
            guard let dot = body.lastIndex(of: "."), dot > body.startIndex else { continue }
            let sourceId = String(body[body.index(after: dot)...])
            guard !sourceId.isEmpty else { continue }
            found.append(Temporary(name: name, fileName: String(body[..<dot]), sourceId: sourceId))
        }
        return found.sorted { $0.name < $1.name }
    }

    /// Removes a hidden temporary from a participant's `outbound/`.
    public func removeTemporary(_ temporary: Temporary, inOutboundOf orgId: String) {
        fileSystem.removeFile("\(outbound(orgId))/\(temporary.name)")
    }

    /// Writes `bytes` to the hidden temporary for `name` in `directory` and flushes it to disk. Nothing a
    /// participant lists changes: the temporary is hidden (and ignored by our own poller).
    public func prepare(_ bytes: [UInt8], named name: String, in directory: String, receiptId: String) throws {
        // The file belongs to whoever owns the folder (the participant's SFTP account), so that the
        // participant can read and remove it. Its group (the folder's: the service's) may read and write it:
        // with the kernel's protected hard links, a service that is not root may link (place) a file it
        // does not own only when it may read and write it.
        try fileSystem.writeFile(
            "\(directory)/\(DropTree.temporaryName(for: name, receiptId: receiptId))", bytes: bytes, mode: 0o660, ownerOfFolder: true)
    }

    /// Flushes the names of files prepared in `directories` (one flush per folder, after all its files):
    /// a temporary whose bytes are on disk but whose name is not could vanish in a power cut after its
    /// delivery was recorded, and nothing would be left to place.
    public func syncNames(in directories: some Sequence<String>) {
        for directory in Set(directories) { fileSystem.syncDirectory(directory) }
    }

    /// Removes the hidden temporary `prepare` wrote for `name` (nothing if it is gone).
    public func discardPrepared(_ name: String, in directory: String, receiptId: String) {
        fileSystem.removeFile("\(directory)/\(DropTree.temporaryName(for: name, receiptId: receiptId))")
    }

    /// What placing a prepared output found.
    public enum Placement: Sendable, Equatable {
        /// It is in place now (placed by this call or an earlier one).
        case placed
        /// Neither it nor its temporary exists: it was placed earlier and the participant took it.
        case alreadyTaken
        /// Another file holds the name; nothing was replaced.
        case nameTaken
    }

    /// Links the prepared temporary into place as `name` (a link never replaces an existing file), removes
    /// the temporary and flushes the directory. Safe to repeat after a crash at any point.
    public func place(_ name: String, in directory: String, receiptId: String) throws -> Placement {
        let final = "\(directory)/\(name)"
        let temporary = "\(directory)/\(DropTree.temporaryName(for: name, receiptId: receiptId))"
        guard exists(temporary) else { return exists(final) ? .placed : .alreadyTaken }
        do {
            try fileSystem.link(temporary, as: final)
        } catch let error as DropTreeError where error.code == EEXIST {
            // Ours if the same file is linked under both names (a crash after link, before unlink).
            guard fileSystem.isSameFile(temporary, final) else { return .nameTaken }
            fileSystem.removeFile(temporary)
            return .placed
        } catch let error as DropTreeError {
            throw DropTreeError("cannot place", final, error.code)
        }
        fileSystem.removeFile(temporary)
        fileSystem.syncDirectory(directory)
        return .placed
    }
}

/// An original kept in the archive or the quarantine, as its folders show it.
public struct FiledOriginal: Sendable, Equatable {
    /// The receipt it was filed under (its folder's name).
    public var receiptId: String
    /// The sender (its folder's name).
    public var orgId: String
    /// The file's name as received.
    public var name: String
    /// Where it is.
    public var path: String
    /// Whether it is in the quarantine (rejected or set aside).
    public var quarantined: Bool
    /// When its receipt folder last changed (the original moved in), in nanoseconds since 1970.
    public var filedAt: Int64
}

/// The service's last sign of life, written by each pass (at most every few seconds) to the state
/// directory so that `ktsx status`, another process, can tell whether the service runs.
public struct ServiceHeartbeat: Sendable, Equatable {
    /// When the pass ran.
    public var time: Timestamp
    /// The service's process id.
    public var processId: Int32
}

extension DropTree {
    /// `<stateDir>/service.heartbeat`.
    public var heartbeatPath: String { "\(stateDirectory)/service.heartbeat" }

    /// Records a sign of life (written aside and renamed: a reader never sees half of it).
    public func writeHeartbeat(_ heartbeat: ServiceHeartbeat) throws {
        let temporary = "\(heartbeatPath).tmp"
        try fileSystem.writeFile(temporary, bytes: Array("\(heartbeat.time.secondsSinceEpoch) \(heartbeat.processId)\n".utf8), mode: 0o644)
        try fileSystem.rename(temporary, to: heartbeatPath)
    }

    /// The last sign of life, if the service ever ran here.
    public func heartbeat() -> ServiceHeartbeat? {
        guard let bytes = fileSystem.contents(of: heartbeatPath) else { return nil }
        let parts = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isWhitespace)
        guard parts.count == 2, let seconds = Int64(parts[0]), let pid = Int32(parts[1]) else { return nil }
        return ServiceHeartbeat(time: Timestamp(secondsSinceEpoch: seconds), processId: pid)
    }
}
