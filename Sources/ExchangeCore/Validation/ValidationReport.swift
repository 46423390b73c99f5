/// The verdict on one file: what it is and everything wrong with it.
public struct ValidationReport: Sendable, Equatable {
    /// The file as named by the caller.
    public var file: String
    /// The recognised type, or nil when the content is not recognised.
    public var type: ExchangeType?
    /// The binding, or nil when the content is neither XML nor CSV.
    public var binding: Binding?
    /// Records seen (data rows for CSV, record elements for XML).
    public var recordCount: Int
    /// The issues kept (at most the collector's limit).
    public var issues: [ValidationIssue]
    /// Every issue found, including those not kept.
    public var errorCount: Int
    /// XML only: the sender the file's Header names (`SenderOrgId`), when it has one.
    public var declaredSender: String?
    /// Whether `issues` holds fewer than `errorCount`.
    public var truncated: Bool { errorCount > issues.count }
    /// Whether the file passed: recognised and free of errors.
    public var isValid: Bool { type != nil && errorCount == 0 }

    /// Creates a report.
    public init(
        file: String, type: ExchangeType?, binding: Binding?, recordCount: Int, issues: [ValidationIssue],
        errorCount: Int
    ) {
        self.file = file
        self.type = type
        self.binding = binding
        self.recordCount = recordCount
        self.issues = issues
        self.errorCount = errorCount
    }

    /// A report for a file judged from the issues in `collector`.
    public init(file: String, type: ExchangeType?, binding: Binding?, recordCount: Int, collector: IssueCollector) {
        self.init(
            file: file, type: type, binding: binding, recordCount: recordCount, issues: collector.issues,
            errorCount: collector.total)
    }
}
