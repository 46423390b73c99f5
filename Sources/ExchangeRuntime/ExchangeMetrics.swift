import ExchangeCore
import Metrics

/// What the exchange counts for Prometheus (through swift-metrics: `ktsx run` installs the Prometheus
/// factory; elsewhere the counts go nowhere). Labels carry types, outcomes and job kinds only, never an
/// organisation, a file name or student data.
enum ExchangeMetrics {
    /// A file acknowledged: counted by type and outcome, its records by verdict.
    static func acknowledged(_ receipt: Receipt) {
        let type = receipt.fileType?.code ?? "UNKNOWN"
        let outcome = receipt.outcome?.rawValue ?? "UNKNOWN"
        Counter(label: "ktsx_files_total", dimensions: [("type", type), ("outcome", outcome)]).increment()
        Counter(label: "ktsx_records_total", dimensions: [("type", type), ("verdict", "accepted")]).increment(by: receipt.recordsAccepted)
        Counter(label: "ktsx_records_total", dimensions: [("type", type), ("verdict", "rejected")]).increment(by: receipt.recordsRejected)
    }

    /// The time from a file's claim to its acknowledgement, by type.
    static func claimToAcknowledgement(_ receipt: Receipt, took duration: Duration) {
        Timer(label: "ktsx_claim_to_ack_seconds", dimensions: [("type", receipt.fileType?.code ?? "UNKNOWN")]).record(duration: duration)
    }

    /// A job run finished.
    static func jobRunFinished(_ run: JobRun) {
        Counter(label: "ktsx_job_runs_total", dimensions: [("job", run.job.rawValue)]).increment()
        Counter(label: "ktsx_job_run_files_total", dimensions: [("job", run.job.rawValue)]).increment(by: run.files)
    }

    /// A file that could not be handled in a pass (it stays and is retried).
    static func fileFailed() {
        Counter(label: "ktsx_file_failures_total").increment()
    }

    /// A hidden temporary found in an `outbound/` after its step had finished, and repaired.
    static func orphanTemporaryRepaired() {
        Counter(label: "ktsx_orphan_temporaries_total").increment()
    }
}
