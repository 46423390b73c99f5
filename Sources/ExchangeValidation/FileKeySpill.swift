import ExchangeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `KeySpill` in a temporary file that has no name: created in a directory and unlinked at once, so
/// it is gone when closed, and a crash leaves nothing behind.
public final class FileKeySpill: KeySpill {
    private let descriptor: Int32
    /// Bytes written so far.
    public private(set) var size = 0

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// A spill in `directory`, or nil when no file can be made there (the keys then stay in memory).
    public static func make(in directory: String) -> FileKeySpill? {
        var template = Array("\(directory)/.ktsx-keys-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { return nil }
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        _ = template.withUnsafeBufferPointer { unlink($0.baseAddress!) }
        return FileKeySpill(descriptor: descriptor)
    }


    /// Appends `bytes` at the end.
    public func append(_ bytes: UnsafeRawBufferPointer) throws(KeySpillError) {
        var done = 0
        while done < bytes.count {
            let count = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(size + done))
            if count < 0 {
                if errno == EINTR { continue }
                throw KeySpillError(reason: String(cString: strerror(errno)))
            }
            done += count
        }
        size += done
    }

    /// Copies up to `buffer.count` bytes from `offset` into `buffer`.
    public func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(KeySpillError) -> Int {
        guard !buffer.isEmpty else { return 0 }
        while true {
            let count = pread(descriptor, buffer.baseAddress, buffer.count, off_t(offset))
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw KeySpillError(reason: String(cString: strerror(errno)))
        }
    }
}
