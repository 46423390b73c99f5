import Synchronization

/// A compiled Table Schema `pattern`: the XSD-style regular expressions the bundled schemas use,
/// matched against a whole value (XSD patterns are implicitly anchored, and frictionless full-matches).
///
/// Supported: literals, `\` escapes (`\d`, `\s`, `\w` and escaped punctuation), `.`, character classes
/// with ranges and negation, groups `( )`, alternation `|`, and the quantifiers `? * + {m} {m,} {m,n}`.
/// Matching is a backtracking walk over Unicode scalars, fast for the short values of exchange files.
public struct PatternMatcher: Sendable {
    /// A pattern this matcher cannot compile.
    public struct UnsupportedPattern: Error, Sendable, CustomStringConvertible {
        /// The pattern.
        public var pattern: String
        /// Why it was refused.
        public var reason: String
        /// A one-line description.
        public var description: String { "unsupported pattern \(pattern): \(reason)" }
    }

    indirect enum Node: Sendable {
        case set(CharacterSet)
        case sequence([Node])
        case alternation([Node])
        case repeated(Node, min: Int, max: Int?)
    }

    struct CharacterSet: Sendable {
        var ranges: [ClosedRange<UInt32>]
        var negated: Bool
        /// Membership of the 128 ASCII characters, answered without walking `ranges`.
        private var low: UInt64 = 0
        private var high: UInt64 = 0

        init(ranges: [ClosedRange<UInt32>], negated: Bool) {
            self.ranges = ranges
            self.negated = negated
            for value in UInt32(0)..<128 where ranges.contains(where: { $0.contains(value) }) != negated {
                if value < 64 { low |= 1 << UInt64(value) } else { high |= 1 << UInt64(value - 64) }
            }
        }

        @inline(__always)
        func contains(_ value: UInt32) -> Bool {
            if value < 64 { return low & (1 << UInt64(value)) != 0 }
            if value < 128 { return high & (1 << UInt64(value - 64)) != 0 }
            var inside = false
            for range in ranges where range.contains(value) {
                inside = true
                break
            }
            return inside != negated
        }
    }

    /// A run of one character set, `min` to `max` times: the whole of most exchange patterns.
    struct Step: Sendable {
        var set: CharacterSet
        var min: Int
        var max: Int
    }

    /// The pattern as a flat list of steps, when it is only sets and repetitions of sets (no groups or
    /// alternation); matched by a loop instead of continuations.
    let steps: [Step]?

    /// For a pattern of steps over ASCII, once `withTable()` made it: a deterministic automaton over ASCII
    /// bytes, `table[state * 128 + byte]` the next state (0: no match possible), one look per byte.
    private var table: [UInt16]?
    /// Whether `withTable()` made a table for it.
    var hasTable: Bool { table != nil }
    /// Per state of `table`, whether a value may end there.
    private var accepting: [Bool] = []
    /// When `table` is a chain (every state has at most one next state, whatever the byte, and none comes
    /// back: `[0-9]{10}`, a UUID, `[A-Z0-9]{1,20}`): which bytes each position allows,
    /// `chainAllows[position * 128 + byte]`, so that a value's bytes are looked at independently of one
    /// another instead of one state after the other.
    private var chainAllows: [UInt8]?
    /// For a chain, whether a value of each length (0 through the chain's length) may end there.
    private var chainAccepting: [Bool] = []
    /// Whether `withTable()` found the automaton a chain.
    var isChain: Bool { chainAllows != nil }

    /// The pattern text.
    public let pattern: String
    private let root: Node
    /// The alternatives of a top-level `A|B` written without a group, which frictionless reads as
    /// `^A` or `B$`.
    private let topLevelAlternatives: [Node]?
    private let asciiOnly: Bool

    /// Compiles `pattern`.
    /// - Throws: `UnsupportedPattern` for syntax outside the supported subset.
    public init(_ pattern: String) throws {
        self.pattern = pattern
        var parser = Parser(scalars: Array(pattern.unicodeScalars), pattern: pattern)
        root = try parser.parseAlternation()
        topLevelAlternatives = parser.topLevelAlternatives
        if parser.index < parser.scalars.count {
            throw UnsupportedPattern(pattern: pattern, reason: "unbalanced ')'")
        }
        asciiOnly = pattern.unicodeScalars.allSatisfy { $0.isASCII }
        steps = PatternMatcher.flatten(root)
    }

