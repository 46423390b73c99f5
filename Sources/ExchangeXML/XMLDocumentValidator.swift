import CLibXML2
import ExchangeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the XML path found in one document.
public struct XMLVerdict: Sendable {
    /// The type named by the root element, when it is one of ours.
    public var type: ExchangeType?
    /// Record elements seen under the root.
    public var recordCount: Int
    /// The errors found.
    public var issues: IssueCollector
    /// The text of the Header's fields, by element name (`SenderOrgId`, `SchoolYear`, `RecordCount`, ...).
    public var header: [String: String] = [:]
    /// Whether the fast path could not vouch for the document: its verdict is then libxml2's, and the
    /// same bytes must be validated again with `XMLSchemaCheck.libxml2` (this verdict's issues are not
    /// the whole story).
    public var needsLibxml2Validation = false
}

/// How a document's schema is checked.
public enum XMLSchemaCheck: Sendable {
    /// libxml2's validator plugged into the parse: the verdicts and messages partners see.
    case libxml2
    /// The fast path, where the type has one (`XMLSchemaSet.typesWithFastPath`): the same parse without
    /// libxml2's validator, checking elements and values against our schema's few constructs. It vouches
    /// for valid documents only; for any other, `XMLVerdict.needsLibxml2Validation` is set and the
    /// document must be judged again with `.libxml2`. A type without a fast path is judged with `.libxml2`
    /// at once.
    case fastPath
}

/// Limits that keep a hostile document from costing more than a real one.
public struct XMLLimits: Sendable {
    /// Deepest element nesting accepted; exchange files nest three levels.
    public var maxDepth = 32
    /// Longest text accepted inside one element; the longest field allows 2,000 characters.
    public var maxTextBytes = 1 << 20
    /// How far into the file the root element must have started.
    public var maxPrologBytes = 1 << 20
    /// Creates the default limits.
    public init() {}
}

/// Judges one XML document against the bundled schema of its type, streaming: libxml2's push parser
/// with the schema validator plugged into its SAX stream, no tree, constant memory.
///
/// Feed the bytes in chunks, then call `finish()`. The root element is found first by a small sniffing
/// parser (buffering at most `XMLLimits.maxPrologBytes`), which chooses the schema; the bytes are then
/// replayed into the validating parser. A DOCTYPE stops either parser at once: no entity is declared
/// or expanded and nothing outside the document is loaded.
public final class XMLDocumentValidator {
    private let schemas: XMLSchemaSet
    private let state: ParseState
    private var sniffer: xmlParserCtxtPtr?
    private var prolog: [UInt8] = []
    private var validator: ValidatingParser?
    private var checkedEncoding = false
    private let schemaCheck: XMLSchemaCheck

    /// Prepares to judge one document.
    /// - Parameters:
    ///   - schemas: The compiled schemas.
    ///   - fileName: The name used in libxml2's messages.
    ///   - fieldGuide: Which fields hold student data (never shown in a message) and their expected forms.
    ///   - issueLimit: How many issues to keep.
    ///   - limits: Depth and size limits.
    ///   - capturing: Record fields (logical names) whose values `onRecord` receives.
    ///   - onRecord: Called with each record's facts when the record ends.
    ///   - keySpilling: Where the record ids of a file with millions of records go once they outgrow memory
    ///     (see `SeenKeys`); without one they all stay in memory.
    ///   - schemaCheck: libxml2's validator, or the fast path first.
    public init(
        schemas: XMLSchemaSet, fileName: String, fieldGuide: FieldGuide,
        issueLimit: Int = IssueCollector.defaultLimit, limits: XMLLimits = XMLLimits(),
        capturing: Set<String> = [], onRecord: RecordFactsHandler? = nil, keySpilling: KeySpilling? = nil,
        schemaCheck: XMLSchemaCheck = .libxml2
    ) {
        _ = LibXML2Setup.once
        self.schemas = schemas
        self.schemaCheck = schemaCheck
        self.state = ParseState(
            fileName: fileName, fieldGuide: fieldGuide,
            checksRecordIds: schemas.checksRecordIdsOutsideSchema, issueLimit: issueLimit, limits: limits,
            keySpilling: keySpilling)
        state.onRecord = onRecord
        state.capturedElements = Dictionary(
            uniqueKeysWithValues: capturing.map { ($0.prefix(1).uppercased() + $0.dropFirst(), $0) })
        self.sniffer = state.makeParser(sniffing: true)
    }

