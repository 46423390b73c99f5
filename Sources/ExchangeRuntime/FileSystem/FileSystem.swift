import ExchangeCore

/// The file-system calls the drop tree makes, and nothing more: the seam between the exchange's file
/// handling (claiming, preparing, placing, filing) and the disk. `PosixFileSystem` is the real one; the
/// tests have an in-memory twin, so that a crash at any step can be tried in-process in milliseconds.
///
/// Every call takes whole paths that the drop tree built. Failures are `DropTreeError`s carrying an
/// `errno` value (`ENOENT` for a path that is gone, `EEXIST` for a name that is taken), whichever
/// implementation raised them.
public protocol FileSystem: Sendable {
    /// Creates a folder with `mode`; nothing if it exists already.
    func makeDirectory(_ path: String, mode: UInt32) throws
    /// Removes a folder if it is empty; nothing if it is gone or still holds something.
    func removeEmptyDirectory(_ path: String)
    /// Removes a folder and everything in it.
    func removeTree(_ path: String) throws
    /// What `lstat` says of a path (a link is reported as a link, never followed).
    func entry(at path: String) throws -> DropEntry
    /// The names in a folder, without `.` and `..`, in no particular order. A name that is not UTF-8 is
    /// given a readable name in place (bytes replaced by `_`, plus `.renamed`) when `renamingUnreadable`,
    /// and left out otherwise.
    func names(in directory: String, renamingUnreadable: Bool) throws -> [String]
    /// Renames an entry (replacing an existing file at `target`, as `rename(2)` does).
    func rename(_ source: String, to target: String) throws
    /// Gives the file at `existing` a second name, `new`; never replaces (fails with `EEXIST`).
    func link(_ existing: String, as new: String) throws
    /// Removes a file's name; nothing if it is gone.
    func removeFile(_ path: String)
    /// Whether two paths name the same file (the same inode on the same device), links not followed.
    func isSameFile(_ first: String, _ second: String) -> Bool
    /// Creates `path` (or empties it) for writing, never through a link. With `ownerOfFolder`, the file is
    /// given to the owner of its folder where the process may do so (a participant's SFTP account).
    func createFile(_ path: String, mode: UInt32, ownerOfFolder: Bool) throws -> any WritableFile
    /// Opens a regular file for reading, never following a link and never blocking on a FIFO; nil when
    /// `path` is not a regular file. Fails with `ENOENT` when it is gone.
    func openForReading(_ path: String) throws -> (any ReadableFile)?
    /// Flushes a folder's entries to disk (after a rename or a link in it).
    func syncDirectory(_ path: String)
    /// The device a path is on (a claim is a rename, so the work area must share the inbound folders' device).
    func device(of path: String) throws -> UInt64
    /// The path with links and `..` resolved, or `path` itself when it cannot be.
    func resolvedPath(_ path: String) -> String
}

/// A file open for reading, from its start; closed when released.
public protocol ReadableFile: AnyObject {
    /// What `fstat` says of the open file (its name left empty).
    var entry: DropEntry { get }
    /// Reads the next bytes into `buffer`; 0 at the end of the file.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Goes back to the first byte: the next `read` starts there.
    func rewind() throws
}

/// A file open for writing, from its start; closed when released.
public protocol WritableFile: AnyObject {
    /// Appends all of `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Flushes what was written to disk.
    func sync() throws
}

extension ReadableFile {
    /// Reads the rest of the file in chunks of up to 1 MiB, until its end or until `body` returns false.
    public func forEachChunk(_ body: (UnsafeRawBufferPointer) throws -> Bool) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = try read(into: buffer)
            if count == 0 { return }
            guard try body(UnsafeRawBufferPointer(rebasing: buffer[0..<count])) else { return }
        }
    }
}

extension FileSystem {
    /// Whether a path exists (as any kind of entry).
    public func exists(_ path: String) -> Bool {
        (try? entry(at: path)) != nil
    }

    /// Writes `bytes` to a new (or emptied) file and flushes it to disk.
    public func writeFile(_ path: String, bytes: [UInt8], mode: UInt32, ownerOfFolder: Bool = false) throws {
        let file = try createFile(path, mode: mode, ownerOfFolder: ownerOfFolder)
        try bytes.withUnsafeBytes { try file.write($0) }
        try file.sync()
    }

    /// The whole of a small regular file; nil when it is gone or not a regular file.
    public func contents(of path: String) -> [UInt8]? {
        guard let file = try? openForReading(path) else { return nil }
        var bytes: [UInt8] = []
        do {
            try file.forEachChunk { chunk in
                bytes.append(contentsOf: chunk)
                return true
            }
        } catch {
            return nil
        }
        return bytes
    }
}
