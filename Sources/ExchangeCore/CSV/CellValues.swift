/// Readers for cell values in Table Schema's default formats, written to accept exactly what the
/// frictionless validator (5.x) accepts, so that our verdicts and the oracle's agree:
/// integers as Python's `int()`, numbers as `decimal.Decimal()` (both after `str.strip()`), dates as
/// `strptime("%Y-%m-%d")`, times and date-times as dateutil's `isoparse` behind frictionless's layout
/// guard, booleans as exact members of `trueValues`/`falseValues`.
enum CellValues {
    /// An exact decimal number: value = ±0.d₁d₂…dₙ × 10^exponent, or an infinity or NaN.
    struct Number: Sendable, Equatable {
        enum Kind: Sendable, Equatable { case finite, infinity, nan }
        var kind: Kind
        var negative: Bool
        /// The first 38 significant digits, scaled to exactly 38 digits (0 for zero), so that two
        /// numbers with the same exponent compare by this value.
        var significand: UInt128 = 0
        /// Whether nonzero digits beyond the 38th were dropped (they still order the number).
        var sticky = false
        /// Value = 0.d₁d₂… × 10^exponent.
        var exponent = 0

        var isZero: Bool { kind == .finite && significand == 0 }

        /// -1, 0 or 1; NaN compares as unordered and is handled by callers.
        static func compare(_ a: Number, _ b: Number) -> Int {
            func signValue(_ n: Number) -> Int { n.isZero ? 0 : (n.negative ? -1 : 1) }
            let sa = signValue(a), sb = signValue(b)
            if sa != sb { return sa < sb ? -1 : 1 }
            if sa == 0 { return 0 }
            let magnitude: Int
            switch (a.kind, b.kind) {
            case (.infinity, .infinity): magnitude = 0
            case (.infinity, _): magnitude = 1
            case (_, .infinity): magnitude = -1
            default:
                if a.exponent != b.exponent {
                    magnitude = a.exponent < b.exponent ? -1 : 1
                } else if a.significand != b.significand {
                    magnitude = a.significand < b.significand ? -1 : 1
                } else {
                    magnitude = a.sticky == b.sticky ? 0 : (a.sticky ? 1 : -1)
                }
            }
            return sa > 0 ? magnitude : -magnitude
        }
    }

    /// Collects a number's digits as they are read, without allocating.
    private struct DigitAccumulator {
        /// 10^`exponent`, for 0...19.
        static func powerOfTen(_ exponent: Int) -> UInt64 {
            var power: UInt64 = 1
            var base: UInt64 = 10
            var rest = exponent
            while rest > 0 {
                if rest & 1 == 1 { power &*= base }
                base &*= base
                rest >>= 1
            }
            return power
        }

        static let maxDigits = 38
        var significand: UInt128 = 0
        var stored = 0
        var sticky = false
        /// Index (among all digits read) of the first nonzero digit.
        var firstNonZero: Int?
        var count = 0

        mutating func add(_ digit: UInt8) {
            defer { count += 1 }
            if firstNonZero == nil {
                guard digit != 0 else { return }
                firstNonZero = count
            }
            if stored < DigitAccumulator.maxDigits {
                significand = significand * 10 + UInt128(digit)
                stored += 1
            } else if digit != 0 {
                sticky = true
            }
        }

        func number(negative: Bool, pointPosition: Int, exponent: Int) -> Number {
            guard let first = firstNonZero else { return Number(kind: .finite, negative: negative) }
            // Scaled to 38 digits in two multiplications (10^19 is the largest power in 64 bits).
            let missing = DigitAccumulator.maxDigits - stored
            let low = min(missing, 19)
            let scaled = significand * UInt128(DigitAccumulator.powerOfTen(low)) * UInt128(DigitAccumulator.powerOfTen(missing - low))
            return Number(
                kind: .finite, negative: negative, significand: scaled, sticky: sticky,
                exponent: pointPosition - first + exponent)
        }
    }

