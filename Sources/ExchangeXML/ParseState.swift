import CLibXML2
import ExchangeCore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The state one document's SAX callbacks share: issues, the element path, the record count.
///
/// libxml2 hands `Unmanaged<ParseState>` back to every callback as the user pointer.
final class ParseState {
    struct Root {
        var localName: String
        var namespace: String?
        var line: Int
    }

    /// One open element: its interned name, its position among same-named siblings, and its start line.
    struct OpenElement {
        var name: UnsafePointer<xmlChar>
        var index: Int
        /// The line of the start tag (where xmllint, building a tree, reports the element's errors).
        var line: Int
    }

    let fileName: String
    let fieldGuide: FieldGuide
    let limits: XMLLimits
    var issues: IssueCollector
    var parser: xmlParserCtxtPtr?
    var stopped = false
    /// The line of the fatal error the parse stopped on, if it did.
    private(set) var brokenAt: Int?
    var sniffing = true
    var root: Root?
    var type: ExchangeType?
    var recordCount = 0

    private var stack: [OpenElement] = []
    /// How many children of each name the root has had (names are interned by the parser's dictionary,
    /// so pointers compare). Only the root's children repeat in a valid file: the records.
    private var rootChildCounts: [(name: UnsafePointer<xmlChar>, count: Int)] = []
    /// Whether the open depth-2 element is the Header.
    private var inHeader = false
    private var pendingPops = 0
    private var recordElement: [CChar] = []
    private var textBytes = 0
    /// Whether record ids must be unique (the XSD's `xs:unique`, checked here instead of by libxml2:
    /// see `XMLDocumentValidator`).
    let checksRecordIds: Bool
    private var seenRecordIds: SeenKeys
    private var capturingRecordId = false
    private var recordIdOverflow = false
    private var recordId: [UInt8] = []
    private var issuesBeforeRecordId = 0
    private var recordIdAwaitingVerdict = false
    /// The RecordId of the record being read, once its element ended (when it looks like one: letters,
    /// digits and hyphens), given to the record's later issues as their record key.
    private var currentRecordKey: String?
    /// The record's RecordId once it passed its type, checked against the others when the record ends.
    private var recordIdToCheck: [UInt8]?
    private var inRecord = false
    /// Record fields (UpperCamelCase element names → logical names) whose values `onRecord` receives.
    var capturedElements: [String: String] = [:]
    var onRecord: RecordFactsHandler?
    /// The fast path's check of the schema, when it runs instead of libxml2's validator (owned by the
    /// validating parser, which outlives every event; not retained here, as every event reads it).
    unowned(unsafe) var fastCheck: FastSchemaCheck?
    private var capturingField: String?
    private var fieldText: [UInt8] = []
    private var recordValues: [String: String] = [:]
    /// The Header child whose text is being captured, and the values captured so far (SenderOrgId,
    /// SchoolYear, RecordCount, ...), each cut at 128 bytes.
    private var capturingHeaderField: String?
    private var headerText: [UInt8] = []
    private(set) var headerValues: [String: String] = [:]
    private var lastSchemaIssue: (line: Int, path: String?)?

    init(
        fileName: String, fieldGuide: FieldGuide, checksRecordIds: Bool, issueLimit: Int, limits: XMLLimits,
        keySpilling: KeySpilling? = nil
    ) {
        self.fileName = fileName
        seenRecordIds = SeenKeys(spilling: keySpilling)
        self.checksRecordIds = checksRecordIds
        self.fieldGuide = fieldGuide
        self.limits = limits
        self.issues = IssueCollector(limit: issueLimit)
    }

    /// Clears what the sniffing parser left behind before the validating parser replays the bytes.
    func resetForValidation(recordElement name: String) {
        sniffing = false
        stack = []
        pendingPops = 0
        recordElement = Array(name.utf8CString)
    }

    // MARK: Parser set-up

