#if canImport(Glibc)
import Glibc
#endif

/// The named steps of a file's and a job run's life where the process can be made to die at once
/// (SIGKILL, as a power cut or the OOM killer would), so that a test can prove that whatever each step
/// leaves behind is finished at the next start, once. Armed only by the `KTSX_CRASH_AT` environment
/// variable (a step's name); without it, `reach` does nothing.
public enum CrashPoint: String, CaseIterable, Sendable {
    /// A file was renamed into the work area; no receipt yet.
    case fileClaimed = "file-claimed"
    /// Its receipt is recorded `claimed`.
    case fileRecorded = "file-recorded"
    /// Its acknowledgement (and error and routed files) are written as hidden temporaries.
    case filePrepared = "file-prepared"
    /// The judgement, outputs and deliveries are committed (`writing`); nothing is visible yet.
    case fileCommitted = "file-committed"
    /// One output of several is in place.
    case fileOnePlaced = "file-one-placed"
    /// Every output is in place; the original is still in the work area.
    case filePlaced = "file-placed"
    /// The original is archived or quarantined; the receipt is not yet `finished`.
    case fileFiled = "file-filed"
    /// A job run is claimed (one row per job and night); nothing written.
    case jobClaimed = "job-claimed"
    /// Its files are written as hidden temporaries.
    case jobPrepared = "job-prepared"
    /// Its files and deliveries are committed (`writing`); nothing visible yet.
    case jobCommitted = "job-committed"

    private static let armed: CrashPoint? = getenv("KTSX_CRASH_AT").flatMap { CrashPoint(rawValue: String(cString: $0)) }

    /// Kills the process here if this step is the one armed.
    func reach() {
        if CrashPoint.armed == self { kill(getpid(), SIGKILL) }
    }
}

/// Where a crash is made to happen in a file's life. In the service the environment decides
/// (`KTSX_CRASH_AT`, a real SIGKILL); an in-process test simulates one: the step throws `SimulatedCrash`
/// and nothing more of that file is done, as if the process had died there.
public struct CrashSwitch: Sendable {
    private let onReach: @Sendable (CrashPoint) throws -> Void

    /// Kills the process at the step `KTSX_CRASH_AT` names, if any.
    public static let fromEnvironment = CrashSwitch { $0.reach() }

    /// Never crashes (a test's processor that must ignore `KTSX_CRASH_AT`).
    public static let never = CrashSwitch { _ in }

    /// Stops the file's life at `point` by throwing `SimulatedCrash` (each time the point is reached).
    public static func simulated(at point: CrashPoint) -> CrashSwitch {
        CrashSwitch { reached in if reached == point { throw SimulatedCrash(point: point) } }
    }

    private init(_ onReach: @escaping @Sendable (CrashPoint) throws -> Void) {
        self.onReach = onReach
    }

    /// Called at the end of each named step.
    func reach(_ point: CrashPoint) throws {
        try onReach(point)
    }
}

/// A crash a test simulated at a step (see `CrashSwitch.simulated(at:)`).
public struct SimulatedCrash: Error, Equatable {
    /// The step it happened at.
    public let point: CrashPoint
}
