import ExchangeCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The local file system, through POSIX calls.
public struct PosixFileSystem: FileSystem {
    /// The local file system.
    public init() {}

    public func makeDirectory(_ path: String, mode: UInt32) throws {
        if mkdir(path, mode_t(mode)) != 0, errno != EEXIST { throw DropTreeError("cannot create", path) }
    }

    public func removeEmptyDirectory(_ path: String) {
        rmdir(path)
    }

    public func removeTree(_ path: String) throws {
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw DropTreeError("cannot remove", path, EIO)
        }
    }

    public func entry(at path: String) throws -> DropEntry {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw DropTreeError("cannot read", path) }
        var entry = PosixFileSystem.entry(info)
        entry.name = String(path.split(separator: "/").last ?? "")
        return entry
    }

    static func entry(_ info: stat) -> DropEntry {
        let kind: DropEntry.Kind
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFLNK: kind = .symbolicLink
        case S_IFDIR: kind = .directory
        default: kind = .special
        }
        // The status-change time against the same (wall) clock the kernel stamped it with.
        var wall = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        let changed = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
        let listed = Int64(wall.tv_sec) * 1_000_000_000 + Int64(wall.tv_nsec)
        return DropEntry(
            name: "", kind: kind, size: Int64(info.st_size),
            modified: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec), inode: UInt64(info.st_ino),
            links: UInt64(info.st_nlink), unchangedFor: max(0, listed - changed))
    }

    public func names(in directory: String, renamingUnreadable: Bool) throws -> [String] {
        guard let handle = opendir(directory) else { throw DropTreeError("cannot list", directory) }
        defer { closedir(handle) }
        var names: [String] = []
        while let record = readdir(handle) {
            let bytes = withUnsafeBytes(of: record.pointee.d_name) { raw in Array(raw.prefix(while: { $0 != 0 })) }
            guard let name = String(validating: bytes, as: UTF8.self) else {
                // A name that is not UTF-8 cannot be carried by our paths, messages or acknowledgements.
                if renamingUnreadable, let renamed = renameToUTF8(bytes, in: directory) { names.append(renamed) }
                continue
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Renames an entry whose name is not UTF-8 (bytes replaced by `_`, plus `.renamed`) and returns its
    /// new name, or nil if it could not be renamed.
    private func renameToUTF8(_ bytes: [UInt8], in directory: String) -> String? {
        let readable = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\u{FFFD}", with: "_")
        var candidate = readable + ".renamed"
        var attempt = 1
        while exists("\(directory)/\(candidate)") {
            attempt += 1
            candidate = readable + ".renamed\(attempt)"
        }
        let source = Array(directory.utf8) + [UInt8(ascii: "/")] + bytes + [0]
        let moved = source.withUnsafeBufferPointer { pointer in
            pointer.withMemoryRebound(to: CChar.self) { Glibc.rename($0.baseAddress!, "\(directory)/\(candidate)") == 0 }
        }
        return moved ? candidate : nil
    }

    public func rename(_ source: String, to target: String) throws {
        guard Glibc.rename(source, target) == 0 else { throw DropTreeError("cannot rename", source) }
    }

    public func link(_ existing: String, as new: String) throws {
        guard Glibc.link(existing, new) == 0 else { throw DropTreeError("cannot link", new) }
    }

    public func removeFile(_ path: String) {
        unlink(path)
    }

    public func isSameFile(_ first: String, _ second: String) -> Bool {
        var a = stat(), b = stat()
        return lstat(first, &a) == 0 && lstat(second, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev
    }

    public func createFile(_ path: String, mode: UInt32, ownerOfFolder: Bool) throws -> any WritableFile {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode_t(mode))
        guard descriptor >= 0 else { throw DropTreeError("cannot create", path) }
        // The mode asked for, whatever the process's umask (a command run with umask 022 writes as the service
        // does); before the owner changes, after which only the new owner (or root) may change it.
        _ = fchmod(descriptor, mode_t(mode))
        if ownerOfFolder {
            // Only possible when running as root; otherwise the file stays ours.
            var folder = stat()
            let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            if stat(directory.isEmpty ? "/" : directory, &folder) == 0 { _ = fchown(descriptor, folder.st_uid, folder.st_gid) }
        }
        return Descriptor(descriptor, path: path)
    }

    public func openForReading(_ path: String) throws -> (any ReadableFile)? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard descriptor >= 0 else {
            // ELOOP: a symbolic link, never followed.
            if errno == ELOOP { return nil }
            throw DropTreeError("cannot open", path)
        }
        let file = Descriptor(descriptor, path: path)
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        file.entry = PosixFileSystem.entry(info)
        return file
    }

    public func syncDirectory(_ path: String) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if descriptor >= 0 {
            fsync(descriptor)
            close(descriptor)
        }
    }

    public func device(of path: String) throws -> UInt64 {
        var info = stat()
        guard stat(path, &info) == 0 else { throw DropTreeError("cannot read", path) }
        return UInt64(info.st_dev)
    }

    public func resolvedPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// An open file descriptor, closed when released.
    final class Descriptor: ReadableFile, WritableFile {
        let descriptor: Int32
        let path: String
        var entry = DropEntry(name: "", size: 0)

        init(_ descriptor: Int32, path: String) {
            self.descriptor = descriptor
            self.path = path
        }

        deinit { close(descriptor) }

        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            while true {
                let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
                if count >= 0 { return count }
                if errno != EINTR { throw DropTreeError("cannot read", path) }
            }
        }

        func rewind() throws {
            if lseek(descriptor, 0, SEEK_SET) < 0 { throw DropTreeError("cannot read", path) }
        }

        func write(_ bytes: UnsafeRawBufferPointer) throws {
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw DropTreeError("cannot write", path)
                }
                offset += written
            }
        }

        func sync() throws {
            guard fsync(descriptor) == 0 else { throw DropTreeError("cannot flush", path) }
        }
    }
}
