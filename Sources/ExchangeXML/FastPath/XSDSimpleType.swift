import ExchangeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One of our XSD simple types, checked the fast path's way: a value is vouched for only when it is
/// certainly valid for libxml2 too; anything else is "in doubt" and left to libxml2's validator.
///
/// So every check here accepts a subset of what XML Schema 1.0 (as libxml2 implements it) accepts:
/// values without surrounding whitespace, dates and times in their plain forms, numbers of at most 18
/// digits. A check may refuse valid values (they are then validated by libxml2, only slower), never the
/// other way round.
final class XSDSimpleType: Sendable {
    /// The built-in type a simple type restricts.
    enum Base: String, Sendable {
        case string = "string"
        case integer = "integer"
        case decimal = "decimal"
        case boolean = "boolean"
        case date = "date"
        case dateTime = "dateTime"
        case time = "time"
    }

    /// A simple type as read from the schema: its base and facets, patterns as text.
    ///
    /// Patterns are compiled for each document's check (`init(_:)`), not kept compiled for the process: a
    /// compiled pattern is a tree of enum boxes whose pointers Swift tags, which LeakSanitizer cannot
    /// follow, so one that lives until exit reads as a leak in the fuzz runs.
    struct Definition: Sendable {
        var base: Base
        var facets = Facets()
    }

    /// The facets of a restriction, as read from the schema.
    struct Facets: Sendable {
        /// Patterns, any of which the value must match (XSD ORs the patterns of one restriction).
        var patterns: [String] = []
        /// Allowed values, byte for byte (string bases only).
        var enumeration: [[UInt8]] = []
        /// Length limits in characters (string bases only).
        var minLength: Int?
        var maxLength: Int?
        /// Inclusive bounds (integer and decimal bases only).
        var minInclusive: DecimalText?
        var maxInclusive: DecimalText?
    }

    // A class with constant properties: the check reads them for every value without copying (a struct
    // of arrays would be copied, and its arrays retained, on each call).
    let base: Base
    let patterns: [PatternMatcher]
    let enumeration: [[UInt8]]
    let minLength: Int?
    let maxLength: Int?
    let minInclusive: DecimalText?
    let maxInclusive: DecimalText?

    /// The type `definition` describes, its patterns compiled.
    /// - Throws: `PatternMatcher.UnsupportedPattern` (never for a definition `FastSchema` made: it compiled
    ///   each pattern once to accept it).
    init(_ definition: Definition) throws {
        let facets = definition.facets
        base = definition.base
        patterns = try facets.patterns.map(PatternMatcher.init)
        enumeration = facets.enumeration
        minLength = facets.minLength
        maxLength = facets.maxLength
        minInclusive = facets.minInclusive
        maxInclusive = facets.maxInclusive
    }

    /// Whether the value (the element's text, UTF-8) is certainly valid.
    func vouches(for value: UnsafeBufferPointer<UInt8>) -> Bool {
        switch base {
        case .string:
            if minLength != nil || maxLength != nil {
                var characters = 0
                for byte in value where byte & 0xC0 != 0x80 { characters += 1 }
                if let minLength, characters < minLength { return false }
                if let maxLength, characters > maxLength { return false }
            }
            if !enumeration.isEmpty, !enumeration.contains(where: { XSDSimpleType.same($0, value) }) { return false }
        case .integer, .decimal:
            guard let number = DecimalText(value, allowsFraction: base == .decimal) else { return false }
            if let minInclusive, number < minInclusive { return false }
            if let maxInclusive, maxInclusive < number { return false }
        case .boolean:
            guard XSDSimpleType.booleans.contains(where: { XSDSimpleType.same($0, value) }) else { return false }
        case .date:
            guard value.count == 10, XSDSimpleType.isDate(value, at: 0) else { return false }
        case .time:
            guard XSDSimpleType.isTime(value, at: 0) else { return false }
        case .dateTime:
            guard value.count >= 19, XSDSimpleType.isDate(value, at: 0), value[10] == UInt8(ascii: "T"),
                XSDSimpleType.isTime(value, at: 11)
            else { return false }
        }
        guard !patterns.isEmpty else { return true }
        let raw = UnsafeRawBufferPointer(value)
        return patterns.contains { $0.matches(raw) }
    }

    @inline(__always)
    private static func same(_ allowed: [UInt8], _ value: UnsafeBufferPointer<UInt8>) -> Bool {
        guard allowed.count == value.count else { return false }
        guard let start = value.baseAddress, !value.isEmpty else { return true }
        return allowed.withUnsafeBufferPointer { memcmp($0.baseAddress!, start, value.count) == 0 }
    }

