/// How the service runs, from `ktsx.conf`.
public struct ServiceSettings: Sendable, Equatable {
    /// The root of the drop tree: `<dropRoot>/<orgId>/inbound` and `outbound`.
    public var dropRoot: String
    /// The processor's private directory (ledger, work area, archive, quarantine); on the same file
    /// system as the drop tree and outside every participant's folder.
    public var stateDirectory: String
    /// How long a file must stay unchanged, on our clock, before it is ready.
    public var quietPeriod: Duration
    /// How often the folders are polled.
    public var pollInterval: Duration
    /// Files larger than this are set aside unread.
    public var maxFileBytes: Int64
    /// Records one file may hold: a file with more is rejected once the limit is passed, read no further.
    /// A file's accepted records are held in memory until its one commit, so this bounds the memory a
    /// single file can take.
    public var maxRecords: Int = ServiceSettings.defaultMaxRecords
    /// The default of `maxRecords`: a whole school year of daily attendance for over 500 students.
    public static let defaultMaxRecords = 100_000
    /// Files this large or larger are judged in the second lane, beside the passes (one at a time), so
    /// that small files keep their latency while a large one is read.
    public var largeFileBytes: Int64 = ServiceSettings.defaultLargeFileBytes
    /// The default of `largeFileBytes`: far above a day's file of any partner (a few hundred KB).
    public static let defaultLargeFileBytes: Int64 = 8 * 1024 * 1024
    /// Days archived and quarantined originals are kept.
    public var retentionDays: Int
    /// School years the ledger keeps whole, the current one counted: the year before them is retired
    /// (`ktsx retire`) by the service from the July 1 it falls out. Nil: every year is kept.
    public var keepSchoolYears: Int? = nil
    /// This instance's name among the instances sharing a ledger (nil: the machine's host name). The work
    /// an instance has in hand is leased under its name: a restarted instance finishes its own at once,
    /// another instance's only when that one's leases have run out.
    public var instanceName: String?
    /// How long, in seconds, an instance's lease on the work it has in hand lasts unless renewed: after it
    /// dies, the other instances take its work over once this has passed.
    public var leaseSeconds: Int64 = LedgerLease.seconds
    /// The ledger: nil for the embedded SQLite file in the state directory (the default), or a
    /// `postgres://` URL for a PostgreSQL ledger that several instances share.
    public var ledgerURL: String?
    /// Where `ktsx run` serves the review page, `/metrics` and `/healthz`; nil when turned off.
    public var reviewAddress: ReviewAddress? = ReviewAddress(host: "127.0.0.1", port: 8480)
    /// How log lines are written to standard error.
    public var logFormat: LogFormat = .text
    /// The mail transfer agent's `sendmail` program, which notifications by email are handed to (as cron
    /// hands its mail): it reads the message on standard input, `-t -i`.
    public var sendmailCommand = "/usr/sbin/sendmail"
    /// The sender of notification emails.
    public var notifyFrom = "KTS Exchange <ktsx@localhost>"
    /// The review site's address as partners reach it (`https://…`), for links in notifications; nil: the
    /// notifications name the file and the page without a link.
    public var siteURL: String?

    /// How log lines are written.
    public enum LogFormat: String, Sendable, Equatable, CaseIterable {
        /// One line of text per event, for people (the default).
        case text
        /// One JSON object per line, the same fields, for log shippers.
        case json
    }

    /// Settings with the defaults of DESIGN.md.
    public init(
        dropRoot: String, stateDirectory: String, quietPeriod: Duration = .seconds(5),
        pollInterval: Duration = .seconds(2), maxFileBytes: Int64 = 512 * 1024 * 1024, retentionDays: Int = 400
    ) {
        self.dropRoot = dropRoot
        self.stateDirectory = stateDirectory
        self.quietPeriod = quietPeriod
        self.pollInterval = pollInterval
        self.maxFileBytes = maxFileBytes
        self.retentionDays = retentionDays
    }
}

/// A host and port to listen on.
public struct ReviewAddress: Sendable, Equatable, CustomStringConvertible {
    /// A host name or IP address.
    public var host: String
    /// The TCP port.
    public var port: Int

    /// An address.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port`.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The `Host` values a browser sends to this address (lower case): the address itself and, for loopback,
    /// `localhost` and both loopback addresses. Nil for an address on every interface (`0.0.0.0`, `::`),
    /// whose names the exchange cannot know. A request naming another host came through another name (DNS
    /// rebinding) and is refused.
    public var hostNames: Set<String>? {
        let lowered = host.lowercased()
        guard lowered != "0.0.0.0", lowered != "::", !lowered.isEmpty else { return nil }
        var names: Set<String> = [description.lowercased()]
        if ["127.0.0.1", "localhost", "::1"].contains(lowered) {
            names.formUnion(["localhost:\(port)", "127.0.0.1:\(port)", "[::1]:\(port)"])
        }
        // On HTTP's own port a browser names the host alone.
        if port == 80 { names.formUnion(names.map { String($0.dropLast(3)) }) }
        return names
    }
}
