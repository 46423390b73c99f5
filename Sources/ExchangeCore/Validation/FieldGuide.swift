/// What messages need to know about fields, by logical (camelCase) name, across every type: which hold
/// student data (never repeated in a message) and the expected form of a value in words.
public struct FieldGuide: Sendable {
    /// Fields whose values are student data.
    public var studentDataFields: Set<String>
    /// The expected form of each field's value, where the schema gives one.
    public var formatHints: [String: String]

    /// A guide with the given facts.
    public init(studentDataFields: Set<String> = [], formatHints: [String: String] = [:]) {
        self.studentDataFields = studentDataFields
        self.formatHints = formatHints
    }

    /// The guide drawn from Table Schemas (`studentData` and `formatHint` field properties).
    public init(schemas: some Sequence<TableSchema>) {
        self.init()
        for field in schemas.flatMap(\.fields) {
            if field.isStudentData { studentDataFields.insert(field.name) }
            if let hint = field.formatHint { formatHints[field.name] = hint }
        }
    }
}