    /// A push parser whose SAX handler builds no tree and calls back into this state.
    func makeParser(sniffing: Bool) -> xmlParserCtxtPtr? {
        var handler = xmlSAXHandler()
        handler.initialized = UInt32(XML_SAX2_MAGIC)
        handler.internalSubset = { userData, name, _, _ in
            let isWebPage = name.map { String(cString: $0).lowercased() == "html" } ?? false
            ParseState.from(userData)?.refuseDoctype(webPage: isWebPage)
        }
        handler.startElementNs = { userData, localName, _, uri, _, _, attributes, _, _ in
            guard let localName else { return }
            ParseState.from(userData)?.startElement(localName, uri: uri, attributes: Int(attributes))
        }
        handler.endElementNs = { userData, _, _, _ in
            ParseState.from(userData)?.endElement()
        }
        handler.characters = { userData, characters, length in
            ParseState.from(userData)?.text(characters, length: Int(length))
        }
        // A CDATA section is text like any other (libxml2's validator takes it as such).
        handler.cdataBlock = { userData, characters, length in
            ParseState.from(userData)?.text(characters, length: Int(length), cdata: true)
        }
        let context = xmlCreatePushParserCtxt(
            &handler, Unmanaged.passUnretained(self).toOpaque(), nil, 0, fileName)
        guard let context else { return nil }
        let options = XML_PARSE_NONET.rawValue | XML_PARSE_BIG_LINES.rawValue | XML_PARSE_COMPACT.rawValue
        xmlCtxtUseOptions(context, Int32(options))
        if sniffing { parser = context }
        return context
    }