    /// Whether the whole of `value` (UTF-8 bytes) matches.
    public func matches(_ value: UnsafeRawBufferPointer) -> Bool {
        if asciiOnly, CellValues.isASCII(value) {
            return value.withMemoryRebound(to: UInt8.self) { bytes in run(bytes, accept: Acceptance(end: bytes.count)) }
        }
        return matchWhole(String(decoding: value, as: UTF8.self).unicodeScalars.map(\.value))
    }

    /// Whether `value` passes the pattern the way frictionless checks it: Python's
    /// `re.match("^" + pattern + "$")`. Without a group around the pattern, a top-level `A|B` then reads
    /// as `^A` or `B$`: every alternative but the last needs only to match a prefix. `$` also matches
    /// before a final line feed.
    /// - Parameter isASCII: Pass true when the caller already knows every byte is ASCII.
    public func matchesLikeFrictionless(_ value: UnsafeRawBufferPointer, isASCII: Bool = false) -> Bool {
        if table != nil, isASCII || CellValues.isASCII(value) {
            return runTable(value, finalLineFeedAllowed: true)
        }
        if asciiOnly, isASCII || CellValues.isASCII(value) {
            return value.withMemoryRebound(to: UInt8.self) { matchesLikeFrictionless($0) }
        }
        let scalars = String(decoding: value, as: UTF8.self).unicodeScalars.map(\.value)
        return scalars.withUnsafeBufferPointer { matchesLikeFrictionless($0) }
    }

    private func matchesLikeFrictionless<Unit: FixedWidthInteger>(_ input: UnsafeBufferPointer<Unit>) -> Bool {
        let end = input.count
        let atEnd = Acceptance(end: end, orBefore: end > 0 && input[end - 1] == 10 ? end - 1 : nil)
        guard let options = topLevelAlternatives else { return run(input, accept: atEnd) }
        for (index, option) in options.enumerated() {
            let accept = index == options.count - 1 ? atEnd : .anywhere
            if PatternMatcher.match(option, input, 0, { accept.accepts($0) }) { return true }
        }
        return false
    }

    /// Where a match may end: at `end` (or `orBefore`, Python's `$` before a final line feed), or, for a
    /// prefix match, anywhere.
    struct Acceptance {
        var end: Int
        var orBefore: Int?

        static let anywhere = Acceptance(end: -1, orBefore: nil)

        @inline(__always)
        func accepts(_ position: Int) -> Bool { end < 0 || position == end || position == orBefore }
    }

    /// The same matcher with a table that answers ASCII values a byte at a time (`table`), when the pattern
    /// is a sequence of steps over ASCII and its automaton stays small; otherwise the same matcher. Worth it
    /// for a matcher that checks many values (building the table costs what checking a few thousand does).
    /// Tables are built once per pattern text in the process (`builtTables`) and copied for each matcher.
    public func withTable() -> PatternMatcher {
        guard asciiOnly, let steps, table == nil else { return self }
        let built =
            PatternMatcher.builtTables.withLock { $0[pattern] }
            ?? {
                let built = BuiltTable(steps)
                PatternMatcher.builtTables.withLock { tables in
                    if tables.count >= PatternMatcher.builtTablesKept { tables.removeAll() }
                    tables[pattern] = built
                }
                return built
            }()
        guard let table = built.table else { return self }
        // Copies, not the cached arrays: threads checking blocks at once would otherwise all count references on
        // the same storage.
        var fast = self
        fast.table = PatternMatcher.copy(table)
        fast.accepting = PatternMatcher.copy(built.accepting)
        fast.chainAllows = built.chainAllows.map(PatternMatcher.copy)
        fast.chainAccepting = PatternMatcher.copy(built.chainAccepting)
        return fast
    }

    /// The elements of `array` in new storage (`Array(array)` may share the storage).
    private static func copy<Element>(_ array: [Element]) -> [Element] {
        array.withUnsafeBufferPointer { Array($0) }
    }

