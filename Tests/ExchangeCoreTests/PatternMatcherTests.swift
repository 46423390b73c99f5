import Testing

@testable import ExchangeCore

@Suite("Table Schema patterns")
struct PatternMatcherTests {
    @Test(
        "whole-value matches",
        arguments: [
            ("[0-9]{10}", "1234567890", true),
            ("[0-9]{10}", "123456789", false),
            ("[0-9]{10}", "12345678901", false),
            ("[0-9]{6}(;[0-9]{6})*", "061014;061015", true),
            ("[0-9]{6}(;[0-9]{6})*", "061014;", false),
            ("[0-9]{3}-[0-9]{3}-[0-9]{4}|\\+[0-9]{10,15}", "+15025551234", true),
            ("[0-9]{3}-[0-9]{3}-[0-9]{4}|\\+[0-9]{10,15}", "502-555-1234", true),
            ("[0-9]{3}-[0-9]{3}-[0-9]{4}|\\+[0-9]{10,15}", "502 555 1234", false),
            ("[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}", "a.b@x.k12.ky.us", true),
            ("[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}", "a.b@example", false),
            ("[A-Z0-9-]{1,10}", "A-01", true),
            ("[A-Z0-9-]{1,10}", "a-01", false),
            ("[^0-9]+", "Zoë", true),
            ("\\d?x", "x", true),
        ])
    func matches(pattern: String, value: String, expected: Bool) throws {
        let matcher = try PatternMatcher(pattern)
        #expect(matcher.matches(value) == expected)
        var bytes = Array(value.utf8)
        #expect(bytes.withUnsafeMutableBytes { matcher.matches(UnsafeRawBufferPointer($0)) } == expected)
    }

    @Test("syntax outside the supported subset is refused, not misread", arguments: ["^a$", "(?i)a", "[a-[b]]", "a{3,2}", "(a"])
    func unsupported(pattern: String) {
        #expect(throws: PatternMatcher.UnsupportedPattern.self) { try PatternMatcher(pattern) }
    }
}