    /// Feeds bytes to `context` with this state's error handler installed for the thread.
    func parse(_ context: xmlParserCtxtPtr?, _ bytes: UnsafeRawBufferPointer, terminate: Bool) {
        guard let context, !stopped else { return }
        parser = context
        let savedHandler = ktsx_xml_saved_error_func()
        let savedContext = ktsx_xml_saved_error_context()
        xmlSetStructuredErrorFunc(Unmanaged.passUnretained(self).toOpaque()) { userData, error in
            guard let error else { return }
            ParseState.from(userData)?.record(error.pointee)
        }
        defer { xmlSetStructuredErrorFunc(savedContext, savedHandler) }
        let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self)
        var offset = 0
        repeat {
            // Small slices, so that a stop requested from a callback takes effect soon.
            let size = min(bytes.count - offset, ParseState.sliceSize)
            let last = terminate && offset + size == bytes.count
            xmlParseChunk(context, base.map { $0 + offset }, Int32(size), last ? 1 : 0)
            offset += size
            if haltRequested {
                // Outside any callback, so nothing downstream still reads the parser's buffers.
                xmlStopParser(context)
                stopped = true
            }
        } while offset < bytes.count && !stopped && ktsx_xml_is_stopped(context) == 0
        if ktsx_xml_is_stopped(context) != 0 { stopped = true }
    }

    /// Bytes handed to `xmlParseChunk` at a time.
    static let sliceSize = 64 * 1024

    static func from(_ pointer: UnsafeMutableRawPointer?) -> ParseState? {
        guard let pointer else { return nil }
        return Unmanaged<ParseState>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// Set by a callback that wants parsing to end; honoured between slices.
    private var haltRequested = false
    /// Whether reading stopped at a limit or a refused construct (a DOCTYPE), the rest of the file unread.
    private var stoppedAtALimit = false
    /// Elements no exchange file has, reported once each (at their first place).
    private var unknownElementsReported: Set<String> = []

    /// Ends parsing. The sniffing parser has nothing plugged in and stops at once; the validating
    /// parser's callbacks run before the schema validator's, which would still read buffers that
    /// `xmlStopParser` frees (libxml2 2.9), so it stops after the current slice instead.
    private func stop() {
        // The rest of the slice still reaches libxml2's validator, never the fast path: leave it to libxml2.
        fastCheck?.doubt()
        if sniffing {
            stopped = true
            if let parser { xmlStopParser(parser) }
        } else {
            haltRequested = true
        }
    }

    private var currentLine: Int { Int(ktsx_xml_current_line(parser)) }

    /// A limit in words: "1 million", "64 thousand".
    static func inWords(_ count: Int) -> String {
        count >= 1_000_000 ? "\(count / 1_000_000) million" : count >= 1_000 ? "\(count / 1_000) thousand" : "\(count)"
    }

    // MARK: SAX events

    /// - Parameter webPage: The declaration is HTML's (`<!DOCTYPE html>`): the file is a web page.
    private func refuseDoctype(webPage: Bool) {
        issues.add(
            ValidationIssue(
                code: .doctypeForbidden,
                message: webPage
                    ? "The file is a web page (perhaps an error page, or a page saved from a browser), not an exchange file. "
                        + "Export the file again from your student system and send that."
                    : "The file has a <!DOCTYPE> declaration. KTS Exchange files must not declare a DOCTYPE, "
                        + "entities or a DTD; remove it and send the file again.",
                line: currentLine))
        stoppedAtALimit = true
        stop()
    }

    private func startElement(_ localName: UnsafePointer<xmlChar>, uri: UnsafePointer<xmlChar>?, attributes: Int) {
        guard !haltRequested else { return }
        applyPendingPops()
        fastCheck?.start(localName, uri: uri, attributes: attributes)
        if sniffing {
            root = Root(
                localName: String(cString: localName), namespace: uri.map { String(cString: $0) },
                line: currentLine)
            stop()
            return
        }
        let depth = stack.count + 1
        if depth > limits.maxDepth {
            issues.add(
                ValidationIssue(
                    code: .nestingTooDeep,
                    message: "Elements are nested more than \(limits.maxDepth) levels deep, where an exchange file nests three "
                        + "(file, record, field): this is not an export of the exchange format. Export the file again from your "
                        + "student system and send that.", line: currentLine, path: path()))
            stoppedAtALimit = true
            stop()
            return
        }
        var index = 1
        let name = UnsafeRawPointer(localName).assumingMemoryBound(to: CChar.self)
        if depth == 2 {
            if let slot = rootChildCounts.firstIndex(where: { $0.name == localName }) {
                rootChildCounts[slot].count += 1
                index = rootChildCounts[slot].count
            } else {
                rootChildCounts.append((localName, 1))
            }
            inRecord = strcmp(name, recordElement) == 0
            if inRecord { recordCount += 1 }
            inHeader = strcmp(name, "Header") == 0
        }
        stack.append(OpenElement(name: localName, index: index, line: currentLine))
        textBytes = 0
        capturingHeaderField = depth == 3 && inHeader ? String(cString: localName) : nil
        headerText.removeAll(keepingCapacity: true)
        if onRecord != nil, depth == 3, inRecord {
            capturingField = capturedElements[String(cString: localName)]
            fieldText.removeAll(keepingCapacity: true)
        } else if depth == 2 {
            recordValues = [:]
            currentRecordKey = nil
        }
        capturingRecordId = checksRecordIds && depth == 3 && inRecord && strcmp(name, "RecordId") == 0
        if capturingRecordId {
            recordId.removeAll(keepingCapacity: true)
            recordIdOverflow = false
            issuesBeforeRecordId = issues.total
        }
    }

    private func endElement() {
        // Elements that ended before this one have been checked by the validator by now.
        applyPendingPops()
        fastCheck?.end()
        // The schema validator checks this element's content after this callback returns; keep it on the
        // path until the next event so its errors name it.
        pendingPops += 1
        if let field = capturingField {
            let value = String(decoding: fieldText, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if !value.isEmpty { recordValues[field] = value }
            capturingField = nil
        } else if onRecord != nil, inRecord, stack.count - pendingPops == 1, let record = stack.last, let type {
            // The record ends.
            onRecord?(
                RecordFacts(
                    type: type, line: record.line, path: "/\(String(cString: stack[0].name))/\(String(cString: record.name))[\(record.index)]",
                    values: recordValues))
        }
        if let field = capturingHeaderField {
            headerValues[field] = String(decoding: headerText, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            capturingHeaderField = nil
        }
        if capturingRecordId {
            capturingRecordId = false
            recordIdAwaitingVerdict = !recordIdOverflow
            let key = String(decoding: recordId, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            currentRecordKey = recordIdOverflow ? nil : ValidationIssue.recordKey(from: Array(key.utf8))
        }
    }

    private func text(_ characters: UnsafePointer<xmlChar>?, length: Int, cdata: Bool = false) {
        guard !haltRequested else { return }
        applyPendingPops()
        if let fastCheck, let characters { fastCheck.characters(characters, count: length, cdata: cdata) }
        textBytes += length
        if capturingField != nil, let characters, fieldText.count < 8192 {
            fieldText.append(contentsOf: UnsafeBufferPointer(start: characters, count: min(length, 8192 - fieldText.count)))
        }
        if capturingHeaderField != nil, let characters, headerText.count < 128 {
            headerText.append(contentsOf: UnsafeBufferPointer(start: characters, count: min(length, 128 - headerText.count)))
        }
        if capturingRecordId, let characters {
            if recordId.count + length > 128 {
                recordIdOverflow = true
            } else {
                recordId.append(contentsOf: UnsafeBufferPointer(start: characters, count: length))
            }
        }
        if textBytes > limits.maxTextBytes {
            issues.add(
                ValidationIssue(
                    code: .schemaError,
                    message: "\(currentField().map { $0.prefix(1).uppercased() + $0.dropFirst() } ?? "An element") holds more than \(ParseState.inWords(limits.maxTextBytes)) "
                        + "characters, where no field of an exchange file holds more than a few hundred, so the file was read no "
                        + "further: most likely its end tag is missing or the export went wrong. Export the file again and send that.",
                    line: currentLine, path: path(), field: currentField()))
            stoppedAtALimit = true
            stop()
        }
    }

    /// Pops the elements whose end the validator has now processed, and settles record-id uniqueness for
    /// them.
    private func applyPendingPops() {
        guard pendingPops > 0 else { return }
        if recordIdAwaitingVerdict {
            recordIdAwaitingVerdict = false
            // Like libxml2's identity constraints, only a value that passed its type counts as a key.
            if issues.total == issuesBeforeRecordId, stack.count >= 2 { recordIdToCheck = recordId }
        }
        let popping = min(pendingPops, stack.count)
        if let key = recordIdToCheck, stack.count - popping < 2, stack.count >= 2 {
            // The record has ended and its own errors are reported; a duplicate comes last, on the
            // record's start tag, as libxml2 reports an identity-constraint violation.
            recordIdToCheck = nil
            let record = stack[1]
            let repeated = key.withUnsafeBytes {
                seenRecordIds.insert($0, row: record.index, line: record.line, order: issues.total)
            }
            if repeated != nil { issues.add(duplicateRecordIdIssue(line: record.line, index: record.index)) }
        }
        stack.removeLast(popping)
        pendingPops = 0
    }

    /// Settles what the last events left pending; call after the final chunk.
    func finishEvents() {
        applyPendingPops()
    }

    /// Settles the record ids that moved to a spill (a file with millions of records): their repeats join
    /// the issues where they belong. Call once, after the last event.
    func finishRecordIds() {
        do throws(KeySpillError) {
            let late = try seenRecordIds.lateRepeats(keeping: issues.limit)
            issues.insertLate(
                late.first.map { ($0.order, duplicateRecordIdIssue(line: $0.line, index: $0.row)) },
                alsoFound: late.total - late.first.count)
        } catch {
            issues.add(SeenKeys.unsettledIssue(error, field: "recordId"))
        }
    }

    private func duplicateRecordIdIssue(line: Int, index: Int) -> ValidationIssue {
        let recordName = recordElement.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return ValidationIssue(
            code: .uniqueError,
            message: SchemaMessage.duplicateRecordId,
            line: line, path: "/\(root?.localName ?? "")/\(recordName)[\(index)]/RecordId", field: "recordId")
    }

    // MARK: Errors

    /// The element path of the element being parsed, e.g. `/KtsxAttendanceFile/Attendance[3]/ExcuseStatus`.
    func path() -> String? {
        guard !stack.isEmpty else { return nil }
        var result = ""
        // No exchange file nests deeper than a record's fields: a deeper "element" is made of a value (a
        // < inside a name), so its name is never repeated.
        for (depth, element) in stack.prefix(3).enumerated() {
            result += "/" + String(cString: element.name)
            if depth == 1 { result += "[\(element.index)]" }
        }
        return result
    }

    private func currentField() -> String? {
        guard stack.count >= 3, let last = stack.last else { return nil }
        return lowerCamel(String(cString: last.name))
    }

    /// Turns a libxml2 error into an issue a clerk can read.
    func record(_ error: xmlError) {
        guard error.level.rawValue >= XML_ERR_ERROR.rawValue else { return }
        // libxml2 appends byte dumps on further lines; the first line is the message.
        let raw = error.message.map { String(cString: $0).split(separator: "\n").first.map(String.init) ?? "" }
            ?? "unknown error"
        if error.domain == Int32(XML_FROM_SCHEMASV.rawValue) {
            // Errors found at an end tag (missing children, duplicate keys) are placed on the element's
            // start tag, as libxml2 2.12+ and xmllint's tree mode do.
            let line = stack.last?.line ?? (error.line > 0 ? Int(error.line) : currentLine)
            var issue = SchemaMessage.issue(code: Int(error.code), raw: raw, line: line, path: path(), type: type, guide: fieldGuide)
            if issue.field != "recordId" { issue.recordKey = currentRecordKey }
            // An element no exchange file has comes in every record its export writes: said once.
            if let name = SchemaMessage.unknownElement(code: Int(error.code), raw: raw, guide: fieldGuide),
                !unknownElementsReported.insert(name).inserted
            {
                return
            }
            // libxml2 follows a facet error with a second, vaguer "not a valid value" error for the same
            // value; one is enough for a clerk.
            if issue.code == .typeError, let last = lastSchemaIssue, last.line == line, last.path == issue.path {
                return
            }
            lastSchemaIssue = issue.code == .constraintError ? (line, issue.path) : nil
            issues.add(issue)
        } else {
            let line = error.line > 0 ? Int(error.line) : currentLine
            let column = error.int2 > 0 ? Int(error.int2) : nil
            // The first fatal error is the cause; libxml2 may add more about the same place.
            guard brokenAt == nil else { return }
            // A start tag the file ends inside reached the schema validator as an element first: its
            // "not allowed here" only follows from the cut.
            if raw.hasPrefix("Couldn't find end of Start Tag") {
                issues.withdrawLast { [.unexpectedElement, .missingElement].contains($0.code) && $0.line == line }
            }
            let encoding =
                [XML_ERR_INVALID_ENCODING, XML_ERR_UNKNOWN_ENCODING, XML_ERR_UNSUPPORTED_ENCODING]
                .map { Int32($0.rawValue) }.contains(error.code) || raw.contains("not proper UTF-8")
            issues.add(
                ValidationIssue(
                    code: encoding ? .encodingError : .notWellFormed,
                    message: encoding
                        ? "The file is not valid UTF-8 at this point. KTS Exchange files must be UTF-8; save the "
                            + "file as UTF-8 and send it again."
                        : NotWellFormedMessage.text(
                            raw: raw, unclosed: unclosedElement(), elementNames: fieldGuide.elementNames, sawRoot: root != nil),
                    line: line, column: column, path: sniffing ? nil : path()))
            stopped = true
            brokenAt = line
        }
    }

    /// The innermost element still open (its name and the line of its start tag), if any.
    private func unclosedElement() -> (name: String, line: Int)? {
        let open = stack.count - pendingPops
        guard open > 0 else { return nil }
        return (String(cString: stack[open - 1].name), stack[open - 1].line)
    }

    /// Compares the header's RecordCount with the records found (not in a file read no further than a
    /// fatal error: its count would only repeat that).
    func checkRecordCount() {
        // A file read no further (broken, or stopped at a limit) holds records that were not counted.
        guard brokenAt == nil, !stoppedAtALimit, type?.hasXMLHeader == true, let text = headerValues["RecordCount"] else { return }
        guard let declared = Int(text), declared != recordCount else { return }
        issues.add(
            ValidationIssue(
                code: .recordCountMismatch,
                message: "The header's RecordCount is \(declared) but the file holds \(recordCount) "
                    + "\(type?.xmlRecordElement ?? "record") element\(recordCount == 1 ? "" : "s").",
                path: "/\(type?.xmlRootElement ?? "")/Header/RecordCount", field: "recordCount"))
    }
}

/// `RecordId` → `recordId`.
func lowerCamel(_ name: String) -> String {
    guard let first = name.first else { return name }
    return first.lowercased() + name.dropFirst()
}