    /// A pattern's automaton and chain as `withTable()` builds them (no table when the automaton would be
    /// too large).
    struct BuiltTable: Sendable {
        var table: [UInt16]?
        var accepting: [Bool] = []
        var chainAllows: [UInt8]?
        var chainAccepting: [Bool] = []

        init(_ steps: [Step]) {
            guard let (table, accepting) = PatternMatcher.automaton(steps) else { return }
            self.table = table
            self.accepting = accepting
            if let (allows, lengths) = PatternMatcher.chain(table, accepting: accepting) {
                chainAllows = allows
                chainAccepting = lengths
            }
        }
    }

    /// The tables built so far, by pattern text: building one costs what checking a few thousand values does,
    /// and a service judges thousands of small files with the same few patterns.
    static let builtTables = Mutex<[String: BuiltTable]>([:])
    /// At most this many patterns' tables are kept (the schemas have a few dozen; more would come only from
    /// a hostile or broken schema, and then the cache starts over).
    static let builtTablesKept = 512

    /// The automaton `table` as a chain, when it is one: from the start state, each state has at most one
    /// next state other than the rejecting one, and no state is met twice. Returns which bytes each
    /// position allows (1 or 0) and whether each length is accepted.
    static func chain(_ table: [UInt16], accepting: [Bool]) -> (allows: [UInt8], accepting: [Bool])? {
        var allows: [UInt8] = []
        var lengths: [Bool] = []
        var visited = Set<Int>()
        var state = 1
        while true {
            guard visited.insert(state).inserted else { return nil }
            lengths.append(accepting[state])
            var next = 0
            for byte in 0..<128 {
                let target = Int(table[state * 128 + byte])
                guard target != 0 else { continue }
                guard next == 0 || next == target else { return nil }
                next = target
            }
            guard next != 0 else { break }
            allows += (0..<128).map { table[state * 128 + $0] != 0 ? 1 : 0 }
            state = next
        }
        return (allows, lengths)
    }

    /// Runs the chain over `value` (ASCII) of `count` bytes: every byte is looked at on its own (no look
    /// waits for the one before), then the length decides.
    private func runChain(_ value: UnsafeRawBufferPointer, count: Int) -> Bool {
        guard count < chainAccepting.count, chainAccepting[count] else { return false }
        return chainAllows!.withUnsafeBufferPointer { allows in
            // No early exit: one rejected byte is rare, and a loop without branches runs faster.
            var allowed: UInt8 = 1
            for index in 0..<count { allowed &= allows[index &<< 7 | Int(value[index] & 0x7F)] }
            return allowed != 0
        }
    }

    /// Runs `table` over `value` (ASCII): whether the whole value matches, or (when allowed, as Python's `$`)
    /// the whole value but a final line feed.
    private func runTable(_ value: UnsafeRawBufferPointer, finalLineFeedAllowed: Bool) -> Bool {
        let count = value.count
        if chainAllows != nil {
            if runChain(value, count: count) { return true }
            return finalLineFeedAllowed && count > 0 && value[count - 1] == 10 && runChain(value, count: count - 1)
        }
        // A final line feed is read apart: the value may end before it.
        let body = finalLineFeedAllowed && count > 0 && value[count - 1] == 10 ? count - 1 : count
        return table!.withUnsafeBufferPointer { table in
            accepting.withUnsafeBufferPointer { accepting in
                // No early exit: state 0 rejects and never leaves, and values are short.
                var state = 1
                for index in 0..<body { state = Int(table[state &<< 7 | Int(value[index] & 0x7F)]) }
                guard body < count else { return accepting[state] }
                return accepting[state] || accepting[Int(table[state &<< 7 | 10])]
            }
        }
    }

    /// The most states an automaton may have before a pattern is left to the step-by-step walk.
    static let largestAutomaton = 1024

