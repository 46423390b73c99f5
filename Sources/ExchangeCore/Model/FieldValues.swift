/// Values in one canonical spelling, so that a record read from either binding can be written to either
/// binding and stay valid: XML and CSV accept different spellings of the same boolean, number, time or
/// date-time (`1` and `true`, `+5` and `5`, `10:00:00-05:00` and `10:00:00`), and each binding's checker
/// would refuse some of the other's.
public enum FieldValues {
    /// The canonical spelling of a value that already passed its schema check (DESIGN section 4: values
    /// are canonical after the gate): booleans `true`/`false`, numbers without surrounding white space,
    /// digit separators, a plus sign, an exponent or superfluous zeros, dates `YYYY-MM-DD` (the CSV
    /// binding also reads `2026-1-5`), times `HH:MM:SS`, date-times `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`.
    /// Strings are returned as they are.
    public static func canonical(_ value: String, as type: TableSchema.FieldType) -> String {
        switch type {
        case .string: return value
        case .date: return canonicalDate(value) ?? value
        case .boolean:
            return ["true", "True", "TRUE", "1"].contains(value) ? "true" : "false"
        case .integer, .number:
            let plain = String(CellValues.strippedLikePython(value).filter { $0 != "_" })
            return canonicalNumber(plain) ?? value
        case .time: return String(value.prefix(8))
        case .datetime: return DateTimeValue(value)?.canonical ?? value
        }
    }

    /// A date as `YYYY-MM-DD`, from any spelling the CSV binding reads (`strptime("%Y-%m-%d")`: a month or
    /// day of one digit, or a space then one digit).
    static func canonicalDate(_ text: String) -> String? {
        var bytes = Array(text.utf8)
        guard let (year, month, day) = bytes.withUnsafeMutableBytes({ CellValues.date(UnsafeRawBufferPointer($0)) }) else { return nil }
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day))"
    }

    /// A decimal number written plainly: `+05.50` → `5.5`, `1E2` → `100`, `-0` → `0`.
    static func canonicalNumber(_ text: String) -> String? {
        var scalars = Substring(text)
        var negative = false
        if let first = scalars.first, first == "+" || first == "-" {
            negative = first == "-"
            scalars = scalars.dropFirst()
        }
        var mantissa = scalars
        var exponent = 0
        if let e = scalars.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let value = Int(scalars[scalars.index(after: e)...]), abs(value) < 400 else { return nil }
            exponent = value
            mantissa = scalars[..<e]
        }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, !(parts.first ?? "").isEmpty || parts.count == 2 else { return nil }
        var integerDigits = Array(parts[0])
        var fractionDigits = parts.count == 2 ? Array(parts[1]) : []
        guard (integerDigits + fractionDigits).allSatisfy(\.isASCIIDigit), !(integerDigits + fractionDigits).isEmpty else { return nil }
        // Shift the decimal point by the exponent.
        while exponent > 0 {
            integerDigits.append(fractionDigits.isEmpty ? "0" : fractionDigits.removeFirst())
            exponent -= 1
        }
        while exponent < 0 {
            fractionDigits.insert(integerDigits.isEmpty ? "0" : integerDigits.removeLast(), at: 0)
            exponent += 1
        }
        while integerDigits.count > 1, integerDigits.first == "0" { integerDigits.removeFirst() }
        if integerDigits.isEmpty { integerDigits = ["0"] }
        while fractionDigits.last == "0" { fractionDigits.removeLast() }
        let body = String(integerDigits) + (fractionDigits.isEmpty ? "" : "." + String(fractionDigits))
        return negative && body != "0" ? "-" + body : body
    }
}

/// A date-time as both bindings accept it, parsed: `YYYY-MM-DD` then one separator (`T`, a space, ...),
/// `HH:MM[:SS[.fff]]` (the fraction after `.` or `,`), then `Z`, `±HH:MM`, `±HHMM`, `±HH` or nothing
/// (local time of the sender).
public struct DateTimeValue: Sendable, Equatable {
    /// The local date and time as written.
    public var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int
    /// Fraction of a second as written (digits only), or "".
    public var fraction: String
    /// Offset from UTC in minutes, nil when the value had none.
    public var offsetMinutes: Int?

    /// Parses `text`; nil when it is not a date-time of that shape.
    public init?(_ text: String) {
        let chars = Array(text.utf8)
        func digits(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= chars.count else { return nil }
            var value = 0
            for byte in chars[start..<start + count] {
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard chars.count >= 16, let year = digits(0, 4), chars[4] == 0x2D, let month = digits(5, 2), chars[7] == 0x2D,
            // Any one separator between date and time, as the CSV binding reads it (XML's is `T`).
            let day = digits(8, 2), chars[10] < 0x80, let hour = digits(11, 2), chars[13] == 0x3A,
            let minute = digits(14, 2)
        else { return nil }
        var index = 16
        var second = 0
        var fraction = ""
        if index < chars.count, chars[index] == 0x3A {
            guard let value = digits(index + 1, 2) else { return nil }
            second = value
            index += 3
            if index < chars.count, chars[index] == 0x2E || chars[index] == 0x2C {
                index += 1
                let start = index
                while index < chars.count, chars[index] >= 0x30, chars[index] <= 0x39 { index += 1 }
                guard index > start else { return nil }
                fraction = String(decoding: chars[start..<index], as: UTF8.self)
            }
        }
        var offset: Int?
        if index < chars.count {
            if chars[index] == 0x5A || chars[index] == 0x7A, index + 1 == chars.count {
                offset = 0
            } else if chars[index] == 0x2B || chars[index] == 0x2D {
                let sign = chars[index] == 0x2D ? -1 : 1
                let rest = chars.count - index - 1
                guard let hours = digits(index + 1, 2) else { return nil }
                var minutes = 0
                switch rest {
                case 2: break
                case 4: guard let value = digits(index + 3, 2) else { return nil }; minutes = value
                case 5: guard chars[index + 3] == 0x3A, let value = digits(index + 4, 2) else { return nil }; minutes = value
                default: return nil
                }
                offset = sign * (hours * 60 + minutes)
            } else {
                return nil
            }
        }
        guard (1...12).contains(month), (1...31).contains(day), hour <= 24, minute < 60, second < 61 else { return nil }
        (self.year, self.month, self.day, self.hour, self.minute, self.second) = (year, month, day, hour, minute, second)
        self.fraction = fraction
        self.offsetMinutes = offset
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fff]` with `Z`, `±HH:MM` or nothing.
    public var canonical: String {
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        var text = "\(year)-\(two(month))-\(two(day))T\(two(hour)):\(two(minute)):\(two(second))"
        if !fraction.isEmpty { text += "." + fraction }
        if let offsetMinutes {
            if offsetMinutes == 0 {
                text += "Z"
            } else {
                let magnitude = abs(offsetMinutes)
                text += (offsetMinutes < 0 ? "-" : "+") + two(magnitude / 60) + ":" + two(magnitude % 60)
            }
        }
        return text
    }

    /// The instant, taking a value without an offset at `defaultOffsetMinutes`.
    public func instant(defaultOffsetMinutes: Int) -> Timestamp {
        let days = LocalDate(year: year, month: month, day: day)?.dayNumber ?? 0
        let local = days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        return Timestamp(secondsSinceEpoch: local - Int64(offsetMinutes ?? defaultOffsetMinutes) * 60)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { asciiValue.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
}
