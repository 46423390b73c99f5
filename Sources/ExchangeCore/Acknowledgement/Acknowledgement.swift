/// The outcome of one received file.
public enum FileOutcome: String, Sendable, Codable, CaseIterable {
    /// Every record was accepted.
    case accepted = "ACCEPTED"
    /// Some records failed the rules; the others were accepted.
    case acceptedWithErrors = "ACCEPTED_WITH_ERRORS"
    /// The file failed a check that concerns it as a whole; nothing in it was applied.
    case rejected = "REJECTED"
    /// The same bytes from the same sender were accepted before; nothing was applied again.
    case duplicate = "DUPLICATE"
}

/// What the acknowledgement of one file says (one record of the ACK type).
public struct Acknowledgement: Sendable, Equatable {
    /// Our receipt id for the file.
    public var receiptId: String
    /// The name the file was dropped under.
    public var inputFile: String
    /// The sender (the folder it was dropped in).
    public var senderOrgId: String
    /// The recognised type, if any.
    public var fileType: ExchangeType?
    /// The recognised binding, if any.
    public var binding: Binding?
    /// SHA-256 of the bytes, lowercase hex.
    public var contentSHA256: String
    /// Size in bytes.
    public var sizeBytes: Int64
    /// When the file was claimed.
    public var received: Timestamp
    /// When it was judged.
    public var processed: Timestamp
    /// The outcome.
    public var outcome: FileOutcome
    /// Records in the file.
    public var recordsReceived: Int
    /// Records accepted.
    public var recordsAccepted: Int
    /// Records rejected.
    public var recordsRejected: Int
    /// Errors in the error file (all of them, even when the list was cut).
    public var errorCount: Int
    /// The error file's name, when there is one.
    public var errorFile: String?
    /// For a duplicate: the receipt of the first copy.
    public var firstReceiptId: String?
    /// A summary in words.
    public var message: String?

    /// Creates an acknowledgement.
    public init(
        receiptId: String, inputFile: String, senderOrgId: String, fileType: ExchangeType?, binding: Binding?,
        contentSHA256: String, sizeBytes: Int64, received: Timestamp, processed: Timestamp, outcome: FileOutcome,
        recordsReceived: Int, recordsAccepted: Int, recordsRejected: Int, errorCount: Int, errorFile: String? = nil,
        firstReceiptId: String? = nil, message: String? = nil
    ) {
        self.receiptId = receiptId
        self.inputFile = inputFile
        self.senderOrgId = senderOrgId
        self.fileType = fileType
        self.binding = binding
        self.contentSHA256 = contentSHA256
        self.sizeBytes = sizeBytes
        self.received = received
        self.processed = processed
        self.outcome = outcome
        self.recordsReceived = recordsReceived
        self.recordsAccepted = recordsAccepted
        self.recordsRejected = recordsRejected
        self.errorCount = errorCount
        self.errorFile = errorFile
        self.firstReceiptId = firstReceiptId
        self.message = message
    }

    /// The values in ACK field order, nil where absent.
    var fieldValues: [String?] {
        [
            receiptId, inputFile, senderOrgId, fileType?.code ?? "UNKNOWN", binding?.rawValue ?? "UNKNOWN",
            contentSHA256, String(sizeBytes), received.iso8601, processed.iso8601, outcome.rawValue,
            String(recordsReceived), String(recordsAccepted), String(recordsRejected), String(errorCount), errorFile,
            firstReceiptId, message,
        ]
    }
}

/// One line of an error file (one record of the ERR type).
public struct ErrorEntry: Sendable, Equatable {
    /// The receipt id of the file.
    public var receiptId: String
    /// The name the file was dropped under.
    public var inputFile: String
    /// Line in the file.
    public var line: Int?
    /// Column, when known.
    public var column: Int?
    /// XML element path.
    public var path: String?
    /// The failing record's recordId.
    public var recordKey: String?
    /// The field in error.
    public var field: String?
    /// The stable code.
    public var code: String
    /// What is wrong and what to do.
    public var message: String

    /// An error line for an issue found in the file.
    public init(receiptId: String, inputFile: String, issue: ValidationIssue) {
        self.receiptId = receiptId
        self.inputFile = inputFile
        line = issue.line
        column = issue.column
        // Cut to the ERR schema's lengths, so the error file is always valid.
        path = issue.path.map { String($0.prefix(1024)) }
        recordKey = issue.recordKey.map { String($0.prefix(255)) }
        field = issue.field.map { String($0.prefix(100)) }
        code = issue.code.rawValue
        message = String(issue.message.prefix(2000))
    }

    /// The values in ERR field order.
    var fieldValues: [String?] {
        [receiptId, inputFile, line.map(String.init), column.map(String.init), path, recordKey, field, code, message]
    }
}
