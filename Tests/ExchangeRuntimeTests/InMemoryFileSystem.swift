import ExchangeCore
import ExchangeRuntime
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The file system in memory, for tests: the drop tree's calls with the POSIX meanings the drop tree relies
/// on (a rename replaces a file, a link never replaces, a file removed while linked elsewhere keeps its
/// bytes, `lstat` never follows a link, errors carry `errno`). `crash()` forgets what was written but never
/// flushed, as a power cut would, so a test can see that every file a step leaves behind was synced.
final class InMemoryFileSystem: FileSystem, @unchecked Sendable {
    /// A file's bytes and attributes, shared by every name it has.
    private final class Contents {
        var bytes: [UInt8] = []
        /// What survives a crash: the bytes at the last `sync()`.
        var synced: [UInt8] = []
        let inode: UInt64
        var links: UInt64 = 0
        var modified: Int64

        init(inode: UInt64, modified: Int64) {
            self.inode = inode
            self.modified = modified
        }
    }

    private enum Node {
        case directory(inode: UInt64)
        case file(Contents)
        case symbolicLink(target: String, inode: UInt64)
        case special(inode: UInt64)
    }

    private let lock = NSLock()
    private var nodes: [String: Node] = ["/": .directory(inode: 1)]
    private var lastInode: UInt64 = 1
    /// A tick per change, as modification times.
    private var tick: Int64 = 0

    // MARK: Test helpers

    /// Writes a file (flushed), as a partner's upload that finished.
    func put(_ path: String, _ bytes: [UInt8]) throws {
        try writeFile(path, bytes: bytes, mode: 0o644)
    }

    /// Puts a symbolic link at `path`.
    func putSymbolicLink(_ path: String, to target: String) throws {
        try withLock {
            try requireParent(of: path)
            guard nodes[path] == nil else { throw DropTreeError("exists", path, EEXIST) }
            nodes[path] = .symbolicLink(target: target, inode: newInode())
        }
    }

    /// The names in a folder, sorted (the hidden ones included).
    func listing(_ directory: String) -> [String] {
        ((try? names(in: directory, renamingUnreadable: false)) ?? []).sorted()
    }

    /// Every file path under `directory`, sorted.
    func files(under directory: String) -> [String] {
        withLock {
            nodes.compactMap { path, node in
                guard path.hasPrefix(directory + "/"), case .file = node else { return nil }
                return path
            }.sorted()
        }
    }

    /// A power cut: every file keeps only what was flushed.
    func crash() {
        withLock {
            for case .file(let contents) in nodes.values { contents.bytes = contents.synced }
        }
    }

    // MARK: FileSystem

    func makeDirectory(_ path: String, mode: UInt32) throws {
        try withLock {
            switch nodes[path] {
            case .directory?: return
            case nil:
                try requireParent(of: path)
                nodes[path] = .directory(inode: newInode())
            default: throw DropTreeError("cannot create folder", path, EEXIST)
            }
        }
    }

    func removeEmptyDirectory(_ path: String) {
        withLock {
            guard case .directory? = nodes[path], children(of: path).isEmpty else { return }
            nodes[path] = nil
        }
    }

    func removeTree(_ path: String) throws {
        withLock {
            for key in nodes.keys where key == path || key.hasPrefix(path + "/") { unlink(key) }
        }
    }

    func entry(at path: String) throws -> DropEntry {
        try withLock {
            guard let node = nodes[path] else { throw DropTreeError("cannot stat", path, ENOENT) }
            return describe(node, name: String(path.split(separator: "/").last ?? ""))
        }
    }

    func names(in directory: String, renamingUnreadable: Bool) throws -> [String] {
        try withLock {
            guard case .directory? = nodes[directory] else {
                throw DropTreeError("cannot list", directory, nodes[directory] == nil ? ENOENT : ENOTDIR)
            }
            return children(of: directory).map { String($0.dropFirst(directory == "/" ? 1 : directory.count + 1)) }
        }
    }

    func rename(_ source: String, to target: String) throws {
        try withLock {
            guard let node = nodes[source] else { throw DropTreeError("cannot rename", source, ENOENT) }
            try requireParent(of: target)
            if source == target { return }
            if let existing = nodes[target] {
                if case .directory = existing {
                    guard case .directory = node, children(of: target).isEmpty else { throw DropTreeError("cannot rename onto", target, EISDIR) }
                } else if case .directory = node {
                    throw DropTreeError("cannot rename a folder onto a file", target, ENOTDIR)
                }
                unlink(target)
            }
            // A folder takes everything under it along.
            for key in nodes.keys where key.hasPrefix(source + "/") {
                nodes[target + key.dropFirst(source.count)] = nodes.removeValue(forKey: key)
            }
            nodes[target] = nodes.removeValue(forKey: source)
        }
    }

