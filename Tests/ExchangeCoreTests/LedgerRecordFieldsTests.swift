import ExchangeCore
import Foundation
import Testing

/// JSONDecoder's reading, the reference for the hand-written reader.
private func reference(_ text: String) -> [String: String] {
    (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? [:]
}

@Suite("Held record fields as the ledgers store them")
struct LedgerRecordFieldsTests {
    static let awkward = [
        "", "plain", "O'Brien", "Whitaker, Jr.", "say \"hi\"", "back\\slash", "a/b", "tab\there", "line\nbreak", "cr\r",
        "\u{1}\u{1F}", "Zoë Muñoz", "\u{2028}\u{2029}", "😀 emoji", "𝄞 clef", "\u{7F}", "uri://ed-fi.org/X#In Attendance",
    ]

    @Test("what encode writes, decode reads back exactly, as JSONDecoder does")
    func roundTrip() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var values: [String: String] = [:]
            for _ in 0..<Int.random(in: 0...8, using: &generator) {
                let key = Self.awkward.randomElement(using: &generator)! + String(Int.random(in: 0...9, using: &generator))
                values[key] = (0..<Int.random(in: 0...3, using: &generator)).map { _ in Self.awkward.randomElement(using: &generator)! }.joined()
            }
            let text = LedgerRecordFields.encode(values)
            #expect(LedgerRecordFields.decode(text) == values)
            #expect(reference(text) == values)
        }
    }

    @Test(
        "JSON written by others reads as JSONDecoder reads it",
        arguments: [
            #"{}"#, #" { "a" : "b" , "c":"d" } "#, #"{"a":"\u00e9\ud83d\ude00\/\b\f"}"#, #"{"a":"x","a":"y"}"#,
            #"{"a":1}"#, #"null"#, #"{"a":"b""#, #"{"a":"\ud83d"}"#, #"{"a":"b"} x"#, #"{"a":"\q"}"#, "",
        ])
    func othersJSON(text: String) {
        #expect(LedgerRecordFields.decode(text) == reference(text))
    }
}
