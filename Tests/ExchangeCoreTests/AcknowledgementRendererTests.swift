import Testing

@testable import ExchangeCore

@Suite("Acknowledgement rendering")
struct AcknowledgementRendererTests {
    @Test("timestamps are ISO 8601 UTC", arguments: [
        (Int64(0), "1970-01-01T00:00:00Z"), (1_772_323_200, "2026-03-01T00:00:00Z"), (951_782_400, "2000-02-29T00:00:00Z"),
        (1_798_761_599, "2026-12-31T23:59:59Z"), (-1, "1969-12-31T23:59:59Z"),
    ])
    func timestamps(seconds: Int64, expected: String) {
        #expect(Timestamp(secondsSinceEpoch: seconds).iso8601 == expected)
    }

    @Test("CSV cells are quoted when needed and formulas are defused")
    func csvCells() {
        #expect(AcknowledgementRenderer.csvCell("plain") == "plain")
        #expect(AcknowledgementRenderer.csvCell("a, \"b\"") == "\"a, \"\"b\"\"\"")
        #expect(AcknowledgementRenderer.csvCell("=HYPERLINK(\"x\")") == "\"'=HYPERLINK(\"\"x\"\")\"")
        #expect(AcknowledgementRenderer.csvCell("@SUM(A1)") == "'@SUM(A1)")
    }

    @Test("XML text is escaped and characters XML cannot carry are replaced")
    func xmlText() {
        #expect(AcknowledgementRenderer.xmlText("a < b & \"c\"") == "a &lt; b &amp; \"c\"")
        #expect(AcknowledgementRenderer.xmlText("nul\u{0}here") == "nul\u{FFFD}here")
    }

    @Test("text copied as it is when no byte needs a look is the text escaped character by character")
    func xmlTextCopied() {
        let values = [
            "plain", "Muñoz", "a < b & c > d", "tab\there", "line\nbreak", "nul\u{0}here", "\u{FFFE}\u{FFFF}", "\u{FB01}ve",
            "\u{EF}", "emoji 😀", "", "\u{1F}", "\r",
        ]
        for value in values {
            var out: [UInt8] = []
            AcknowledgementRenderer.appendXMLText(value, to: &out)
            #expect(out == Array(AcknowledgementRenderer.xmlText(value).utf8), "\(value.debugDescription)")
        }
    }
}
