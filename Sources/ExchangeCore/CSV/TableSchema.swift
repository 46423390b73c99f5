import FoundationEssentials

/// A Frictionless Table Schema: the CSV binding of one exchange type.
///
/// Only what the bundled schemas use is modelled: field types string, integer, number, boolean, date,
/// time and datetime in their default formats; constraints required, unique, pattern, enum, minLength,
/// maxLength, minimum and maximum; `primaryKey`; `missingValues`.
public struct TableSchema: Sendable, Decodable {
    /// A field type.
    public enum FieldType: String, Sendable, Decodable {
        case string, integer, number, boolean, date, time, datetime
    }

    /// A constraint bound or enum member, which a schema may write as a JSON string or number.
    public enum Scalar: Sendable, Decodable, Equatable {
        /// A JSON string.
        case string(String)
        /// A JSON number, kept exactly.
        case number(Decimal)

        /// Decodes a JSON string or number.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Decimal.self) {
                self = .number(number)
            } else {
                self = .string(try container.decode(String.self))
            }
        }

        /// The scalar as it would be written in a message.
        public var text: String {
            switch self {
            case .string(let value): value
            case .number(let value): "\(value)"
            }
        }
    }

    /// The constraints of one field.
    public struct Constraints: Sendable, Decodable {
        /// A value is needed.
        public var required = false
        /// No two rows may hold the same value.
        public var unique = false
        /// The whole value must match this XSD-style regular expression.
        public var pattern: String?
        /// The value must be one of these.
        public var `enum`: [Scalar]?
        /// Least length in characters.
        public var minLength: Int?
        /// Greatest length in characters.
        public var maxLength: Int?
        /// Least value (inclusive).
        public var minimum: Scalar?
        /// Greatest value (inclusive).
        public var maximum: Scalar?

        /// No constraints.
        public init() {}

        enum CodingKeys: String, CodingKey {
            case required, unique, pattern, `enum`, minLength, maxLength, minimum, maximum
        }

        /// Decodes a constraints object; absent members are unconstrained.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            required = try container.decodeIfPresent(Bool.self, forKey: .required) ?? false
            unique = try container.decodeIfPresent(Bool.self, forKey: .unique) ?? false
            pattern = try container.decodeIfPresent(String.self, forKey: .pattern)
            `enum` = try container.decodeIfPresent([Scalar].self, forKey: .enum)
            minLength = try container.decodeIfPresent(Int.self, forKey: .minLength)
            maxLength = try container.decodeIfPresent(Int.self, forKey: .maxLength)
            minimum = try container.decodeIfPresent(Scalar.self, forKey: .minimum)
            maximum = try container.decodeIfPresent(Scalar.self, forKey: .maximum)
        }
    }

    /// One column.
    public struct Field: Sendable, Decodable {
        /// The column name, exactly as in the header row.
        public var name: String
        /// The value type.
        public var type: FieldType
        /// The format; only "default" is supported.
        public var format: String?
        /// Strings read as true (boolean fields).
        public var trueValues: [String]?
        /// Strings read as false (boolean fields).
        public var falseValues: [String]?
        /// The field's constraints.
        public var constraints: Constraints
        /// Whether values are student data (names, birth dates, IDs) that messages must never repeat.
        public var isStudentData: Bool
        /// The expected form of a value in words, for messages (a custom property: `formatHint`).
        public var formatHint: String?

        enum CodingKeys: String, CodingKey {
            case name, type, format, trueValues, falseValues, constraints, studentData, formatHint
        }

        /// Decodes a field descriptor.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            type = try container.decodeIfPresent(FieldType.self, forKey: .type) ?? .string
            format = try container.decodeIfPresent(String.self, forKey: .format)
            trueValues = try container.decodeIfPresent([String].self, forKey: .trueValues)
            falseValues = try container.decodeIfPresent([String].self, forKey: .falseValues)
            constraints = try container.decodeIfPresent(Constraints.self, forKey: .constraints) ?? Constraints()
            isStudentData = try container.decodeIfPresent(Bool.self, forKey: .studentData) ?? false
            formatHint = try container.decodeIfPresent(String.self, forKey: .formatHint)
        }
    }

    /// The columns, in header order.
    public var fields: [Field]
    /// Fields whose combined values identify a row.
    public var primaryKey: [String]
    /// Cell texts that mean "no value".
    public var missingValues: [String]

    enum CodingKeys: String, CodingKey { case fields, primaryKey, missingValues }

    /// Decodes a schema descriptor.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        fields = try container.decode([Field].self, forKey: .fields)
        if let single = try? container.decode(String.self, forKey: .primaryKey) {
            primaryKey = [single]
        } else {
            primaryKey = try container.decodeIfPresent([String].self, forKey: .primaryKey) ?? []
        }
        missingValues = try container.decodeIfPresent([String].self, forKey: .missingValues) ?? [""]
    }

    /// Parses a Table Schema JSON document.
    /// - Throws: `DecodingError` when the JSON is not a Table Schema this validator supports.
    public init(json: [UInt8]) throws {
        self = try JSONDecoder().decode(TableSchema.self, from: Data(json))
    }

    /// The field names, in order.
    public var fieldNames: [String] { fields.map(\.name) }
}
