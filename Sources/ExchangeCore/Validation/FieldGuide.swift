/// What messages need to know about fields, by logical (camelCase) name, across every type: which hold
/// student data (never repeated in a message), the expected form of a value in words, and each type's
/// fields in order with those required (to name a missing element rather than the one after it).
public struct FieldGuide: Sendable {
    /// Fields whose values are student data.
    public var studentDataFields: Set<String>
    /// The expected form of each field's value, where the schema gives one.
    public var formatHints: [String: String]
    /// Each type's record fields, in order.
    public var fieldOrder: [ExchangeType: [String]]
    /// Each type's required record fields.
    public var requiredFields: [ExchangeType: Set<String>]

    /// The XML header's fields (every type's that has one), in order, and those required.
    public static let headerFields = ["senderOrgId", "schoolYear", "recordCount", "createdDateTime", "batchId", "sourceSystem"]
    public static let requiredHeaderFields: Set<String> = ["senderOrgId", "schoolYear", "recordCount", "createdDateTime"]

    /// Every element name of the exchange's XML files: roots, records, the header's and the fields'
    /// (a name a message may repeat; any other came from a value, perhaps a student's).
    public var elementNames: Set<String> {
        var names: Set<String> = Set(["Header"] + FieldGuide.headerFields.map { $0.prefix(1).uppercased() + $0.dropFirst() })
        for type in ExchangeType.allCases {
            names.insert(type.xmlRootElement)
            names.insert(type.xmlRecordElement)
        }
        for field in fieldOrder.values.joined() { names.insert(field.prefix(1).uppercased() + field.dropFirst()) }
        return names
    }

    /// A guide with the given facts.
    public init(
        studentDataFields: Set<String> = [], formatHints: [String: String] = [:], fieldOrder: [ExchangeType: [String]] = [:],
        requiredFields: [ExchangeType: Set<String>] = [:]
    ) {
        self.studentDataFields = studentDataFields
        self.formatHints = formatHints
        self.fieldOrder = fieldOrder
        self.requiredFields = requiredFields
    }

    /// The guide drawn from the types' Table Schemas (`studentData` and `formatHint` field properties,
    /// the fields' order and `required`).
    public init(schemas: [ExchangeType: TableSchema]) {
        self.init()
        for (type, schema) in schemas {
            fieldOrder[type] = schema.fieldNames
            requiredFields[type] = Set(schema.fields.filter(\.constraints.required).map(\.name))
            for field in schema.fields {
                if field.isStudentData { studentDataFields.insert(field.name) }
                if let hint = field.formatHint { formatHints[field.name] = hint }
            }
        }
    }
}