    // MARK: Whitespace

    /// The bytes without the leading and trailing white space Python's `str.strip()` removes (ASCII
    /// white space, the separators U+001C–U+001F, U+0085, U+00A0 and the other Unicode spaces).
    static func stripped(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var start = 0, end = bytes.count
        while start < end, let width = whitespaceWidth(bytes, at: start) { start += width }
        while end > start, let width = trailingWhitespaceWidth(bytes, endingAt: end) { end -= width }
        return UnsafeRawBufferPointer(rebasing: bytes[start..<end])
    }

    /// `text` without the white space Python's `str.strip()` removes (frictionless strips header labels).
    static func strippedLikePython(_ text: String) -> String {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBytes { String(decoding: stripped(UnsafeRawBufferPointer($0)), as: UTF8.self) }
    }

    private static func isPythonSpace(_ scalar: UInt32) -> Bool {
        switch scalar {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            true
        default: false
        }
    }

    private static func whitespaceWidth(_ bytes: UnsafeRawBufferPointer, at index: Int) -> Int? {
        let byte = bytes[index]
        if byte < 0x80 { return isPythonSpace(UInt32(byte)) ? 1 : nil }
        guard let (scalar, width) = decodeScalar(bytes, at: index) else { return nil }
        return isPythonSpace(scalar) ? width : nil
    }

    private static func trailingWhitespaceWidth(_ bytes: UnsafeRawBufferPointer, endingAt end: Int) -> Int? {
        let last = bytes[end - 1]
        if last < 0x80 { return isPythonSpace(UInt32(last)) ? 1 : nil }
        var start = end - 1
        while start > 0, end - start < 4, bytes[start] & 0xC0 == 0x80 { start -= 1 }
        guard let (scalar, width) = decodeScalar(bytes, at: start), start + width == end else { return nil }
        return isPythonSpace(scalar) ? width : nil
    }

    private static func decodeScalar(_ bytes: UnsafeRawBufferPointer, at index: Int) -> (UInt32, Int)? {
        let lead = bytes[index]
        let width = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0
        guard width > 0, index + width <= bytes.count else { return nil }
        var value = UInt32(lead) & (0xFF >> (width + 1))
        for offset in 1..<width { value = value << 6 | UInt32(bytes[index + offset] & 0x3F) }
        return (value, width)
    }

    // MARK: Numbers

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// Digits with single underscores between them (Python accepts `1_000`), added to `digits`;
    /// returns how many were read.
    private static func scanDigits(_ b: UnsafeRawBufferPointer, _ i: inout Int, into digits: inout DigitAccumulator)
        -> Int
    {
        var count = 0
        while i < b.count {
            if isDigit(b[i]) {
                digits.add(b[i] - 0x30)
                count += 1
                i += 1
            } else if b[i] == UInt8(ascii: "_"), count > 0, i + 1 < b.count, isDigit(b[i + 1]) {
                i += 1
            } else {
                break
            }
        }
        return count
    }

    /// Skips an optional `+` or `-` at `i`; returns whether it was `-`.
    private static func readSign(_ b: UnsafeRawBufferPointer, _ i: inout Int) -> Bool {
        guard i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") else { return false }
        defer { i += 1 }
        return b[i] == UInt8(ascii: "-")
    }

    /// An integer as Python's `int(cell.strip())` reads it, or nil.
    static func integer(_ raw: UnsafeRawBufferPointer) -> Number? {
        let b = stripped(raw)
        var i = 0
        let negative = readSign(b, &i)
        var digits = DigitAccumulator()
        let count = scanDigits(b, &i, into: &digits)
        guard count > 0, i == b.count else { return nil }
        return digits.number(negative: negative, pointPosition: count, exponent: 0)
    }

