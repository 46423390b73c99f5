import Foundation
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

    /// Every pattern of the bundled Table Schemas.
    static var schemaPatterns: [String] {
        let schemas = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Schemas")
        let files = (try? FileManager.default.contentsOfDirectory(at: schemas, includingPropertiesForKeys: nil)) ?? []
        var patterns: Set<String> = []
        for file in files where file.lastPathComponent.hasSuffix(".schema.json") {
            guard let data = try? Data(contentsOf: file),
                let schema = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let fields = schema["fields"] as? [[String: Any]]
            else { continue }
            for field in fields {
                if let pattern = (field["constraints"] as? [String: Any])?["pattern"] as? String { patterns.insert(pattern) }
            }
        }
        return patterns.sorted()
    }

    @Test("the automaton answers every ASCII value as the step-by-step walk does")
    func tableAgreesWithWalk() throws {
        let patterns = PatternMatcherTests.schemaPatterns + [
            "a*b+c?", "[a-c]{2,}x", "\\d{0,3}[0-9]{2}", ".{1,5}", "\\s*x", "[^,]{0,4}-?", "[0-9]+-[0-9]*", "x",
            "[A-Z]{2}[0-9]{1,3}", "[0-9]{3}-?[0-9]{0,2}", "[\n0-9]{2,4}", "\\d{0}",
        ]
        #expect(PatternMatcherTests.schemaPatterns.count >= 5)
        let alphabet = Array("0123456789abcxAFZ- \n,.;".utf8)
        var state: UInt64 = 42
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        var withTables = 0, withSteps = 0
        var chains: Set<String> = []
        for pattern in patterns {
            let walk = try PatternMatcher(pattern)
            let fast = walk.withTable()
            // The second matcher's table comes from the tables built before, answering the same.
            let again = try PatternMatcher(pattern).withTable()
            #expect(again.hasTable == fast.hasTable && again.isChain == fast.isChain)
            if fast.hasTable { withTables += 1 }
            if fast.isChain { chains.insert(pattern) }
            if walk.steps != nil { withSteps += 1 }
            // Random values, runs of each character, and (below) values made by the steps and edited.
            var values: [[UInt8]] = []
            for _ in 0..<3_000 { values.append((0..<next(40)).map { _ in alphabet[next(alphabet.count)] }) }
            // Values the steps make, then each edited once: a character changed, dropped or added, a line
            // feed after it.
            for _ in 0..<3_000 {
                guard let steps = walk.steps else { break }
                var value: [UInt8] = []
                for step in steps {
                    let members = (0..<128).filter { step.set.contains(UInt32($0)) }.map(UInt8.init)
                    guard !members.isEmpty else { continue }
                    let count = step.min + next(Swift.min(step.max, step.min + 4) - step.min + 1)
                    for _ in 0..<count { value.append(members[next(members.count)]) }
                }
                values.append(value)
                var edited = value
                switch next(4) {
                case 0 where !edited.isEmpty: edited[next(edited.count)] = alphabet[next(alphabet.count)]
                case 1 where !edited.isEmpty: edited.remove(at: next(edited.count))
                case 2: edited.insert(alphabet[next(alphabet.count)], at: next(edited.count + 1))
                default: edited.append(10)
                }
                values.append(edited)
            }
            for byte in alphabet {
                for length in 0...40 { values.append(Array(repeating: byte, count: length)) }
                values.append(Array(repeating: byte, count: 8) + [10])
            }
            for value in values {
                let expected = value.withUnsafeBytes { walk.matchesLikeFrictionless($0) }
                let answered = value.withUnsafeBytes { fast.matchesLikeFrictionless($0) }
                #expect(answered == expected, "\(pattern) on \(String(decoding: value, as: UTF8.self).debugDescription)")
                #expect(value.withUnsafeBytes { again.matchesLikeFrictionless($0) } == expected)
            }
        }
        // Every pattern that is a sequence of steps gets a table (the others have groups or alternatives).
        #expect(withTables == withSteps)
        #expect(withSteps >= patterns.count - 5)
        // Fixed and bounded runs are chains, read a byte at each position on its own; loops and choices at a
        // state are not.
        #expect(chains.isSuperset(of: ["[0-9]{10}", "[A-Z]{2}[0-9]{1,3}", "[\n0-9]{2,4}", "x", "\\d{0}", ".{1,5}"]))
        #expect(chains.isDisjoint(with: ["a*b+c?", "[a-c]{2,}x", "[0-9]+-[0-9]*", "[0-9]{3}-?[0-9]{0,2}", "\\s*x"]))
        #expect(chains.contains(where: { $0.contains("{12}") }), "the record id's UUID pattern is a chain")
    }
}
