import Testing

@testable import ExchangeCore

private func withBytes<T>(_ text: String, _ body: (UnsafeRawBufferPointer) -> T) -> T {
    var bytes = Array(text.utf8)
    return bytes.withUnsafeMutableBytes { body(UnsafeRawBufferPointer($0)) }
}

/// Expected verdicts were read off frictionless 5.21 (`frictionless validate`) on the same cells.
@Suite("Cell values as frictionless reads them")
struct CellValuesTests {
    @Test(
        "integers",
        arguments: [
            ("2026", true), (" 2026 ", true), ("+7", true), ("-0", true), ("007", true), ("1_000", true),
            ("1__0", false), ("_1", false), ("1.0", false), ("", false), ("1e3", false), ("twelve", false),
        ])
    func integers(text: String, valid: Bool) {
        #expect((withBytes(text) { CellValues.integer($0) } != nil) == valid)
    }

    @Test(
        "numbers",
        arguments: [
            ("1", true), ("1.", true), (".5", true), ("-0.25", true), ("1e3", true), ("1E-2", true), (" 3 ", true),
            ("NaN", true), ("inf", true), ("-Infinity", true), ("1_0.5", true), ("", false), (".", false),
            ("1.2.3", false), ("1,5", false), ("e5", false), ("0x10", false),
        ])
    func numbers(text: String, valid: Bool) {
        #expect((withBytes(text) { CellValues.number($0) } != nil) == valid)
    }

    @Test(
        "number comparison is exact",
        arguments: [("10", "10.000", 0), ("9.999", "10", -1), ("10.0000000000000001", "10", 1), ("-1", "0", -1),
                    ("0.000", "-0", 0), ("1e2", "99.99", 1), ("inf", "1e9999", 1)])
    func comparison(a: String, b: String, expected: Int) throws {
        let left = try #require(CellValues.number(text: a))
        let right = try #require(CellValues.number(text: b))
        #expect(CellValues.Number.compare(left, right) == expected)
    }

    @Test(
        "dates (strptime %Y-%m-%d)",
        arguments: [
            ("2026-01-05", true), ("2026-1-5", true), ("2026-10-5", true), ("2026-01- 5", true), ("2024-02-29", true),
            ("2026-02-29", false), ("2026-02-30", false), ("2026-13-01", false), ("2026-01-32", false),
            ("20260105", false), (" 2026-01-05", false), ("2026-01-05T00:00:00", false), ("0000-01-01", false),
        ])
    func dates(text: String, valid: Bool) {
        #expect((withBytes(text) { CellValues.date($0) } != nil) == valid)
    }

    @Test(
        "date-times (isoparse behind the layout guard)",
        arguments: [
            ("2026-01-05T10:00:00", true), ("2026-01-05T10:00:00Z", true), ("2026-01-05T10:00:00-05:00", true),
            ("2026-01-05T10:00:00+0530", true), ("2026-01-05T10:00:00+05", true), ("2026-01-05 10:00:00", true),
            ("2026-01-05T10:00:00.123456", true), ("2026-01-05T24:00:00", true), ("2026-01-05T10:00", false),
            ("2026-01-05T25:00:00", false), ("2026-02-30T10:00:00", false), ("2026-01-05T10:00:00+24:00", false),
            ("2026-01-05T10:00:00 ", false), ("2026-01-05", false), ("2026-01-05T10:60:00", false),
        ])
    func dateTimes(text: String, valid: Bool) {
        #expect(withBytes(text) { CellValues.dateTime($0) } == valid)
    }

    @Test(
        "times",
        arguments: [("07:45:00", true), ("07:45:00Z", true), ("07:45:00.5", true), ("7:45:00", false),
                    ("07:45", false), ("24:00:00", true), ("24:00:01", false), ("07:61:00", false)])
    func times(text: String, valid: Bool) {
        #expect(withBytes(text) { CellValues.time($0) } == valid)
    }

    @Test("UTF-8 validation rejects overlong forms, surrogates and truncated sequences")
    func utf8() {
        let cases: [([UInt8], Bool)] = [
            (Array("Zoë 東京".utf8), true), ([0xC0, 0xAF], false), ([0xED, 0xA0, 0x80], false), ([0xE2, 0x82], false),
            ([0xF4, 0x90, 0x80, 0x80], false), ([0xFF], false),
        ]
        for (bytes, valid) in cases {
            #expect(bytes.withUnsafeBytes { CellValues.isValidUTF8($0) } == valid)
        }
    }
}
