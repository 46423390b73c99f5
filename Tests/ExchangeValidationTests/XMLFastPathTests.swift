import ExchangeCore
import ExchangeSchemas
import ExchangeTesting
import ExchangeValidation
import ExchangeXML
import Foundation
import Testing

private let validator = Result { try FileValidator(issueLimit: 100_000) }
private let schemas = Result {
    var texts: [ExchangeType: String] = [:]
    for type in ExchangeType.allCases { texts[type] = SchemaCatalog.xsdText(for: type) }
    return try XMLSchemaSet(xsdTexts: texts)
}

/// Whether the fast path alone vouches for `bytes` (no second reading by libxml2's validator); false also
/// for a document that never reached a schema (an unknown root, say).
private func fastPathVouches(_ bytes: [UInt8]) throws -> Bool {
    let document = XMLDocumentValidator(
        schemas: try schemas.get(), fileName: "mutant.xml", fieldGuide: SchemaCatalog.fieldGuide, schemaCheck: .fastPath)
    bytes.withUnsafeBytes { document.feed($0) }
    let verdict = document.finish()
    return verdict.type != nil && !verdict.needsLibxml2Validation
}

private func xmlFixtures(_ folders: [String]) -> [URL] {
    folders.flatMap { Repository.fixtureFiles(in: $0, extensions: ["xml"]) } + Repository.exampleFiles(extensions: ["xml"])
}

/// SplitMix64: the same mutations on every run.
private struct Mutations {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next(_ bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }

    /// Values near the edges of what our types accept, and what a partner's system might write instead.
    static let values = [
        "", " ", "0", "1", "-1", "+1", "01", "-0", "1.", ".5", "1e3", "0.0", "999.99", "999.990", "999.991", "1000",
        "10", "10.0000000000000000001", "123456789012345678901", "2000", "2099", "2100", "1999",
        "true", "false", "TRUE", "yes", "2024-02-29", "2023-02-29", "2100-02-29", "2000-02-29", "0000-01-01",
        "9999-12-31", "2026-13-01", "2026-04-31", "2026-4-01", "2026-02-11Z", "24:00:00", "23:59:60", "23:59:59",
        "12:30:00Z", "12:30:00+14:00", "12:30:00-13:59", "12:30:00.5", "12:30:00.1234567891", "12:30",
        "2026-02-11T24:00:00", "2026-02-11T08:00:00+14:00", "2026-02-11T08:00:00.000Z", "2026-02-11T08:00:00-05:00",
        "2026-02-11 08:00:00", "061014", "06101", "0610145", "1234567890", "١٢٣٤٥٦", "add", "ADD", "update ",
        "DAY", "PERIOD", "A&amp;B", "&#48;61014", "<![CDATA[061014]]>", "06<!-- c -->1014", "Adams, Jr.", "José",
        String(repeating: "x", count: 61), String(repeating: "é", count: 60), String(repeating: "9", count: 2001),
        "5a170000-0000-0000-0000-00000000000g", "5A170000-0000-0000-0000-000000000001",
    ]

    /// A mutation of `text`: a leaf element's value replaced or changed, or the elements themselves
    /// moved, repeated, dropped, renamed or decorated.
    mutating func mutate(_ text: String) -> String {
        let leaves = text.matches(of: /<([A-Za-z]+)>([^<]*)<\/\1>/)
        guard !leaves.isEmpty else { return text }
        let leaf = leaves[next(leaves.count)]
        let (whole, name, value) = (String(leaf.output.0), String(leaf.output.1), String(leaf.output.2))
        let replacement: String
        switch next(14) {
        case 0...4: replacement = "<\(name)>\(Mutations.values[next(Mutations.values.count)])</\(name)>"
        case 5: replacement = "<\(name)> \(value)</\(name)>"
        case 6: replacement = ""
        case 7: replacement = whole + whole
        case 8: replacement = "<\(name) note=\"x\">\(value)</\(name)>"
        case 9: replacement = "<\(name) xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:nil=\"true\"/>"
        case 10: replacement = "<\(name)x>\(value)</\(name)x>"
        case 11: replacement = "<\(name) xmlns=\"urn:other\">\(value)</\(name)>"
        case 12: replacement = whole + "x"
        default: replacement = "<\(name)><Extra/>\(value)</\(name)>"
        }
        var result = text
        result.replaceSubrange(leaf.range, with: replacement)
        // Sometimes also swap this element with the one after it.
        if next(6) == 0, let after = leaves.first(where: { $0.range.lowerBound > leaf.range.lowerBound }) {
            var swapped = text
            swapped.replaceSubrange(after.range, with: whole)
            swapped.replaceSubrange(leaf.range, with: String(after.output.0))
            return swapped
        }
        return result
    }
}

/// The document cut after its first record (the header and one record hold every field name once).
private func firstRecordOnly(_ text: String) -> String {
    guard let header = text.range(of: "</Header>"),
        let recordEnd = text[header.upperBound...].firstMatch(of: /\n  <\/[A-Za-z]+>\n/),
        let rootEnd = text.firstMatch(of: /<\/Ktsx[A-Za-z]+>/)
    else { return text }
    return String(text[..<recordEnd.range.upperBound]) + rootEnd.output + "\n"
}

@Suite("XML fast path: vouches only for what libxml2 accepts")
struct XMLFastPathTests {
    @Test("every bundled schema has a fast path")
    func everySchemaCompiles() throws {
        #expect(try schemas.get().typesWithFastPath == Set(ExchangeType.allCases))
    }

