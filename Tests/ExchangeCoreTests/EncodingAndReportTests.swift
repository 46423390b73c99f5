import Testing

@testable import ExchangeCore

@Suite("Encoding checks, content sniffing and report rendering")
struct EncodingAndReportTests {
    @Test("foreign encodings are named from the first bytes")
    func foreignEncodings() {
        let cases: [([UInt8], String?)] = [
            ([0xFF, 0xFE, 0x3C, 0x00], "UTF-16"), ([0xFE, 0xFF, 0x00, 0x3C], "UTF-16"), ([0x00, 0x3C, 0x00, 0x3F], "UTF-16"),
            ([0x3C, 0x00, 0x3F, 0x00], "UTF-16"), ([0xFF, 0xFE, 0x00, 0x00], "UTF-32"), ([0xEF, 0xBB, 0xBF, 0x3C], nil),
            (Array("id,".utf8), nil),
        ]
        for (bytes, expected) in cases {
            #expect(bytes.withUnsafeBytes { EncodingCheck.foreignEncoding(prefix: $0) } == expected)
        }
    }

    @Test("an XML declaration naming another encoding is refused; UTF-8 in any case is fine")
    func declaredEncoding() {
        func issue(_ text: String) -> ValidationIssue? {
            Array(text.utf8).withUnsafeBytes { EncodingCheck.xmlEncodingIssue(prefix: $0) }
        }
        #expect(issue("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>")?.code == .encodingError)
        #expect(issue("<?xml version='1.0' encoding = 'windows-1252'?><a/>")?.message.contains("windows-1252") == true)
        #expect(issue("<?xml version=\"1.0\" encoding=\"utf-8\"?><a/>") == nil)
        #expect(issue("<?xml version=\"1.0\"?><a/>") == nil)
    }

    @Test("XML is recognised by its first non-blank character", arguments: [
        ("  \n<?xml version=\"1.0\"?>", ContentSniffer.Sniffed.xml), ("\u{FEFF}<K/>", .xml), ("recordId,action", .csv),
    ])
    func sniffing(text: String, expected: ContentSniffer.Sniffed) {
        #expect(Array(text.utf8).withUnsafeBytes { ContentSniffer.binding(of: $0) } == expected)
    }

    @Test("JSON output has every member, null where it does not apply, and escapes strings")
    func json() {
        let report = ValidationReport(
            file: "a \"b\".csv", type: .attendance, binding: .csv, recordCount: 2,
            issues: [ValidationIssue(code: .blankRow, message: "The row is blank;\nremove it.", line: 3, row: 3)],
            errorCount: 5)
        let text = ReportRenderer.json([report])
        #expect(text.contains(#""file": "a \"b\".csv""#))
        #expect(text.contains(#""type": "ATT", "binding": "CSV", "valid": false"#))
        #expect(text.contains(#""errorCount": 5, "truncated": true"#))
        #expect(text.contains(#"{"line": 3, "column": null, "path": null, "field": null, "code": "blank-row", "message": "The row is blank;\nremove it."}"#))
    }

    @Test("the collector keeps the first issues and counts the rest")
    func collectorCap() {
        var collector = IssueCollector(limit: 2)
        for line in 1...5 { collector.add(ValidationIssue(code: .blankRow, message: "x", line: line)) }
        #expect(collector.issues.map(\.line) == [1, 2])
        #expect(collector.total == 5)
        #expect(collector.truncated)
    }
}