    func link(_ existing: String, as new: String) throws {
        try withLock {
            guard let node = nodes[existing] else { throw DropTreeError("cannot link", existing, ENOENT) }
            guard case .file(let contents) = node else { throw DropTreeError("cannot link", existing, EPERM) }
            try requireParent(of: new)
            guard nodes[new] == nil else { throw DropTreeError("cannot link", new, EEXIST) }
            contents.links += 1
            nodes[new] = node
        }
    }

    func removeFile(_ path: String) {
        withLock {
            if case .directory? = nodes[path] { return }
            unlink(path)
        }
    }

    func isSameFile(_ first: String, _ second: String) -> Bool {
        withLock {
            guard let one = nodes[first], let other = nodes[second] else { return false }
            return describe(one, name: "").inode == describe(other, name: "").inode
        }
    }

    func createFile(_ path: String, mode: UInt32, ownerOfFolder: Bool) throws -> any WritableFile {
        try withLock {
            try requireParent(of: path)
            switch nodes[path] {
            case .file(let contents)?:
                contents.bytes = []
                contents.modified = nextTick()
                return Writer(contents, fileSystem: self)
            case nil:
                let contents = Contents(inode: newInode(), modified: nextTick())
                contents.links = 1
                nodes[path] = .file(contents)
                return Writer(contents, fileSystem: self)
            case .symbolicLink?: throw DropTreeError("cannot create (a link)", path, ELOOP)
            case .directory?: throw DropTreeError("cannot create", path, EISDIR)
            case .special?: throw DropTreeError("cannot create", path, EACCES)
            }
        }
    }

    func openForReading(_ path: String) throws -> (any ReadableFile)? {
        try withLock {
            guard let node = nodes[path] else { throw DropTreeError("cannot open", path, ENOENT) }
            guard case .file(let contents) = node else { return nil }
            return Reader(bytes: contents.bytes, entry: describe(node, name: ""))
        }
    }

    func syncDirectory(_ path: String) {}

    func device(of path: String) throws -> UInt64 {
        _ = try entry(at: path)
        return 1
    }

    func resolvedPath(_ path: String) -> String { path }

    // MARK: Inside

    private func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    private func newInode() -> UInt64 {
        lastInode += 1
        return lastInode
    }

    fileprivate func nextTick() -> Int64 {
        tick += 1
        return tick
    }

    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash > path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    private func requireParent(of path: String) throws {
        let parent = InMemoryFileSystem.parent(of: path)
        guard case .directory? = nodes[parent] else { throw DropTreeError("no such folder", parent, nodes[parent] == nil ? ENOENT : ENOTDIR) }
    }

    /// The direct children's paths.
    private func children(of directory: String) -> [String] {
        nodes.keys.filter { $0 != "/" && InMemoryFileSystem.parent(of: $0) == directory }
    }

    private func unlink(_ path: String) {
        if case .file(let contents)? = nodes[path] { contents.links -= 1 }
        nodes[path] = nil
    }

    private func describe(_ node: Node, name: String) -> DropEntry {
        switch node {
        case .directory(let inode): DropEntry(name: name, kind: .directory, size: 0, inode: inode, links: 2)
        case .file(let contents):
            DropEntry(name: name, kind: .regular, size: Int64(contents.bytes.count), modified: contents.modified, inode: contents.inode, links: contents.links)
        case .symbolicLink(let target, let inode): DropEntry(name: name, kind: .symbolicLink, size: Int64(target.utf8.count), inode: inode)
        case .special(let inode): DropEntry(name: name, kind: .special, size: 0, inode: inode)
        }
    }

    private final class Writer: WritableFile {
        private let contents: Contents
        private let fileSystem: InMemoryFileSystem

        init(_ contents: Contents, fileSystem: InMemoryFileSystem) {
            self.contents = contents
            self.fileSystem = fileSystem
        }

        func write(_ bytes: UnsafeRawBufferPointer) throws {
            fileSystem.withLock {
                contents.bytes.append(contentsOf: bytes)
                contents.modified = fileSystem.nextTick()
            }
        }

        func sync() throws {
            fileSystem.withLock { contents.synced = contents.bytes }
        }
    }

    private final class Reader: ReadableFile {
        private let bytes: [UInt8]
        private var offset = 0
        let entry: DropEntry

        init(bytes: [UInt8], entry: DropEntry) {
            self.bytes = bytes
            self.entry = entry
        }

        func rewind() {
            offset = 0
        }

        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            let count = min(buffer.count, bytes.count - offset)
            guard count > 0 else { return 0 }
            bytes.withUnsafeBytes { source in
                buffer.baseAddress!.copyMemory(from: source.baseAddress! + offset, byteCount: count)
            }
            offset += count
            return count
        }
    }
}