    @Test("every valid fixture and example is vouched for by the fast path alone", arguments: xmlFixtures(["valid"]))
    func validFixturesVouched(file: URL) throws {
        let bytes = try Array(Data(contentsOf: file))
        let reference = try bytes.withUnsafeBytes {
            try validator.get().validate(bytes: $0, displayName: file.lastPathComponent, xmlSchemaCheck: .libxml2)
        }
        guard reference.issues.allSatisfy({ $0.code == .recordCountMismatch }) else { return }
        #expect(try fastPathVouches(bytes), "\(file.lastPathComponent)")
    }

    @Test(
        "mutations of every XML fixture: the report with the fast path first equals libxml2's alone, message for message",
        arguments: xmlFixtures(["valid", "invalid"]))
    func mutationsAgreeWithLibxml2(file: URL) throws {
        let text = try String(contentsOf: file, encoding: .utf8)
        var mutations = Mutations(seed: UInt64(truncatingIfNeeded: file.lastPathComponent.utf8.reduce(7) { $0 &* 31 &+ Int($1) }))
        var vouched = 0
        var notVouched = 0
        for round in 0..<150 {
            var mutant = mutations.mutate(text)
            if round % 3 == 0 { mutant = mutations.mutate(mutant) }
            let bytes = Array(mutant.utf8)
            let (fast, reference) = try bytes.withUnsafeBytes { raw in
                (
                    try validator.get().validate(bytes: raw, displayName: "mutant.xml", xmlSchemaCheck: .fastPath),
                    try validator.get().validate(bytes: raw, displayName: "mutant.xml", xmlSchemaCheck: .libxml2)
                )
            }
            #expect(fast == reference, "\(file.lastPathComponent) round \(round):\n\(mutant)")
            if try fastPathVouches(bytes) {
                vouched += 1
                // What libxml2's validator reports (uniqueness is checked beside the fast path, not by it).
                let schemaIssues = reference.issues.filter {
                    [.typeError, .constraintError, .missingElement, .unexpectedElement, .schemaError].contains($0.code)
                }
                #expect(schemaIssues.isEmpty, "vouched for an invalid document: \(schemaIssues.prefix(2))\n\(mutant)")
            } else {
                notVouched += 1
            }
        }
        // The mutations reach both sides of the line (an invalid fixture's mutants mostly stay invalid).
        let startsValid = file.pathComponents.contains("invalid") == false
        #expect((vouched > 0 || !startsValid) && notVouched > 0, "\(file.lastPathComponent): vouched \(vouched), notVouched \(notVouched)")
    }

    @Test("every field of every type with every edge value: vouched only where libxml2 accepts")
    func everyFieldEveryEdgeValue() throws {
        var vouched = 0
        var acceptedByLibxml2 = 0
        var seen: Set<String> = []
        for file in xmlFixtures(["valid"]) {
            let text = try firstRecordOnly(String(contentsOf: file, encoding: .utf8))
            for leaf in text.matches(of: /<([A-Za-z]+)>([^<]*)<\/\1>/) {
                let name = String(leaf.output.1)
                let root = text.firstMatch(of: /<(Ktsx[A-Za-z]+)/).map { String($0.output.1) } ?? ""
                guard seen.insert("\(root)/\(name)").inserted else { continue }
                for value in Mutations.values + [String(leaf.output.2)] {
                    var mutant = text
                    mutant.replaceSubrange(leaf.range, with: "<\(name)>\(value)</\(name)>")
                    let bytes = Array(mutant.utf8)
                    let reference = try bytes.withUnsafeBytes {
                        try validator.get().validate(bytes: $0, displayName: "edge.xml", xmlSchemaCheck: .libxml2)
                    }
                    let schemaIssues = reference.issues.filter {
                        [.typeError, .constraintError, .missingElement, .unexpectedElement, .schemaError].contains($0.code)
                    }
                    if schemaIssues.isEmpty { acceptedByLibxml2 += 1 }
                    if try fastPathVouches(bytes) {
                        vouched += 1
                        #expect(schemaIssues.isEmpty, "\(root)/\(name) = '\(value)': vouched, libxml2 says \(schemaIssues.prefix(1))")
                    }
                }
            }
        }
        print("edge values: vouched \(vouched) of \(acceptedByLibxml2) accepted by libxml2")
        // Most of what libxml2 accepts is vouched for without it (the rest is only slower).
        #expect(vouched * 10 >= acceptedByLibxml2 * 8, "vouched \(vouched) of \(acceptedByLibxml2) accepted by libxml2")
    }

    @Test("vouched mutations are valid for xmllint too (the independent oracle)")
    func vouchedMutationsValidForXmllint() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ktsx-fastpath-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var mutations = Mutations(seed: 2026)
        var checked = 0
        for file in xmlFixtures(["valid"]) {
            let text = try String(contentsOf: file, encoding: .utf8)
            let report = try validator.get().validate(path: file.path)
            guard let type = report.type, report.isValid else { continue }
            var tried = 0
            while tried < 8 {
                let mutant = mutations.mutate(text)
                tried += 1
                guard try fastPathVouches(Array(mutant.utf8)), mutant != text else { continue }
                let path = directory.appendingPathComponent("\(checked).xml")
                try mutant.write(to: path, atomically: true, encoding: .utf8)
                let oracle = try Oracles.xmllint(file: path, schema: Repository.schemas.appendingPathComponent("\(type.code).xsd"))
                let ours = try validator.get().validate(path: path.path)
                // xmllint also checks the schema's xs:unique, which our callbacks check beside the fast path.
                #expect(oracle.valid || ours.issues.contains { $0.code == .uniqueError }, "\(file.lastPathComponent):\n\(mutant)")
                checked += 1
            }
        }
        #expect(checked >= 5)
    }
}
