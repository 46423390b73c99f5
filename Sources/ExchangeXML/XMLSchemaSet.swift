import CLibXML2
import ExchangeCore
import Foundation

/// A schema that failed to compile: a defect in the bundled schemas, never in a partner's file.
public struct SchemaCompilationError: Error, CustomStringConvertible, Sendable {
    /// The type whose schema failed.
    public var type: ExchangeType
    /// libxml2's messages.
    public var messages: [String]
    /// A one-line description.
    public var description: String { "the \(type.code) schema does not compile: \(messages.joined(separator: "; "))" }
}

/// The compiled XSD of every exchange type, compiled once at start-up and shared read-only by all
/// validations (each validation has its own validation context and parser).
public final class XMLSchemaSet: @unchecked Sendable {
    // Sendable: the compiled schemas are never written after init (libxml2 2.9-2.15 validation only
    // reads them; see the research notes), and each validation creates its own context.
    private let schemas: [ExchangeType: xmlSchemaPtr]
    /// The same schemas compiled for the fast path, for the types whose XSD it can read whole.
    private let fastSchemas: [ExchangeType: FastSchema]

    /// Whether the uniqueness of `RecordId` among a file's records is checked by the parser's callbacks
    /// instead of by the schema's `xs:unique`.
    public let checksRecordIdsOutsideSchema: Bool

    /// Compiles the given XSD texts.
    /// - Parameter checkRecordIdsOutsideSchema: Remove the `xs:unique` identity constraints before
    ///   compiling, and let the validator check `RecordId` uniqueness itself, with the same verdict and
    ///   line. libxml2's identity-constraint machinery runs on every element and keeps every key in a
    ///   tree: on a 100 MB attendance file it cost 40% of the time and 57 MB of memory (BENCHMARKS.md).
    /// - Throws: `SchemaCompilationError` when a text is not a valid, self-contained XSD.
    public init(xsdTexts: [ExchangeType: String], checkRecordIdsOutsideSchema: Bool = true) throws {
        checksRecordIdsOutsideSchema = checkRecordIdsOutsideSchema
        _ = LibXML2Setup.once
        var compiled: [ExchangeType: xmlSchemaPtr] = [:]
        var fast: [ExchangeType: FastSchema] = [:]
        do {
            for (type, text) in xsdTexts.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                let source = checkRecordIdsOutsideSchema ? XMLSchemaSet.removingIdentityConstraints(text) : text
                compiled[type] = try XMLSchemaSet.compile(type: type, text: source)
                // The fast path leaves identity constraints to the callbacks, so only when they check them.
                if checkRecordIdsOutsideSchema { fast[type] = FastSchema.compile(xsdText: text) }
            }
        } catch {
            for schema in compiled.values { xmlSchemaFree(schema) }
            throw error
        }
        schemas = compiled
        fastSchemas = fast
    }

    deinit {
        for schema in schemas.values { xmlSchemaFree(schema) }
    }

    /// The types this set can validate.
    public var types: Set<ExchangeType> { Set(schemas.keys) }

    /// The compiled schema (`xmlSchemaPtr`) for `type`.
    func schema(for type: ExchangeType) -> xmlSchemaPtr? { schemas[type] }

    /// The fast path's form of `type`'s schema, if it has one.
    func fastSchema(for type: ExchangeType) -> FastSchema? { fastSchemas[type] }

    /// The types whose documents the fast path can vouch for (see `XMLSchemaCheck.fastPath`).
    public var typesWithFastPath: Set<ExchangeType> { Set(fastSchemas.keys) }

    /// `text` without its `<xs:unique>` … `</xs:unique>` blocks (the bundled schemas declare one, on
    /// `RecordId`).
    static func removingIdentityConstraints(_ text: String) -> String {
        var result = ""
        var rest = Substring(text)
        while let start = rest.range(of: "<xs:unique"), let end = rest[start.upperBound...].range(of: "</xs:unique>") {
            result += rest[..<start.lowerBound]
            rest = rest[end.upperBound...]
        }
        return result + rest
    }

    private static func compile(type: ExchangeType, text: String) throws -> xmlSchemaPtr {
        let collector = MessageCollector()
        let parserContext: OpaquePointer? = text.withCString { bytes in
            xmlSchemaNewMemParserCtxt(bytes, Int32(text.utf8.count))
        }
        guard let parserContext else { throw SchemaCompilationError(type: type, messages: ["out of memory"]) }
        defer { xmlSchemaFreeParserCtxt(parserContext) }
        let unmanaged = Unmanaged.passRetained(collector)
        defer { unmanaged.release() }
        xmlSchemaSetParserStructuredErrors(
            parserContext,
            { context, error in
                guard let context, let error else { return }
                Unmanaged<MessageCollector>.fromOpaque(context).takeUnretainedValue().add(error.pointee)
            }, unmanaged.toOpaque())
        guard let schema = xmlSchemaParse(parserContext) else {
            throw SchemaCompilationError(type: type, messages: collector.messages)
        }
        return schema
    }
}

/// Gathers libxml2 messages while a schema compiles.
private final class MessageCollector {
    var messages: [String] = []
    func add(_ error: xmlError) {
        if let message = error.message {
            messages.append(String(cString: message).trimmingTrailingNewlines())
        }
    }
}

extension String {
    /// The string without the newline libxml2 puts at the end of every message.
    func trimmingTrailingNewlines() -> String {
        var result = Substring(self)
        while let last = result.last, last.isNewline { result = result.dropLast() }
        return String(result)
    }
}