    private static let booleans: [[UInt8]] = ["true", "false", "1", "0"].map { Array($0.utf8) }

    /// `YYYY-MM-DD` at `start` (exactly 10 bytes): a year 0001-9999, a month, a day that month has.
    static func isDate(_ value: UnsafeBufferPointer<UInt8>, at start: Int) -> Bool {
        guard value.count >= start + 10, value[start + 4] == UInt8(ascii: "-"), value[start + 7] == UInt8(ascii: "-"),
            let year = digits(value, start, 4), let month = digits(value, start + 5, 2),
            let day = digits(value, start + 8, 2)
        else { return false }
        guard year >= 1, (1...12).contains(month), day >= 1 else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return day <= lengths[month - 1]
    }

    /// `hh:mm:ss` at `start`, with optional fractional seconds (1-9 digits) and an optional zone (`Z` or
    /// `±hh:mm` under 14 hours), to the end of the value. Hours 00-23: libxml2 versions differ on 24:00:00.
    static func isTime(_ value: UnsafeBufferPointer<UInt8>, at start: Int) -> Bool {
        guard value.count >= start + 8, value[start + 2] == UInt8(ascii: ":"), value[start + 5] == UInt8(ascii: ":"),
            let hour = digits(value, start, 2), let minute = digits(value, start + 3, 2),
            let second = digits(value, start + 6, 2), hour <= 23, minute <= 59, second <= 59
        else { return false }
        var index = start + 8
        if index < value.count, value[index] == UInt8(ascii: ".") {
            index += 1
            let first = index
            while index < value.count, value[index] >= 48, value[index] <= 57 { index += 1 }
            guard (1...9).contains(index - first) else { return false }
        }
        if index == value.count { return true }
        if value[index] == UInt8(ascii: "Z") { return index + 1 == value.count }
        guard value[index] == UInt8(ascii: "+") || value[index] == UInt8(ascii: "-"), value.count == index + 6,
            value[index + 3] == UInt8(ascii: ":"), let hours = digits(value, index + 1, 2),
            let minutes = digits(value, index + 4, 2)
        else { return false }
        return hours <= 13 && minutes <= 59
    }

    /// The number written by `count` ASCII digits at `start`, if they are all digits.
    private static func digits(_ value: UnsafeBufferPointer<UInt8>, _ start: Int, _ count: Int) -> Int? {
        var result = 0
        for index in start..<(start + count) {
            let byte = value[index]
            guard byte >= 48, byte <= 57 else { return nil }
            result = result * 10 + Int(byte - 48)
        }
        return result
    }
}

/// A decimal number of at most 18 digits, `-?[0-9]+(\.[0-9]+)?`, kept exactly (no floating point): its
/// whole part and its fraction as a count of 10^-18ths.
struct DecimalText: Comparable, Sendable {
    /// Whether the number is below zero (never true of zero).
    var negative: Bool
    var whole: UInt64
    /// The fraction in units of 10^-18.
    var fraction: UInt64

    /// Reads `text`; nil if it is not in the plain form above.
    init?(_ text: UnsafeBufferPointer<UInt8>, allowsFraction: Bool) {
        var index = 0
        negative = false
        if index < text.count, text[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        let wholeStart = index
        whole = 0
        while index < text.count, text[index] >= 48, text[index] <= 57 {
            whole = whole &* 10 &+ UInt64(text[index] - 48)
            index += 1
        }
        var digits = index - wholeStart
        guard digits > 0 else { return nil }
        fraction = 0
        if index < text.count {
            guard allowsFraction, text[index] == UInt8(ascii: ".") else { return nil }
            index += 1
            let fractionStart = index
            var scale: UInt64 = 100_000_000_000_000_000
            while index < text.count, text[index] >= 48, text[index] <= 57, index - fractionStart < 18 {
                fraction += UInt64(text[index] - 48) * scale
                scale /= 10
                index += 1
            }
            guard index > fractionStart, index == text.count else { return nil }
            digits += index - fractionStart
        }
        guard digits <= 18 else { return nil }
        if whole == 0, fraction == 0 { negative = false }
    }

    /// Reads a facet's value (`"0"`, `"999.99"`).
    init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard let value = bytes.withUnsafeBufferPointer({ DecimalText($0, allowsFraction: true) }) else { return nil }
        self = value
    }

    static func < (left: DecimalText, right: DecimalText) -> Bool {
        if left.negative != right.negative { return left.negative }
        let below = (left.whole, left.fraction) < (right.whole, right.fraction)
        let above = (right.whole, right.fraction) < (left.whole, left.fraction)
        return left.negative ? above : below
    }
}
