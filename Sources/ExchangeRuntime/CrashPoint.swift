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
