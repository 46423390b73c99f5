import ExchangeCore
import ExchangeSchemas
import ExchangeTesting
import ExchangeXML
import Foundation
import Testing

/// Judges `text`, fed in chunks of `chunkSize` bytes as `FileValidator` feeds a file.
private func judge(_ text: String, schemas: XMLSchemaSet, chunkSize: Int = 256 * 1024) -> XMLVerdict {
    let validator = XMLDocumentValidator(
        schemas: schemas, fileName: "test.xml", fieldGuide: SchemaCatalog.fieldGuide)
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let end = min(bytes.count, offset + chunkSize)
        bytes[offset..<end].withUnsafeBytes { validator.feed($0) }
        offset = end
    }
    return validator.finish()
}

private func schemaSet(checkRecordIdsOutsideSchema: Bool) throws -> XMLSchemaSet {
    var texts: [ExchangeType: String] = [:]
    for type in ExchangeType.allCases { texts[type] = SchemaCatalog.xsdText(for: type) }
    return try XMLSchemaSet(xsdTexts: texts, checkRecordIdsOutsideSchema: checkRecordIdsOutsideSchema)
}

/// Variations of the waiver example around record ids.
private func recordIdCases() throws -> [String] {
    let example = try String(contentsOf: Repository.schemas.appendingPathComponent("examples/WVR.example.xml"), encoding: .utf8)
    let ids = example.components(separatedBy: "<RecordId>").dropFirst().compactMap { $0.components(separatedBy: "</RecordId>").first }
    guard ids.count == 3 else { return [] }
    return [
        example,
        example.replacingOccurrences(of: ids[1], with: ids[0]),  // a duplicate (also in PriorWaiverId)
        example.replacingOccurrences(of: ids[2], with: ids[0]),
        example.replacingOccurrences(of: ids[1], with: ids[0]).replacingOccurrences(of: ids[2], with: ids[0]),
        example.replacingOccurrences(of: ids[1], with: "not-a-uuid").replacingOccurrences(of: ids[0], with: "not-a-uuid"),
        example.replacingOccurrences(of: ids[1], with: " \(ids[0])"),
        example.replacingOccurrences(of: ids[1], with: ids[0])
            .replacingOccurrences(of: "<WaiverScope>FULL_EXCHANGE</WaiverScope>", with: "<WaiverScope>PART</WaiverScope>"),
        example.replacingOccurrences(of: ids[1], with: ids[0]).replacingOccurrences(of: "<CenterName>", with: "<CenterNam>")
            .replacingOccurrences(of: "</CenterName>", with: "</CenterNam>"),
        example.replacingOccurrences(of: "<RecordId>\(ids[1])</RecordId>", with: ""),
        example.replacingOccurrences(of: ids[0], with: ids[0].uppercased()),
    ]
}

@Suite("XML path")
struct XMLValidatorTests {
    @Test("RecordId uniqueness checked in the callbacks gives libxml2's identity-constraint verdicts and lines")
    func recordIdUniquenessMatchesLibxml2() throws {
        let ours = try schemaSet(checkRecordIdsOutsideSchema: true)
        let libxml2 = try schemaSet(checkRecordIdsOutsideSchema: false)
        let cases = try recordIdCases()
        #expect(cases.count == 10)
        for (index, text) in cases.enumerated() {
            let mine = judge(text, schemas: ours).issues.issues.map { "\($0.line ?? 0):\($0.code)" }
            // libxml2 adds an internal "No precomputed value" error for a key whose value failed its type.
            let theirs = judge(text, schemas: libxml2).issues.issues
                .filter { !$0.message.contains("precomputed value") }.map { "\($0.line ?? 0):\($0.code)" }
            #expect(mine == theirs, "case \(index)")
        }
    }

    @Test("the root element is found after a long prolog, and refused when it has not started within the first MiB")
    func longProlog() throws {
        let schemas = try schemaSet(checkRecordIdsOutsideSchema: true)
        let example = try String(contentsOf: Repository.schemas.appendingPathComponent("examples/WVR.example.xml"), encoding: .utf8)
        let comment = "<!-- " + String(repeating: "x", count: 500_000) + " -->\n"
        let withComment = example.replacingOccurrences(of: "<KtsxWaiverFile", with: comment + "<KtsxWaiverFile")
        #expect(judge(withComment, schemas: schemas).issues.isEmpty)
        let longComment = "<!-- " + String(repeating: "x", count: 2_000_000) + " -->\n"
        let tooLong = example.replacingOccurrences(of: "<KtsxWaiverFile", with: longComment + "<KtsxWaiverFile")
        let verdict = judge(tooLong, schemas: schemas)
        #expect(verdict.type == nil)
        #expect(verdict.issues.issues.first?.code == .notWellFormed)
    }

    @Test("element paths name the record by position and the field, and errors name the field")
    func paths() throws {
        let schemas = try schemaSet(checkRecordIdsOutsideSchema: true)
        let example = try String(contentsOf: Repository.schemas.appendingPathComponent("examples/WVR.example.xml"), encoding: .utf8)
        let parts = example.components(separatedBy: "<WaiverScope>FULL_EXCHANGE</WaiverScope>")
        let text = parts[0] + "<WaiverScope>FULL_EXCHANGE</WaiverScope>" + parts[1] + "<WaiverScope>PART</WaiverScope>"
            + parts.dropFirst(2).joined(separator: "<WaiverScope>FULL_EXCHANGE</WaiverScope>")
        let issue = try #require(judge(text, schemas: schemas).issues.issues.first)
        #expect(issue.path == "/KtsxWaiverFile/Waiver[2]/WaiverScope")
        #expect(issue.field == "waiverScope")
        #expect(issue.code == .constraintError)
        #expect(issue.message.contains("FULL_EXCHANGE"))
    }

    @Test("the same document fed in chunks of any size gets the same verdict", arguments: [1, 7, 4096, 1 << 20])
    func chunking(size: Int) throws {
        let schemas = try schemaSet(checkRecordIdsOutsideSchema: true)
        let file = Repository.fixtures.appendingPathComponent("invalid/att-excuse-code-xx.xml")
        let text = try String(contentsOf: file, encoding: .utf8)
        let chunked = judge(text, schemas: schemas, chunkSize: size).issues.issues
        let whole = judge(text, schemas: schemas, chunkSize: .max).issues.issues
        #expect(chunked.map(\.code) == whole.map(\.code))
        #expect(chunked.map(\.line) == whole.map(\.line))
        #expect(!whole.isEmpty)
    }
}
