/// A few values of one record, handed out while a file is validated so that the rules can judge records
/// without a second pass or a tree. Only the fields asked for are kept.
public struct RecordFacts: Sendable, Equatable {
    /// The file's type.
    public var type: ExchangeType
    /// The line the record starts on.
    public var line: Int
    /// XML: the record's element path (`/Root/Record[n]`).
    public var path: String?
    /// The values asked for, by logical (camelCase) field name; absent when the record has no value.
    public var values: [String: String]

    /// Creates the facts of one record.
    public init(type: ExchangeType, line: Int, path: String? = nil, values: [String: String]) {
        self.type = type
        self.line = line
        self.path = path
        self.values = values
    }

    /// The record's `recordId`, if captured.
    public var recordId: String? { values["recordId"] }
}

/// Receives the facts of each record, in file order.
public typealias RecordFactsHandler = (RecordFacts) -> Void