    /// The subset construction over `steps`: the states of the walk are (step, characters taken in it), a
    /// step with no upper bound counting up to its minimum only. State 0 of the result rejects, state 1
    /// starts. Nil when it would exceed `largestAutomaton` states.
    static func automaton(_ steps: [Step]) -> (table: [UInt16], accepting: [Bool])? {
        // Walk states numbered step by step; `first[k]` is step k's state with no character taken.
        var first: [Int] = []
        var total = 0
        for step in steps {
            first.append(total)
            total += (step.max == Int.max ? step.min : step.max) + 1
        }
        let accept = total
        /// The walk states reachable from `step`'s state `taken` without reading a character.
        func closure(_ step: Int, _ taken: Int, into set: inout Set<Int>) {
            guard step < steps.count else {
                set.insert(accept)
                return
            }
            set.insert(first[step] + taken)
            if taken >= steps[step].min { closure(step + 1, 0, into: &set) }
        }
        func location(_ state: Int) -> (step: Int, taken: Int) {
            var step = 0
            while step + 1 < first.count, first[step + 1] <= state { step += 1 }
            return (step, state - first[step])
        }
        var start = Set<Int>()
        closure(0, 0, into: &start)
        var states: [Set<Int>] = [[], start]
        var numbers: [Set<Int>: Int] = [[]: 0, start: 1]
        var table = [UInt16](repeating: 0, count: 2 * 128)
        var next = 1
        while next < states.count {
            let current = states[next]
            for byte in 0..<128 {
                var target = Set<Int>()
                for state in current where state != accept {
                    let (step, taken) = location(state)
                    let rule = steps[step]
                    guard rule.set.contains(UInt32(byte)) else { continue }
                    if rule.max == Int.max {
                        closure(step, Swift.min(taken + 1, rule.min), into: &target)
                    } else if taken < rule.max {
                        closure(step, taken + 1, into: &target)
                    }
                }
                let number: Int
                if let known = numbers[target] {
                    number = known
                } else {
                    number = states.count
                    guard number < largestAutomaton else { return nil }
                    numbers[target] = number
                    states.append(target)
                    table += repeatElement(0, count: 128)
                }
                table[next * 128 + byte] = UInt16(number)
            }
            next += 1
        }
        return (table, states.map { $0.contains(accept) })
    }

    /// Whether the whole of `value` matches.
    public func matches(_ value: String) -> Bool {
        matchWhole(value.unicodeScalars.map(\.value))
    }

    private static func flatten(_ node: Node) -> [Step]? {
        switch node {
        case .set(let set): return [Step(set: set, min: 1, max: 1)]
        case .repeated(.set(let set), let min, let max): return [Step(set: set, min: min, max: max ?? Int.max)]
        case .sequence(let nodes):
            var steps: [Step] = []
            for node in nodes {
                guard let inner = flatten(node), inner.count == 1 else { return nil }
                steps += inner
            }
            return steps
        default: return nil
        }
    }

    /// Matches `steps[index...]` from `position`; accepts an end where `accept` says so.
    private static func matchSteps<Unit: FixedWidthInteger>(
        _ steps: UnsafeBufferPointer<Step>, _ index: Int, _ input: UnsafeBufferPointer<Unit>, _ position: Int,
        _ accept: Acceptance
    ) -> Bool {
        guard index < steps.count else { return accept.accepts(position) }
        // Through the pointer, not a copy of the step: a copy would retain its ranges on every value.
        let step = steps.baseAddress! + index
        let (minimum, maximum) = (step.pointee.min, step.pointee.max)
        var end = position
        let limit = maximum >= input.count - position ? input.count : position + maximum
        while end < limit, step.pointee.set.contains(UInt32(truncatingIfNeeded: input[end])) { end += 1 }
        guard end - position >= minimum else { return false }
        if index == steps.count - 1 {
            return accept.accepts(end) || (end > position + minimum && backtrackLast(minimum, position, end, accept))
        }
        var candidate = end
        while candidate >= position + minimum {
            if matchSteps(steps, index + 1, input, candidate, accept) { return true }
            candidate -= 1
        }
        return false
    }

    private static func backtrackLast(_ minimum: Int, _ position: Int, _ end: Int, _ accept: Acceptance) -> Bool {
        var candidate = end - 1
        while candidate >= position + minimum {
            if accept.accepts(candidate) { return true }
            candidate -= 1
        }
        return false
    }

    private func run<Unit: FixedWidthInteger>(_ input: UnsafeBufferPointer<Unit>, accept: Acceptance) -> Bool {
        // `steps!` in place, not bound to a copy (which would retain the array for every value).
        if steps != nil {
            return steps!.withUnsafeBufferPointer { PatternMatcher.matchSteps($0, 0, input, 0, accept) }
        }
        return PatternMatcher.match(root, input, 0) { accept.accepts($0) }
    }

