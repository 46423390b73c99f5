import CLibXML2
import ExchangeCore
import ExchangeSchemas
import ExchangeTesting
import ExchangeValidation
import Foundation
import Testing

/// What an XSD says about one record field, read with libxml2's tree API.
private struct XSDField: Equatable {
    var name: String
    var base: String
    var required: Bool
    var patterns: [String]
    var enumeration: [String]
    var minLength: Int?
    var maxLength: Int?
    var minimum: Decimal?
    var maximum: Decimal?
}

private struct XSDDocument {
    var recordFields: [XSDField]
    var uniqueFields: [String]
}

private func children(_ node: xmlNodePtr?, named name: String) -> [xmlNodePtr] {
    var result: [xmlNodePtr] = []
    var child = node?.pointee.children
    while let current = child {
        if current.pointee.type == XML_ELEMENT_NODE, String(cString: current.pointee.name) == name {
            result.append(current)
        }
        child = current.pointee.next
    }
    return result
}

private func attribute(_ node: xmlNodePtr, _ name: String) -> String? {
    guard let value = xmlGetProp(node, name) else { return nil }
    defer { ktsx_xml_free(value) }
    return String(cString: value)
}

/// Reads the record type and the simple types of a generated XSD.
private func readXSD(_ text: String, recordElement: String) throws -> XSDDocument {
    let document = try #require(text.withCString { xmlReadMemory($0, Int32(text.utf8.count), nil, nil, Int32(XML_PARSE_NONET.rawValue)) })
    defer { xmlFreeDoc(document) }
    let schema = xmlDocGetRootElement(document)
    var simpleTypes: [String: xmlNodePtr] = [:]
    for node in children(schema, named: "simpleType") { simpleTypes[attribute(node, "name") ?? ""] = node }
    let recordType = try #require(
        children(schema, named: "complexType").first { attribute($0, "name") == "\(recordElement)Record" })
    let elements = children(children(recordType, named: "sequence").first, named: "element")
    var fields: [XSDField] = []
    for element in elements {
        let typeName = (attribute(element, "type") ?? "").replacingOccurrences(of: "k:", with: "")
        let simple = try #require(simpleTypes[typeName], "no simpleType \(typeName)")
        let restriction = try #require(children(simple, named: "restriction").first)
        func values(_ facet: String) -> [String] { children(restriction, named: facet).compactMap { attribute($0, "value") } }
        let base = attribute(restriction, "base") ?? ""
        // The lexical pattern pinned on dates and times is a binding detail, not a constraint.
        let lexical: Set<String> = ["[0-9]{4}-[0-9]{2}-[0-9]{2}", "[0-9]{2}:[0-9]{2}:[0-9]{2}"]
        fields.append(
            XSDField(
                name: attribute(element, "name") ?? "", base: base, required: attribute(element, "minOccurs") != "0",
                patterns: values("pattern").filter { !(["xs:date", "xs:time"].contains(base) && lexical.contains($0)) },
                enumeration: values("enumeration"), minLength: values("minLength").first.flatMap { Int($0) },
                maxLength: values("maxLength").first.flatMap { Int($0) },
                minimum: values("minInclusive").first.flatMap { Decimal(string: $0) },
                maximum: values("maxInclusive").first.flatMap { Decimal(string: $0) }))
    }
    let root = children(schema, named: "element").first
    let unique = children(root, named: "unique").flatMap { children($0, named: "field") }.compactMap { attribute($0, "xpath") }
        .map { $0.replacingOccurrences(of: "k:", with: "") }
    return XSDDocument(recordFields: fields, uniqueFields: unique)
}

private let compatibleTypes: [TableSchema.FieldType: String] = [
    .string: "xs:string", .integer: "xs:integer", .number: "xs:decimal", .boolean: "xs:boolean", .date: "xs:date",
    .time: "xs:time", .datetime: "xs:dateTime",
]

private func decimal(_ scalar: TableSchema.Scalar?) -> Decimal? {
    switch scalar {
    case .number(let value): value
    case .string(let text): Decimal(string: text)
    case nil: nil
    }
}