    deinit {
        if let sniffer { xmlFreeParserCtxt(sniffer) }
    }

    /// Whether more bytes can change the verdict; false once parsing stopped on a fatal error.
    public var wantsMoreInput: Bool { !state.stopped }

    /// Parses the next chunk of the document.
    public func feed(_ bytes: UnsafeRawBufferPointer) {
        guard !state.stopped, !bytes.isEmpty else { return }
        if !checkedEncoding {
            checkedEncoding = true
            if let issue = EncodingCheck.xmlEncodingIssue(prefix: bytes) {
                state.issues.add(issue)
                state.stopped = true
                return
            }
        }
        if let validator {
            validator.parse(bytes, terminate: false)
            return
        }
        prolog.append(contentsOf: bytes)
        state.parse(sniffer, bytes, terminate: false)
        startValidatingIfRootFound()
        if validator == nil, !state.stopped, prolog.count > state.limits.maxPrologBytes {
            state.issues.add(
                ValidationIssue(
                    code: .notWellFormed,
                    message: "The file's first \(ParseState.inWords(state.limits.maxPrologBytes)) characters hold no element of an "
                        + "exchange file (only a declaration, comments or other text before it), so it is not an export of the "
                        + "exchange format. Export the file again from your student system and send that.",
                    line: 1))
            state.stopped = true
        }
    }

    /// Ends the document and returns the verdict.
    public func finish() -> XMLVerdict {
        if !state.stopped {
            if let validator {
                validator.parse(UnsafeRawBufferPointer(start: nil, count: 0), terminate: true)
            } else {
                state.parse(sniffer, UnsafeRawBufferPointer(start: nil, count: 0), terminate: true)
                startValidatingIfRootFound()
                validator?.parse(UnsafeRawBufferPointer(start: nil, count: 0), terminate: true)
            }
        }
        if state.root == nil, state.issues.isEmpty {
            state.issues.add(
                ValidationIssue(code: .notWellFormed, message: "The file has no XML root element.", line: 1))
        }
        if let validator {
            state.finishEvents()
            validator.finish()
            state.finishRecordIds()
            state.checkRecordCount()
        }
        return XMLVerdict(
            type: state.type, recordCount: state.recordCount, issues: state.issues, header: state.headerValues,
            needsLibxml2Validation: validator?.fastCheck?.inDoubt ?? false)
    }

