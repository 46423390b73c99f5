import ExchangeCore
import Foundation

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

    init(_ operation: String, _ path: String, _ code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
    }
}

/// The drop tree and the processor's private state directory on the local file system.
///
/// ```
/// <dropRoot>/<orgId>/inbound/     participants write; we list, then claim by rename
/// <dropRoot>/<orgId>/outbound/    we write (hidden temporary, fsync, no-overwrite link); participants take
/// <stateDir>/work/<receipt>/NAME  claimed files being judged
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

    /// A tree at the given roots.
    public init(dropRoot: String, stateDirectory: String) {
        self.dropRoot = dropRoot
        self.stateDirectory = stateDirectory
    }

    /// A participant's `inbound/`.
    public func inbound(_ orgId: String) -> String { "\(dropRoot)/\(orgId)/inbound" }
    /// A participant's `outbound/`.
    public func outbound(_ orgId: String) -> String { "\(dropRoot)/\(orgId)/outbound" }
    /// The work area.
    public var work: String { "\(stateDirectory)/work" }
    /// The SQLite ledger.
    public var ledgerPath: String { "\(stateDirectory)/ledger.sqlite" }

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
        let realDrop = realPath(dropRoot), realState = realPath(stateDirectory)
        if realState == realDrop || realState.hasPrefix(realDrop + "/") {
            throw DropTreeError("the state directory must be outside the drop tree:", stateDirectory, EINVAL)
        }
        let workDevice = try device(of: work)
        for participant in participants where try device(of: inbound(participant.orgId)) != workDevice {
            throw DropTreeError("the work area is on another file system than", inbound(participant.orgId), EXDEV)
        }
    }

    private func makeDirectory(_ path: String, mode: mode_t) throws {
        if mkdir(path, mode) != 0, errno != EEXIST { throw DropTreeError("cannot create", path) }
    }

    private func device(of path: String) throws -> UInt {
        var info = stat()
        guard stat(path, &info) == 0 else { throw DropTreeError("cannot read", path) }
        return UInt(info.st_dev)
    }

    private func realPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    // MARK: Listing

    /// The entries of a folder, from `lstat` (links are reported as links, never followed).
    public func list(_ directory: String) throws -> [DropEntry] {
        guard let handle = opendir(directory) else { throw DropTreeError("cannot list", directory) }
        defer { closedir(handle) }
        var entries: [DropEntry] = []
        while let record = readdir(handle) {
            let bytes = withUnsafeBytes(of: record.pointee.d_name) { raw in Array(raw.prefix(while: { $0 != 0 })) }
            guard let name = String(validating: bytes, as: UTF8.self) else {
                // A name that is not UTF-8 cannot be carried by our paths, messages or acknowledgements:
                // give the entry a readable name in place (the acknowledgement shows it) and go on.
                if let renamed = renameToUTF8(bytes, in: directory) { entries.append(renamed) }
                continue
            }
            if name == "." || name == ".." { continue }
            guard var entry = try? entry(at: "\(directory)/\(name)") else { continue }  // gone since readdir
            entry.name = name
            entries.append(entry)
        }
        return entries.sorted { $0.name < $1.name }
    }

    /// Renames an entry whose name is not UTF-8 (bytes replaced by `_`, plus `.renamed`) and returns
    /// it under its new name, or nil if it could not be renamed.
    private func renameToUTF8(_ bytes: [UInt8], in directory: String) -> DropEntry? {
        let readable = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\u{FFFD}", with: "_")
        var candidate = readable + ".renamed"
        var attempt = 1
        while exists("\(directory)/\(candidate)") {
            attempt += 1
            candidate = readable + ".renamed\(attempt)"
        }
        let source = Array(directory.utf8) + [UInt8(ascii: "/")] + bytes + [0]
        let moved = source.withUnsafeBufferPointer { pointer in
            pointer.withMemoryRebound(to: CChar.self) { rename($0.baseAddress!, "\(directory)/\(candidate)") == 0 }
        }
        guard moved, var entry = try? entry(at: "\(directory)/\(candidate)") else { return nil }
        entry.name = candidate
        return entry
    }

    /// What `lstat` says of one path.
    public func entry(at path: String) throws -> DropEntry {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw DropTreeError("cannot read", path) }
        let kind: DropEntry.Kind
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFLNK: kind = .symbolicLink
        case S_IFDIR: kind = .directory
        default: kind = .special
        }
        return DropEntry(
            name: String(path.split(separator: "/").last ?? ""), kind: kind, size: Int64(info.st_size),
            modified: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec), inode: UInt64(info.st_ino),
            links: UInt64(info.st_nlink))
    }

    /// Whether a name exists in a folder (as any kind of entry).
    public func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    // MARK: Claiming and filing

    /// Moves `name` out of `orgId`'s inbound into the work area under `receiptId`. Returns nil if the file
    /// is gone (another processor claimed it, or the sender removed it).
    public func claim(_ name: String, from orgId: String, receiptId: String) throws -> String? {
        let directory = "\(work)/\(receiptId)"
        try makeDirectory(directory, mode: 0o700)
        let target = "\(directory)/\(name)"
        if rename("\(inbound(orgId))/\(name)", target) != 0 {
            let code = errno
            rmdir(directory)
            if code == ENOENT { return nil }
            throw DropTreeError("cannot claim", "\(inbound(orgId))/\(name)", code)
        }
        return target
    }

    /// Receipt folders in the work area (to reconcile after a crash).
    public func workReceipts() throws -> [String] {
        try list(work).filter { $0.kind == .directory }.map(\.name)
    }

    /// Moves a claimed (or set-aside) file into the archive or quarantine, keeping it for retention.
    /// Returns where it went.
    @discardableResult
    public func file(_ path: String, receiptId: String, orgId: String, name: String, quarantine: Bool, at time: Timestamp)
        throws -> String
    {
        let month = String(time.iso8601.prefix(7))
        let base = "\(stateDirectory)/\(quarantine ? "quarantine" : "archive")"
        for directory in [base, "\(base)/\(orgId)", "\(base)/\(orgId)/\(month)", "\(base)/\(orgId)/\(month)/\(receiptId)"] {
            try makeDirectory(directory, mode: 0o700)
        }
        let target = filedPath(receiptId: receiptId, orgId: orgId, name: name, quarantined: quarantine, claimedAt: time)
        if rename(path, target) != 0 { throw DropTreeError("cannot file", path) }
        removeWork(receiptId: receiptId)
        return target
    }

    /// Removes a receipt's folder in the work area once its original has left it (nothing if it is gone
    /// already or still holds something).
    public func removeWork(receiptId: String) {
        rmdir("\(work)/\(receiptId)")
    }

    /// Where `file` put (or will put) a receipt's original.
    public func filedPath(receiptId: String, orgId: String, name: String, quarantined: Bool, claimedAt: Timestamp) -> String {
        "\(stateDirectory)/\(quarantined ? "quarantine" : "archive")/\(orgId)/\(claimedAt.iso8601.prefix(7))/\(receiptId)/\(name)"
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
        let input = open(source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard input >= 0 else { throw DropTreeError("cannot open", source) }
        defer { close(input) }
        var info = stat()
        guard fstat(input, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { throw DropTreeError("not a regular file:", source, EINVAL) }
        let directory = "\(work)/\(receiptId)"
        try makeDirectory(directory, mode: 0o700)
        let temporary = "\(directory)/\(DropTree.temporaryName(for: name, receiptId: receiptId))"
        let output = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard output >= 0 else { throw DropTreeError("cannot create", temporary) }
        defer { close(output) }
        try DropTree.forEachChunk(of: input, path: source) { chunk in
            try DropTree.writeAll(chunk, to: output, path: temporary)
            return true
        }
        guard fsync(output) == 0 else { throw DropTreeError("cannot flush", temporary) }
        let target = "\(directory)/\(name)"
        guard rename(temporary, target) == 0 else { throw DropTreeError("cannot rename", temporary) }
        return target
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
                    try FileManager.default.removeItem(atPath: "\(base)/\(org.name)/\(month)")
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
        let directory = outbound(orgId)
        guard let handle = opendir(directory) else { throw DropTreeError("cannot list", directory) }
        defer { closedir(handle) }
        var found: [Temporary] = []
        while let record = readdir(handle) {
            let bytes = withUnsafeBytes(of: record.pointee.d_name) { raw in Array(raw.prefix(while: { $0 != 0 })) }
            guard bytes.first == UInt8(ascii: "."), let name = String(validating: bytes, as: UTF8.self), name.hasSuffix(".tmp"),
                name.count > 6
            else { continue }
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
        unlink("\(outbound(orgId))/\(temporary.name)")
    }

    /// Writes `bytes` to the hidden temporary for `name` in `directory` and flushes it to disk. Nothing a
    /// participant lists changes: the temporary is hidden (and ignored by our own poller).
    public func prepare(_ bytes: [UInt8], named name: String, in directory: String, receiptId: String) throws {
        let temporary = "\(directory)/\(DropTree.temporaryName(for: name, receiptId: receiptId))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o640)
        guard descriptor >= 0 else { throw DropTreeError("cannot create", temporary) }
        defer { close(descriptor) }
        try bytes.withUnsafeBytes { try DropTree.writeAll($0, to: descriptor, path: temporary) }
        // The file belongs to whoever owns the folder (the participant's SFTP account), so that the
        // participant can read and remove it. Only possible when running as root; otherwise it stays ours.
        var folder = stat()
        if stat(directory, &folder) == 0 { _ = fchown(descriptor, folder.st_uid, folder.st_gid) }
        guard fsync(descriptor) == 0 else { throw DropTreeError("cannot flush", temporary) }
    }

    /// Reads an open file in 1 MiB chunks, to its end or until `body` returns false.
    static func forEachChunk(of descriptor: Int32, path: String, _ body: (UnsafeRawBufferPointer) throws -> Bool) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = read(descriptor, buffer.baseAddress, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw DropTreeError("cannot read", path)
            }
            if count == 0 { return }
            guard try body(UnsafeRawBufferPointer(rebasing: buffer[0..<count])) else { return }
        }
    }

    /// Writes all of `bytes` to an open file.
    static func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw DropTreeError("cannot write", path)
            }
            offset += written
        }
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
        let hasTemporary = exists(temporary)
        guard hasTemporary else { return exists(final) ? .placed : .alreadyTaken }
        if link(temporary, final) != 0 {
            guard errno == EEXIST else { throw DropTreeError("cannot place", final) }
            // Ours if the same inode is linked under both names (a crash after link, before unlink).
            var a = stat(), b = stat()
            if lstat(temporary, &a) == 0, lstat(final, &b) == 0, a.st_ino == b.st_ino, a.st_dev == b.st_dev {
                unlink(temporary)
                return .placed
            }
            return .nameTaken
        }
        unlink(temporary)
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
        return .placed
    }
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
        let text = "\(heartbeat.time.secondsSinceEpoch) \(heartbeat.processId)\n"
        guard FileManager.default.createFile(atPath: temporary, contents: Array(text.utf8).withUnsafeBufferPointer { Data($0) }),
            rename(temporary, heartbeatPath) == 0
        else { throw DropTreeError("cannot write", heartbeatPath) }
    }

    /// The last sign of life, if the service ever ran here.
    public func heartbeat() -> ServiceHeartbeat? {
        guard let data = FileManager.default.contents(atPath: heartbeatPath) else { return nil }
        let parts = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isWhitespace)
        guard parts.count == 2, let seconds = Int64(parts[0]), let pid = Int32(parts[1]) else { return nil }
        return ServiceHeartbeat(time: Timestamp(secondsSinceEpoch: seconds), processId: pid)
    }
}