    private func matchWhole(_ input: [UInt32]) -> Bool {
        input.withUnsafeBufferPointer { buffer in run(buffer, accept: Acceptance(end: buffer.count)) }
    }

    /// Continuation-passing backtracking: `next` decides whether the rest of the pattern matches from
    /// the given position.
    private static func match<Unit: FixedWidthInteger>(
        _ node: Node, _ input: UnsafeBufferPointer<Unit>, _ position: Int, _ next: (Int) -> Bool
    ) -> Bool {
        switch node {
        case .set(let set):
            guard position < input.count, set.contains(UInt32(truncatingIfNeeded: input[position])) else { return false }
            return next(position + 1)
        case .sequence(let nodes):
            return matchSequence(nodes[...], input, position, next)
        case .alternation(let options):
            for option in options where match(option, input, position, next) { return true }
            return false
        case .repeated(let inner, let min, let max):
            // Simple sets repeat greedily without recursion, the common case (`[0-9]{10}`).
            if case .set(let set) = inner {
                var end = position
                let limit = max.map { Swift.min(input.count, position + $0) } ?? input.count
                while end < limit, set.contains(UInt32(truncatingIfNeeded: input[end])) { end += 1 }
                guard end - position >= min else { return false }
                var candidate = end
                while candidate >= position + min {
                    if next(candidate) { return true }
                    candidate -= 1
                }
                return false
            }
            return matchRepeat(inner, min: min, max: max, count: 0, input, position, next)
        }
    }

    private static func matchSequence<Unit: FixedWidthInteger>(
        _ nodes: ArraySlice<Node>, _ input: UnsafeBufferPointer<Unit>, _ position: Int, _ next: (Int) -> Bool
    ) -> Bool {
        guard let first = nodes.first else { return next(position) }
        return match(first, input, position) { matchSequence(nodes.dropFirst(), input, $0, next) }
    }

    private static func matchRepeat<Unit: FixedWidthInteger>(
        _ inner: Node, min: Int, max: Int?, count: Int, _ input: UnsafeBufferPointer<Unit>, _ position: Int,
        _ next: (Int) -> Bool
    ) -> Bool {
        if max.map({ count < $0 }) ?? true {
            let advanced = match(inner, input, position) { after in
                // An empty iteration would loop forever.
                after > position && matchRepeat(inner, min: min, max: max, count: count + 1, input, after, next)
            }
            if advanced { return true }
        }
        return count >= min && next(position)
    }

    private struct Parser {
        let scalars: [Unicode.Scalar]
        let pattern: String
        var index = 0

        func fail(_ reason: String) -> UnsupportedPattern { UnsupportedPattern(pattern: pattern, reason: reason) }

        /// The alternatives at the outermost level (outside every group), when there are several.
        var topLevelAlternatives: [Node]?
        var depth = 0

        mutating func parseAlternation() throws -> Node {
            var options = [try parseSequence()]
            while index < scalars.count, scalars[index] == "|" {
                index += 1
                options.append(try parseSequence())
            }
            if depth == 0, options.count > 1 { topLevelAlternatives = options }
            return options.count == 1 ? options[0] : .alternation(options)
        }

        mutating func parseSequence() throws -> Node {
            var nodes: [Node] = []
            while index < scalars.count, scalars[index] != "|", scalars[index] != ")" {
                var atom = try parseAtom()
                atom = try parseQuantifier(atom)
                nodes.append(atom)
            }
            return nodes.count == 1 ? nodes[0] : .sequence(nodes)
        }

        mutating func parseAtom() throws -> Node {
            let scalar = scalars[index]
            index += 1
            switch scalar {
            case "(":
                if index < scalars.count, scalars[index] == "?" { throw fail("group modifiers are not supported") }
                depth += 1
                let inner = try parseAlternation()
                depth -= 1
                guard index < scalars.count, scalars[index] == ")" else { throw fail("unclosed '('") }
                index += 1
                return inner
            case "[":
                return .set(try parseClass())
            case ".":
                return .set(CharacterSet(ranges: [10...10, 13...13], negated: true))
            case "\\":
                return .set(try parseEscape())
            case "^", "$":
                throw fail("anchors are not part of XSD patterns")
            case "*", "+", "?", "{":
                throw fail("quantifier without an atom")
            default:
                return .set(CharacterSet(ranges: [scalar.value...scalar.value], negated: false))
            }
        }