@Suite("Schemas: both bindings declare the same fields")
struct SchemaBindingTests {
    @Test("XSD and Table Schema agree on names, order, types, requiredness and constraints", arguments: ExchangeType.allCases)
    func bindingsAgree(type: ExchangeType) throws {
        let xsd = try readXSD(
            try String(contentsOf: Repository.schemas.appendingPathComponent("\(type.code).xsd"), encoding: .utf8),
            recordElement: type.xmlRecordElement)
        let table = try TableSchema(
            json: Array(try Data(contentsOf: Repository.schemas.appendingPathComponent("\(type.code).schema.json"))))
        #expect(xsd.recordFields.map(\.name) == table.fields.map { $0.name.prefix(1).uppercased() + $0.name.dropFirst() })
        for (element, field) in zip(xsd.recordFields, table.fields) {
            let constraints = field.constraints
            #expect(element.base == compatibleTypes[field.type], "\(type.code).\(field.name) type")
            #expect(element.required == constraints.required, "\(type.code).\(field.name) required")
            #expect(element.patterns == (constraints.pattern.map { [$0] } ?? []), "\(type.code).\(field.name) pattern")
            #expect(element.enumeration == (constraints.enum?.map(\.text) ?? []), "\(type.code).\(field.name) enum")
            #expect(element.minLength == constraints.minLength, "\(type.code).\(field.name) minLength")
            #expect(element.maxLength == constraints.maxLength, "\(type.code).\(field.name) maxLength")
            #expect(element.minimum == decimal(constraints.minimum), "\(type.code).\(field.name) minimum")
            #expect(element.maximum == decimal(constraints.maximum), "\(type.code).\(field.name) maximum")
        }
        #expect(xsd.uniqueFields == table.primaryKey.map { $0.prefix(1).uppercased() + $0.dropFirst() })
    }

    @Test("the schemas compiled into ktsx are the files under Schemas/", arguments: ExchangeType.allCases)
    func embeddedCopiesMatchFiles(type: ExchangeType) throws {
        let xsd = try String(contentsOf: Repository.schemas.appendingPathComponent("\(type.code).xsd"), encoding: .utf8)
        let json = try String(
            contentsOf: Repository.schemas.appendingPathComponent("\(type.code).schema.json"), encoding: .utf8)
        #expect(SchemaCatalog.xsdText(for: type) == xsd)
        #expect(SchemaCatalog.tableSchemaText(for: type) == json)
    }

    @Test("the examples compiled into ktsx (for the demo) are the files under Schemas/examples/")
    func embeddedExamplesMatchFiles() throws {
        let files = Repository.exampleFiles(extensions: ["xml", "csv"])
        // One example per type partners send, in each binding.
        #expect(Set(files.map(\.lastPathComponent)) == Set(ExchangeType.partnerTypes.flatMap { ["\($0.code).example.xml", "\($0.code).example.csv"] }))
        #expect(Set(SchemaCatalog.examples.keys) == Set(files.map(\.lastPathComponent)))
        for file in files {
            #expect(SchemaCatalog.examples[file.lastPathComponent] == (try String(contentsOf: file, encoding: .utf8)))
        }
    }

    @Test("every bundled XSD compiles and every Table Schema loads with supported patterns")
    func everySchemaCompiles() throws {
        _ = try FileValidator()
        for type in ExchangeType.allCases {
            let schema = try #require(SchemaCatalog.tableSchemas[type])
            for field in schema.fields {
                if let pattern = field.constraints.pattern { _ = try PatternMatcher(pattern) }
            }
        }
    }

    @Test("student-data fields are flagged so that messages never repeat them")
    func studentData() {
        #expect(SchemaCatalog.studentDataFields.isSuperset(of: ["ssid", "lastName", "firstName", "middleName", "birthDate"]))
        #expect(!SchemaCatalog.studentDataFields.contains("recordId"))
    }

    @Test("each partner type's descriptor names fields of its schema (all required but key fields), and only the types partners send have one",
          arguments: ExchangeType.allCases)
    func descriptorNamesSchemaFields(type: ExchangeType) throws {
        guard let descriptor = type.descriptor else {
            #expect(!ExchangeType.partnerTypes.contains(type))
            return
        }
        #expect(ExchangeType.partnerTypes.contains(type))
        #expect(descriptor.type == type)
        let schema = try #require(SchemaCatalog.tableSchemas[type])
        let required = Set(schema.fields.filter(\.constraints.required).map(\.name))
        let fields = Set(schema.fields.map(\.name))
        // A key field may be empty (a DAY attendance record has no section or period); the others may not.
        for field in descriptor.keyFields {
            #expect(fields.contains(field), "\(type.code): \(field) is not a field of the schema")
        }
        let named = [descriptor.senderField, descriptor.centerField, descriptor.yearField]
            + [descriptor.receiverField, descriptor.dateField].compactMap { $0 }
        for field in named {
            #expect(required.contains(field), "\(type.code): \(field) is not a required field of the schema")
        }
        #expect(descriptor.output.descriptor == nil || descriptor.output == type, "\(type.code) is carried by a file partners send")
    }
}
