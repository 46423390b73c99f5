import ExchangeCore
import Foundation

/// The bundled schemas of every exchange type in both bindings, as shipped in `Schemas/` and compiled
/// into the binary.
public enum SchemaCatalog {
    /// The XSD text of `type`'s XML binding.
    public static func xsdText(for type: ExchangeType) -> String {
        guard let text = EmbeddedSchemas.xsd[type.code] else { preconditionFailure("no XSD for \(type.code)") }
        return text
    }

    /// The Table Schema JSON text of `type`'s CSV binding.
    public static func tableSchemaText(for type: ExchangeType) -> String {
        guard let text = EmbeddedSchemas.tableSchema[type.code] else {
            preconditionFailure("no Table Schema for \(type.code)")
        }
        return text
    }

    /// The parsed Table Schema of every type, decoded once.
    public static let tableSchemas: [ExchangeType: TableSchema] = {
        var result: [ExchangeType: TableSchema] = [:]
        for type in ExchangeType.allCases {
            do {
                result[type] = try TableSchema(json: Array(tableSchemaText(for: type).utf8))
            } catch {
                preconditionFailure("the bundled \(type.code) Table Schema does not load: \(error)")
            }
        }
        return result
    }()

    /// The specification's example files (`Schemas/examples/`), by file name, e.g. `ATT.example.xml`.
    public static var examples: [String: String] { EmbeddedSchemas.examples }

    /// What messages need to know about every field: student data, expected forms.
    public static let fieldGuide = FieldGuide(schemas: tableSchemas)

    /// What an error or rule code means and what to do about it, as the specification's tables say
    /// (Schemas/README.md, "Error codes" and "Rule codes"); nil for a code they do not list.
    public static func help(forCode code: String) -> (meaning: String, whatToDo: String)? {
        EmbeddedSchemas.codeHelp[code]
    }

    /// Every field, in any type, whose values are student data and must never be echoed.
    public static var studentDataFields: Set<String> { fieldGuide.studentDataFields }
}
