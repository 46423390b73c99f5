/// What a poll of an `inbound/` folder saw for one directory entry (from `lstat`, never following links).
public struct DropEntry: Sendable, Equatable {
    /// The kind of directory entry.
    public enum Kind: Sendable, Equatable {
        /// A regular file.
        case regular
        /// A symbolic link: never followed.
        case symbolicLink
        /// A directory.
        case directory
        /// A FIFO, socket or device.
        case special
    }

    /// The entry's name in the folder.
    public var name: String
    /// Its kind.
    public var kind: Kind
    /// Size in bytes.
    public var size: Int64
    /// Modification time, nanoseconds since the epoch.
    public var modified: Int64
    /// Inode number (a replaced file has a new one).
    public var inode: UInt64
    /// How many names the file has (hard links): more than one means the same bytes also live elsewhere,
    /// perhaps outside the drop tree.
    public var links: UInt64
    /// How long before the listing the file last changed, in nanoseconds, by its status-change time
    /// (`ctime`: the kernel sets it on every write, rename and change of times, and no client can set it);
    /// 0 when not known.
    public var unchangedFor: Int64

    /// Creates an entry.
    public init(
        name: String, kind: Kind = .regular, size: Int64, modified: Int64 = 0, inode: UInt64 = 0, links: UInt64 = 1,
        unchangedFor: Int64 = 0
    ) {
        self.name = name
        self.kind = kind
        self.size = size
        self.modified = modified
        self.inode = inode
        self.links = links
        self.unchangedFor = unchangedFor
    }
}

/// Decides, poll after poll, when a dropped file may be claimed. Pure: it is given what a poll saw and the
/// time on our own clock, and says what to do with each entry.
///
/// A file is ready when its size, modification time and inode have not changed for the quiet period,
/// counted from when *we* first saw it so, or from its last status change (`DropEntry.unchangedFor`)
/// when that is earlier: a file that arrived whole a second before the poll that first sees it is ready
/// then. Its modification time says nothing (WinSCP gives an uploaded file its source's old time), but
/// every write, rename or change of times moves the status-change time, which no client sets. A
/// participant may instead signal readiness with a done-marker file, `NAME.done`.
public struct ReadinessTracker: Sendable {
    /// What to do with an entry.
    public enum Decision: Sendable, Equatable {
        /// Never touch it: hidden files, upload temporaries, done markers.
        case ignore
        /// Not yet: still changing, or quiet for less than the quiet period, or its done marker is missing.
        /// `quietAt` is when, on the clock of `observe`, it will have been quiet for the quiet period if
        /// nothing changes it meanwhile (nil while it waits for its done marker): the poller need not wait
        /// a whole poll interval longer for it.
        case wait(quietAt: Duration?)
        /// Claim it now.
        case ready
        /// Set it aside unread and explain why (links, FIFOs, devices, directories, oversize files).
        case setAside(SetAsideReason)
    }

    /// Why an entry is set aside instead of read.
    public enum SetAsideReason: Sendable, Equatable {
        /// A symbolic link.
        case symbolicLink
        /// A regular file with more than one name (a hard link): its bytes may belong to a file outside
        /// the drop tree, so it is never read, as a symbolic link is not.
        case hardLink
        /// A directory.
        case directory
        /// A FIFO, socket or device.
        case special
        /// Larger than the limit.
        case tooLarge(limit: Int64)
    }

    /// Suffixes of names that upload clients use while a file is still being written.
    public static let temporarySuffixes = [".part", ".filepart", ".partial", ".tmp", ".writing", ".inprogress", "~"]
    /// The suffix of a done marker.
    public static let doneMarkerSuffix = ".done"

    private struct Sighting: Sendable {
        var size: Int64
        var modified: Int64
        var inode: UInt64
        var unchangedSince: Duration
    }

    /// The quiet period.
    public let quietPeriod: Duration
    /// Whether readiness is signalled by done markers.
    public let usesDoneMarker: Bool
    /// The largest file accepted.
    public let maxFileBytes: Int64
    private var sightings: [String: Sighting] = [:]

    /// Creates a tracker for one participant's `inbound/` folder.
    public init(quietPeriod: Duration, usesDoneMarker: Bool = false, maxFileBytes: Int64) {
        self.quietPeriod = quietPeriod
        self.usesDoneMarker = usesDoneMarker
        self.maxFileBytes = maxFileBytes
    }

    /// Whether a name is one the processor never touches.
    public static func isIgnored(name: String) -> Bool {
        name.hasPrefix(".") || name.hasSuffix(doneMarkerSuffix) || temporarySuffixes.contains(where: name.hasSuffix)
    }

    /// Records what one poll saw at `now` and returns the decision for every entry.
    /// Entries no longer present are forgotten.
    public mutating func observe(_ entries: [DropEntry], now: Duration) -> [String: Decision] {
        var decisions: [String: Decision] = [:]
        let names = Set(entries.map(\.name))
        for entry in entries {
            decisions[entry.name] = decide(entry, now: now, names: names)
        }
        for name in sightings.keys where !names.contains(name) { sightings[name] = nil }
        return decisions
    }

    /// Forgets an entry (after it was claimed or set aside), so a new file under the same name starts over.
    public mutating func forget(_ name: String) {
        sightings[name] = nil
    }

    private mutating func decide(_ entry: DropEntry, now: Duration, names: Set<String>) -> Decision {
        if ReadinessTracker.isIgnored(name: entry.name) { return .ignore }
        switch entry.kind {
        case .symbolicLink: return .setAside(.symbolicLink)
        case .directory: return .setAside(.directory)
        case .special: return .setAside(.special)
        case .regular: break
        }
        if entry.links > 1 { return .setAside(.hardLink) }
        if entry.size > maxFileBytes { return .setAside(.tooLarge(limit: maxFileBytes)) }
        if usesDoneMarker {
            return names.contains(entry.name + ReadinessTracker.doneMarkerSuffix) ? .ready : .wait(quietAt: nil)
        }
        let quietByKernel = Duration.nanoseconds(max(0, entry.unchangedFor))
        if let previous = sightings[entry.name], previous.size == entry.size, previous.modified == entry.modified,
            previous.inode == entry.inode
        {
            return decision(quietFor: max(now - previous.unchangedSince, quietByKernel), now: now)
        }
        sightings[entry.name] = Sighting(size: entry.size, modified: entry.modified, inode: entry.inode, unchangedSince: now)
        return decision(quietFor: quietByKernel, now: now)
    }

    /// Ready when quiet for the quiet period; otherwise waiting for the rest of it.
    private func decision(quietFor: Duration, now: Duration) -> Decision {
        quietFor >= quietPeriod ? .ready : .wait(quietAt: now + quietPeriod - quietFor)
    }
}

extension ValidationIssue.Code {
    /// The code for an entry set aside unread.
    public static func notARegularFile(_ reason: ReadinessTracker.SetAsideReason) -> Self {
        switch reason {
        case .symbolicLink: .symbolicLink
        case .hardLink: .hardLink
        case .directory, .special: .notRegularFile
        case .tooLarge: .fileTooLarge
        }
    }
}
