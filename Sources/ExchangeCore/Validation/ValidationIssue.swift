/// One thing wrong with a file, located as precisely as the binding allows.
///
/// Messages are written for a school clerk and never repeat a value of a field that carries student data
/// (names, birth dates, state IDs).
public struct ValidationIssue: Sendable, Equatable, Hashable {
    /// A stable, partner-visible classification. Codes are written into error files and never renamed.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The code as written in reports and error files.
        public let rawValue: String
        /// Wraps a code string.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The code string.
        public var description: String { rawValue }

        // File gate.
        /// The file has no bytes.
        public static let emptyFile = Code(rawValue: "empty-file")
        /// The file is not UTF-8 (UTF-16, another declared encoding, or invalid byte sequences).
        public static let encodingError = Code(rawValue: "encoding-error")
        /// The content is not any KTS Exchange file type.
        public static let unknownType = Code(rawValue: "unknown-type")
        /// The XML is not well-formed.
        public static let notWellFormed = Code(rawValue: "not-well-formed")
        /// The XML carries a DOCTYPE declaration, which the exchange refuses.
        public static let doctypeForbidden = Code(rawValue: "doctype-forbidden")
        /// The XML nests elements deeper than any exchange file does.
        public static let nestingTooDeep = Code(rawValue: "nesting-too-deep")
        /// The header's record count differs from the records in the file.
        public static let recordCountMismatch = Code(rawValue: "record-count-mismatch")
        /// One CSV record is larger than the reader accepts.
        public static let recordTooLarge = Code(rawValue: "record-too-large")
        /// The CSV quoting is broken.
        public static let csvSyntax = Code(rawValue: "csv-syntax")
        /// The file's header names another sender than the folder it was dropped in.
        public static let senderMismatch = Code(rawValue: "sender-mismatch")
        /// A symbolic link in `inbound/`: never followed.
        public static let symbolicLink = Code(rawValue: "symbolic-link")
        /// The entry was a file with more than one name (a hard link): never read.
        public static let hardLink = Code(rawValue: "hard-link")
        /// A folder, FIFO, socket or device in `inbound/`: never read.
        public static let notRegularFile = Code(rawValue: "not-a-regular-file")
        /// A file over the size limit: never read.
        public static let fileTooLarge = Code(rawValue: "file-too-large")
        /// A file with more records than one file may hold: read no further, nothing applied.
        public static let tooManyRecords = Code(rawValue: "too-many-records")
        /// The file changed while it was read (still being written): nothing applied.
        public static let fileChanged = Code(rawValue: "file-changed")

        // XML schema.
        /// An element appears where the schema does not allow it.
        public static let unexpectedElement = Code(rawValue: "unexpected-element")
        /// A required element is missing.
        public static let missingElement = Code(rawValue: "missing-element")
        /// Any other schema violation.
        public static let schemaError = Code(rawValue: "schema-error")

        // Shared by both bindings (frictionless names).
        /// A value is not of the field's type (not a number, not a date, ...).
        public static let typeError = Code(rawValue: "type-error")
        /// A value breaks a constraint: required, pattern, enum, length or range.
        public static let constraintError = Code(rawValue: "constraint-error")
        /// A value that must be unique repeats.
        public static let uniqueError = Code(rawValue: "unique-error")

        // CSV structure (frictionless names).
        /// The primary key repeats or is empty.
        public static let primaryKey = Code(rawValue: "primary-key")
        /// A header column the schema requires is absent.
        public static let missingLabel = Code(rawValue: "missing-label")
        /// The header has a column the schema does not know.
        public static let extraLabel = Code(rawValue: "extra-label")
        /// A header column has the wrong name for its position.
        public static let incorrectLabel = Code(rawValue: "incorrect-label")
        /// A header column name repeats.
        public static let duplicateLabel = Code(rawValue: "duplicate-label")
        /// A header column name is empty.
        public static let blankLabel = Code(rawValue: "blank-label")
        /// A row has no values at all.
        public static let blankRow = Code(rawValue: "blank-row")
        /// A row has fewer values than the header.
        public static let missingCell = Code(rawValue: "missing-cell")
        /// A row has more values than the header.
        public static let extraCell = Code(rawValue: "extra-cell")
    }

    /// Physical line in the file, 1-based (CSV: the header is line 1).
    public var line: Int?
    /// Column on the line, when the parser knows it.
    public var column: Int?
    /// XML element path, such as `/KtsxAttendanceFile/Attendance[3]/ExcuseStatus`.
    public var path: String?
    /// The field in error, by its logical (camelCase) name.
    public var field: String?
    /// The stable code.
    public var code: Code
    /// What is wrong and what to do, in words a clerk can act on.
    public var message: String
    /// The failing record's `recordId`, when the issue concerns one record and it is known.
    public var recordKey: String?
    /// CSV only: the logical row number as frictionless counts it (header = 1), which differs from `line`
    /// after a quoted value that spans lines.
    public var row: Int?

    /// Creates an issue.
    public init(
        code: Code, message: String, line: Int? = nil, column: Int? = nil, path: String? = nil,
        field: String? = nil, row: Int? = nil, recordKey: String? = nil
    ) {
        self.recordKey = recordKey
        self.code = code
        self.message = message
        self.line = line
        self.column = column
        self.path = path
        self.field = field
        self.row = row
    }
}

extension ValidationIssue {
    /// A record's key for its issues, from its `recordId`'s bytes: the value when it has a record id's
    /// form (a UUID: at least 32 hexadecimal digits, with hyphens, at most 40 characters), nil otherwise,
    /// so a misplaced value (a name, a state ID) is never shown.
    public static func recordKey(from bytes: some Collection<UInt8>) -> String? {
        guard bytes.count <= 40,
            bytes.allSatisfy({ $0 == UInt8(ascii: "-") || ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 102) }),
            bytes.count(where: { $0 != UInt8(ascii: "-") }) >= 32
        else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