    /// A number as Python's `Decimal(cell.strip())` reads it, or nil.
    static func number(_ raw: UnsafeRawBufferPointer) -> Number? {
        let b = stripped(raw)
        var i = 0
        let negative = readSign(b, &i)
        if i < b.count, [UInt8(ascii: "i"), UInt8(ascii: "n"), UInt8(ascii: "s")].contains(b[i] | 0x20) {
            let rest = String(decoding: UnsafeRawBufferPointer(rebasing: b[i...]), as: UTF8.self).lowercased()
            if rest == "inf" || rest == "infinity" {
                return Number(kind: .infinity, negative: negative)
            }
            for prefix in ["nan", "snan"] where rest.hasPrefix(prefix) {
                let payload = rest.dropFirst(prefix.count)
                if payload.allSatisfy({ $0.isASCII && $0.isNumber }) {
                    return Number(kind: .nan, negative: negative)
                }
            }
            return nil
        }
        var digits = DigitAccumulator()
        let integerDigits = scanDigits(b, &i, into: &digits)
        var fractionDigits = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            fractionDigits = scanDigits(b, &i, into: &digits)
        }
        guard integerDigits + fractionDigits > 0 else { return nil }
        var exponent = 0
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            let exponentNegative = readSign(b, &i)
            let start = i
            var exponentDigits = DigitAccumulator()
            guard scanDigits(b, &i, into: &exponentDigits) > 0 else { return nil }
            for index in start..<i where isDigit(b[index]) && exponent < 1_000_000_000 {
                exponent = exponent * 10 + Int(b[index] - 0x30)
            }
            if exponentNegative { exponent = -exponent }
        }
        guard i == b.count else { return nil }
        return digits.number(negative: negative, pointPosition: integerDigits, exponent: exponent)
    }

    /// Parses a bound written in a schema (a JSON number's text).
    static func number(text: String) -> Number? {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBytes { number(UnsafeRawBufferPointer($0)) }
    }

    // MARK: Dates and times

    /// A date as `datetime.strptime(cell, "%Y-%m-%d")` reads it: four-digit year, month `1`–`12` with or
    /// without a leading zero, day likewise (or a space then one digit), a real calendar date.
    static func date(_ b: UnsafeRawBufferPointer) -> (year: Int, month: Int, day: Int)? {
        guard b.count >= 8, (0..<4).allSatisfy({ isDigit(b[$0]) }), b[4] == UInt8(ascii: "-") else { return nil }
        let year = (0..<4).reduce(0) { $0 * 10 + Int(b[$1] - 0x30) }
        var i = 5
        // %m: 1[0-2] | 0[1-9] | [1-9], the first alternative that lets "-" follow.
        var month: Int?
        if i + 2 < b.count, b[i] == UInt8(ascii: "1"), (0x30...0x32).contains(b[i + 1]), b[i + 2] == UInt8(ascii: "-") {
            month = 10 + Int(b[i + 1] - 0x30)
            i += 2
        } else if i + 2 < b.count, b[i] == UInt8(ascii: "0"), (0x31...0x39).contains(b[i + 1]),
            b[i + 2] == UInt8(ascii: "-")
        {
            month = Int(b[i + 1] - 0x30)
            i += 2
        } else if i + 1 < b.count, (0x31...0x39).contains(b[i]), b[i + 1] == UInt8(ascii: "-") {
            month = Int(b[i] - 0x30)
            i += 1
        }
        guard let month else { return nil }
        i += 1
        // %d: 3[01] | [12]\d | 0[1-9] | [1-9] | " "[1-9]; the first alternative that matches wins and the
        // whole string must then be used.
        let remaining = b.count - i
        var day: Int?
        var used = 0
        if remaining >= 2, b[i] == UInt8(ascii: "3"), b[i + 1] == 0x30 || b[i + 1] == 0x31 {
            day = 30 + Int(b[i + 1] - 0x30)
            used = 2
        } else if remaining >= 2, b[i] == 0x31 || b[i] == 0x32, isDigit(b[i + 1]) {
            day = Int(b[i] - 0x30) * 10 + Int(b[i + 1] - 0x30)
            used = 2
        } else if remaining >= 2, b[i] == 0x30, (0x31...0x39).contains(b[i + 1]) {
            day = Int(b[i + 1] - 0x30)
            used = 2
        } else if remaining >= 1, (0x31...0x39).contains(b[i]) {
            day = Int(b[i] - 0x30)
            used = 1
        } else if remaining >= 2, b[i] == 0x20, (0x31...0x39).contains(b[i + 1]) {
            day = Int(b[i + 1] - 0x30)
            used = 2
        }
        guard let day, i + used == b.count, isRealDate(year: year, month: month, day: day) else { return nil }
        return (year, month, day)
    }

    static func isRealDate(year: Int, month: Int, day: Int) -> Bool {
        guard year >= 1, (1...12).contains(month), day >= 1 else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return day <= lengths[month - 1]
    }

    /// A date-time in frictionless's default format: `cell[16] == ":"`, at least 19 characters, then
    /// dateutil's `isoparse`: `YYYY-MM-DD`, any one separator, then a time as `time(_:)` reads it.
    static func dateTime(_ b: UnsafeRawBufferPointer) -> Bool {
        guard b.count >= 19, b[16] == UInt8(ascii: ":"), isASCII(b) else { return false }
        guard (0..<4).allSatisfy({ isDigit(b[$0]) }), b[4] == UInt8(ascii: "-"), isDigit(b[5]), isDigit(b[6]),
            b[7] == UInt8(ascii: "-"), isDigit(b[8]), isDigit(b[9])
        else { return false }
        let year = (0..<4).reduce(0) { $0 * 10 + Int(b[$1] - 0x30) }
        let month = Int(b[5] - 0x30) * 10 + Int(b[6] - 0x30)
        let day = Int(b[8] - 0x30) * 10 + Int(b[9] - 0x30)
        guard isRealDate(year: year, month: month, day: day) else { return false }
        return isoTime(UnsafeRawBufferPointer(rebasing: b[11...]))
    }

    /// A time in frictionless's default format: `cell[5] == ":"`, at least 8 characters, then
    /// `HH:MM:SS`, an optional fraction (`.` or `,` and digits) and an optional offset (`Z`, `±HH`,
    /// `±HHMM`, `±HH:MM`); `24:00:00` is midnight.
    static func time(_ b: UnsafeRawBufferPointer) -> Bool {
        guard b.count >= 8, b[5] == UInt8(ascii: ":"), isASCII(b) else { return false }
        return isoTime(b)
    }

    private static func isoTime(_ b: UnsafeRawBufferPointer) -> Bool {
        func two(_ i: Int) -> Int? {
            guard i + 1 < b.count, isDigit(b[i]), isDigit(b[i + 1]) else { return nil }
            return Int(b[i] - 0x30) * 10 + Int(b[i + 1] - 0x30)
        }
        guard let hour = two(0), b.count > 2, b[2] == UInt8(ascii: ":"), let minute = two(3), b.count > 5,
            b[5] == UInt8(ascii: ":"), let second = two(6)
        else { return false }
        var i = 8
        var fractionIsZero = true
        if i < b.count, b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: ",") {
            var j = i + 1
            while j < b.count, isDigit(b[j]) {
                if j - i <= 6, b[j] != 0x30 { fractionIsZero = false }
                j += 1
            }
            if j > i + 1 { i = j }
        }
        if i < b.count {
            guard offset(UnsafeRawBufferPointer(rebasing: b[i...])) else { return false }
        }
        if hour == 24 { return minute == 0 && second == 0 && fractionIsZero }
        return hour < 24 && minute < 60 && second < 60
    }

    private static func offset(_ b: UnsafeRawBufferPointer) -> Bool {
        if b.count == 1 { return b[0] == UInt8(ascii: "Z") || b[0] == UInt8(ascii: "z") }
        guard [3, 5, 6].contains(b.count), b[0] == UInt8(ascii: "+") || b[0] == UInt8(ascii: "-"),
            isDigit(b[1]), isDigit(b[2])
        else { return false }
        let hours = Int(b[1] - 0x30) * 10 + Int(b[2] - 0x30)
        var minutes = 0
        if b.count > 3 {
            let start = b.count == 6 ? 4 : 3
            if b.count == 6, b[3] != UInt8(ascii: ":") { return false }
            guard isDigit(b[start]), isDigit(b[start + 1]) else { return false }
            minutes = Int(b[start] - 0x30) * 10 + Int(b[start + 1] - 0x30)
        }
        if hours == 0, minutes == 0 { return true }
        return minutes <= 59 && hours <= 23
    }

    /// One pass over a record's bytes: whether all are ASCII, and whether any is NUL.
    static func classify(_ bytes: UnsafeRawBufferPointer) -> (ascii: Bool, hasNUL: Bool) {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        var highBits: UInt64 = 0, zeroBytes: UInt64 = 0
        var i = 0
        let n = bytes.count
        while i + 8 <= n {
            let word = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            highBits |= word
            zeroBytes |= (word &- ones) & ~word
            i += 8
        }
        var tail = false
        while i < n {
            highBits |= UInt64(bytes[i])
            if bytes[i] == 0 { tail = true }
            i += 1
        }
        // (word - ones) & ~word has a high bit set for a zero byte, and only for bytes below 0x80, which
        // is all of them when the record is ASCII; otherwise containsNUL decides.
        let ascii = highBits & highs == 0
        let hasNUL = tail || (ascii ? zeroBytes & highs != 0 : containsNUL(bytes))
        return (ascii, hasNUL)
    }

    /// The index of the first byte past ASCII at or after `start`, or `bytes.count`.
    static func firstNonASCII(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var i = start
        let n = bytes.count
        while i + 8 <= n {
            let high = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080
            if high != 0 { return i + high.trailingZeroBitCount >> 3 }
            i += 8
        }
        while i < n, bytes[i] < 0x80 { i += 1 }
        return i
    }

    /// Whether every byte is ASCII.
    static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let n = bytes.count
        while i + 8 <= n {
            if bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            i += 8
        }
        while i < n {
            if bytes[i] >= 0x80 { return false }
            i += 1
        }
        return true
    }

    /// Whether `bytes` holds a NUL byte.
    static func containsNUL(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let n = bytes.count
        while i + 8 <= n {
            let word = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080 != 0 { return true }
            i += 8
        }
        while i < n {
            if bytes[i] == 0 { return true }
            i += 1
        }
        return false
    }

    /// The number of Unicode scalars in UTF-8 `bytes` (Python's `len()` of the string).
    static func scalarCount(_ bytes: UnsafeRawBufferPointer) -> Int {
        var count = 0
        for byte in bytes where byte & 0xC0 != 0x80 { count += 1 }
        return count
    }

    /// Whether `bytes` is well-formed UTF-8.
    static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let n = bytes.count
        while i < n {
            // ASCII runs eight bytes at a time.
            while i + 8 <= n, bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                i += 8
            }
            guard i < n else { break }
            let lead = bytes[i]
            if lead < 0x80 {
                i += 1
                continue
            }
            let width: Int
            let minimum: UInt32
            switch lead {
            case 0xC2...0xDF: width = 2; minimum = 0x80
            case 0xE0...0xEF: width = 3; minimum = 0x800
            case 0xF0...0xF4: width = 4; minimum = 0x10000
            default: return false
            }
            guard i + width <= n else { return false }
            var value = UInt32(lead) & (0xFF >> (width + 1))
            for offset in 1..<width {
                let next = bytes[i + offset]
                guard next & 0xC0 == 0x80 else { return false }
                value = value << 6 | UInt32(next & 0x3F)
            }
            guard value >= minimum, value <= 0x10FFFF, !(0xD800...0xDFFF).contains(value) else { return false }
            i += width
        }
        return true
    }
}