        mutating func parseEscape() throws -> CharacterSet {
            guard index < scalars.count else { throw fail("trailing '\\'") }
            let scalar = scalars[index]
            index += 1
            switch scalar {
            case "d": return CharacterSet(ranges: [48...57], negated: false)
            case "D": return CharacterSet(ranges: [48...57], negated: true)
            case "s": return CharacterSet(ranges: [9...10, 13...13, 32...32], negated: false)
            case "S": return CharacterSet(ranges: [9...10, 13...13, 32...32], negated: true)
            case "w": return CharacterSet(ranges: [48...57, 65...90, 95...95, 97...122], negated: false)
            case "n": return CharacterSet(ranges: [10...10], negated: false)
            case "r": return CharacterSet(ranges: [13...13], negated: false)
            case "t": return CharacterSet(ranges: [9...9], negated: false)
            default:
                guard !scalar.properties.isAlphabetic, !("0"..."9").contains(scalar) else {
                    throw fail("escape \\\(scalar) is not supported")
                }
                return CharacterSet(ranges: [scalar.value...scalar.value], negated: false)
            }
        }

        mutating func parseClass() throws -> CharacterSet {
            var negated = false
            if index < scalars.count, scalars[index] == "^" {
                negated = true
                index += 1
            }
            var ranges: [ClosedRange<UInt32>] = []
            var first = true
            while index < scalars.count, scalars[index] != "]" || first {
                first = false
                var low: UInt32
                if scalars[index] == "\\" {
                    index += 1
                    let escaped = try parseEscape()
                    if escaped.negated || escaped.ranges.count != 1 || escaped.ranges[0].count != 1 {
                        guard !escaped.negated else { throw fail("negated escapes inside [] are not supported") }
                        ranges += escaped.ranges
                        continue
                    }
                    low = escaped.ranges[0].lowerBound
                } else {
                    if scalars[index] == "[" { throw fail("class subtraction is not supported") }
                    low = scalars[index].value
                    index += 1
                }
                if index + 1 < scalars.count, scalars[index] == "-", scalars[index + 1] != "]" {
                    index += 1
                    var high = scalars[index].value
                    if scalars[index] == "\\" {
                        index += 1
                        let escaped = try parseEscape()
                        high = escaped.ranges[0].lowerBound
                    } else {
                        index += 1
                    }
                    guard low <= high else { throw fail("range out of order") }
                    ranges.append(low...high)
                } else {
                    ranges.append(low...low)
                }
            }
            guard index < scalars.count else { throw fail("unclosed '['") }
            index += 1
            return CharacterSet(ranges: ranges, negated: negated)
        }

        mutating func parseQuantifier(_ atom: Node) throws -> Node {
            guard index < scalars.count else { return atom }
            switch scalars[index] {
            case "?":
                index += 1
                return .repeated(atom, min: 0, max: 1)
            case "*":
                index += 1
                return .repeated(atom, min: 0, max: nil)
            case "+":
                index += 1
                return .repeated(atom, min: 1, max: nil)
            case "{":
                index += 1
                let low = try number()
                var high: Int? = low
                if index < scalars.count, scalars[index] == "," {
                    index += 1
                    high = index < scalars.count && scalars[index] == "}" ? nil : try number()
                }
                guard index < scalars.count, scalars[index] == "}" else { throw fail("unclosed '{'") }
                index += 1
                if let high, high < low { throw fail("{m,n} with n < m") }
                return .repeated(atom, min: low, max: high)
            default:
                return atom
            }
        }

        mutating func number() throws -> Int {
            var value = 0
            var digits = 0
            while index < scalars.count, let digit = Int(String(scalars[index])), ("0"..."9").contains(scalars[index]) {
                value = value * 10 + digit
                digits += 1
                index += 1
                guard value < 100_000 else { throw fail("repeat count too large") }
            }
            guard digits > 0 else { throw fail("expected a number in {}") }
            return value
        }
    }
}