    private func startValidatingIfRootFound() {
        guard validator == nil, let root = state.root else { return }
        if let sniffer { xmlFreeParserCtxt(sniffer) }
        sniffer = nil
        guard root.namespace == ktsxNamespace, let type = ExchangeType(xmlRootElement: root.localName),
            let schema = schemas.schema(for: type)
        else {
            let known = ExchangeType.partnerTypes.map(\.xmlRootElement).joined(separator: ", ")
            let ours = ExchangeType(xmlRootElement: root.localName) != nil
            let message: String
            if ours, let other = root.namespace, other.hasPrefix("urn:ky:kde:ktsx:") {
                // Our own root in another version's namespace: the export was written for another version.
                message = "The file is written for version \(other.dropFirst("urn:ky:kde:ktsx:".count)) of the exchange format; the "
                    + "exchange reads version 1.0 (namespace '\(ktsxNamespace)'). Ask your student system's vendor for the current export."
            } else if ours {
                // Our own root without the format's namespace (or in another one): not written to the format.
                message = "The file starts with \(root.localName) as an exchange file does, but does not say it follows the exchange "
                    + "format (its first element needs xmlns=\"\(ktsxNamespace)\"), so it was not read as one. Ask your student "
                    + "system's vendor for an export in the current format."
            } else if root.localName.lowercased() == "html" {
                message = "The file is a web page (perhaps an error page, or a page saved from a browser), not an exchange file. "
                    + "Export the file again from your student system and send that."
            } else {
                let nameLike = root.localName.wholeMatch(of: #/[A-Za-z][A-Za-z0-9_.\-]{0,39}/#) != nil
                let shownName = nameLike ? "'\(root.localName)'" : "another element"
                message = "The file is XML but not an exchange file: its first element is \(shownName), "
                    + "where an exchange file starts with one of \(known). Send the file your student system exports for the exchange."
            }
            state.issues.add(ValidationIssue(code: .unknownType, message: message, line: root.line))
            state.stopped = true
            return
        }
        state.type = type
        state.stopped = false
        state.resetForValidation(recordElement: type.xmlRecordElement)
        let fastSchema = schemaCheck == .fastPath ? schemas.fastSchema(for: type) : nil
        let parser = ValidatingParser(state: state, schema: schema, fastSchema: fastSchema)
        validator = parser
        prolog.withUnsafeBytes { parser.parse($0, terminate: false) }
        prolog = []
    }
}

/// The validating push parser: libxml2's validator plugged in, or the fast path's check beside it.
private final class ValidatingParser {
    let state: ParseState
    let context: OpaquePointer?
    let parser: xmlParserCtxtPtr?
    /// The fast path's check, when it runs instead of libxml2's validator.
    let fastCheck: FastSchemaCheck?
    var plug: OpaquePointer?
    /// The file name as a C string owned here, freed in `finish()`.
    let fileName: UnsafeMutablePointer<CChar>?

    init(state: ParseState, schema: xmlSchemaPtr, fastSchema: FastSchema?) {
        self.state = state
        parser = state.makeParser(sniffing: false)
        state.parser = parser
        if let fastSchema {
            fastCheck = FastSchemaCheck(schema: fastSchema)
            state.fastCheck = fastCheck
            context = nil
            fileName = nil
            return
        }
        fastCheck = nil
        fileName = strdup(state.fileName)
        context = xmlSchemaNewValidCtxt(schema)
        xmlSchemaSetValidStructuredErrors(
            context,
            { userData, error in
                guard let userData, let error else { return }
                Unmanaged<ParseState>.fromOpaque(userData).takeUnretainedValue().record(error.pointee)
            }, Unmanaged.passUnretained(state).toOpaque())
        // libxml2 keeps this pointer (it does not copy the name), so it must outlive the validation.
        xmlSchemaValidateSetFilename(context, fileName)
        if let parser {
            xmlSchemaValidateSetLocator(
                context,
                { userData, file, line in
                    // libxml2 reads both outputs whatever we return: set both, always.
                    file?.pointee = nil
                    line?.pointee = 0
                    guard let userData else { return -1 }
                    let parser = userData.assumingMemoryBound(to: xmlParserCtxt.self)
                    file?.pointee = ktsx_xml_current_file(parser)
                    line?.pointee = UInt(max(0, ktsx_xml_current_line(parser)))
                    return 0
                }, UnsafeMutableRawPointer(parser))
            plug = xmlSchemaSAXPlug(context, &parser.pointee.sax, &parser.pointee.userData)
        }
    }

    func parse(_ bytes: UnsafeRawBufferPointer, terminate: Bool) {
        state.parse(parser, bytes, terminate: terminate)
    }

    func finish() {
        if let context, state.issues.isEmpty, xmlSchemaIsValid(context) == 0 {
            state.issues.add(
                ValidationIssue(
                    code: .schemaError,
                    message: "The file does not follow the exchange format, but the check could not say where. Export it "
                        + "again from your student system; if this comes back, send the file to KTS support with this message."))
        }
        if let plug { xmlSchemaSAXUnplug(plug) }
        plug = nil
        if let parser { xmlFreeParserCtxt(parser) }
        state.parser = nil
        if let context { xmlSchemaFreeValidCtxt(context) }
        free(fileName)
    }
}
