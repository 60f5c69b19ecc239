/// The bare values of TOML 1.0: booleans, integers (decimal, hex, octal, binary, with
/// underscores), floats (with `inf` and `nan`), and dates and times (kept as `.other`).
enum TOMLScalar {
    /// The value `token` spells, or nil when it is not a TOML value.
    static func value(of token: ArraySlice<UInt8>) -> TOMLDocument.Node? {
        let text = String(decoding: token, as: UTF8.self)
        switch text {
        case "true": return .boolean(true)
        case "false": return .boolean(false)
        case "inf", "+inf": return .float(.infinity)
        case "-inf": return .float(-.infinity)
        case "nan", "+nan", "-nan": return .float(.nan)
        default: break
        }
        if let kind = dateTimeKind(Array(token)) { return .other(typeName: kind) }
        if let integer = integer(token) { return integer }
        return float(token)
    }

    /// Why `token` is not a value, for the error message.
    static func problem(with token: ArraySlice<UInt8>) -> String {
        let unsigned = token.first == UInt8(ascii: "+") || token.first == UInt8(ascii: "-") ? token.dropFirst() : token
        if unsigned.count > 1, unsigned.first == UInt8(ascii: "0"), unsigned.allSatisfy(isDecimal) {
            return "a decimal number cannot start with 0"
        }
        if isDigitRun(unsigned, isDecimal) { return "this integer does not fit in 64 bits" }
        return "this is not a TOML value; quote text (\"...\"), or write a number, true or false"
    }

    static func isDecimal(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// True when `digits` is one or more digits (by `isDigit`) with single underscores between them.
    static func isDigitRun(_ digits: ArraySlice<UInt8>, _ isDigit: (UInt8) -> Bool) -> Bool {
        guard let first = digits.first, let last = digits.last, isDigit(first), isDigit(last) else { return false }
        var previousUnderscore = false
        for byte in digits {
            if byte == UInt8(ascii: "_") {
                if previousUnderscore { return false }
                previousUnderscore = true
            } else {
                guard isDigit(byte) else { return false }
                previousUnderscore = false
            }
        }
        return true
    }

    private static func withoutUnderscores(_ digits: ArraySlice<UInt8>) -> String {
        String(decoding: digits.filter { $0 != UInt8(ascii: "_") }, as: UTF8.self)
    }

    private static func integer(_ token: ArraySlice<UInt8>) -> TOMLDocument.Node? {
        if token.count > 2, token.first == UInt8(ascii: "0") {
            let digits = token.dropFirst(2)
            let radix: Int
            let isDigit: (UInt8) -> Bool
            switch token[token.startIndex + 1] {
            case UInt8(ascii: "x"): radix = 16; isDigit = { TOMLScanner.hexDigit($0) != nil }
            case UInt8(ascii: "o"): radix = 8; isDigit = { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "7") }
            case UInt8(ascii: "b"): radix = 2; isDigit = { $0 == UInt8(ascii: "0") || $0 == UInt8(ascii: "1") }
            default: return nil
            }
            guard isDigitRun(digits, isDigit), let value = Int(withoutUnderscores(digits), radix: radix) else { return nil }
            return .integer(value)
        }
        let unsigned = token.first == UInt8(ascii: "+") || token.first == UInt8(ascii: "-") ? token.dropFirst() : token
        guard isDecimalInteger(unsigned), let value = Int(withoutUnderscores(token)) else { return nil }
        return .integer(value)
    }

    /// Decimal digits with underscores and no leading zero (`0` itself is fine).
    private static func isDecimalInteger(_ digits: ArraySlice<UInt8>) -> Bool {
        guard isDigitRun(digits, isDecimal) else { return false }
        return digits.count == 1 || digits.first != UInt8(ascii: "0")
    }

    private static func float(_ token: ArraySlice<UInt8>) -> TOMLDocument.Node? {
        let unsigned = token.first == UInt8(ascii: "+") || token.first == UInt8(ascii: "-") ? token.dropFirst() : token
        let exponentAt = unsigned.firstIndex { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
        let mantissa = unsigned[..<(exponentAt ?? unsigned.endIndex)]
        let dot = mantissa.firstIndex(of: UInt8(ascii: "."))
        guard isDecimalInteger(mantissa[..<(dot ?? mantissa.endIndex)]) else { return nil }
        if let dot, !isDigitRun(mantissa[(dot + 1)...], isDecimal) { return nil }
        if let exponentAt {
            var exponent = unsigned[(exponentAt + 1)...]
            if exponent.first == UInt8(ascii: "+") || exponent.first == UInt8(ascii: "-") { exponent = exponent.dropFirst() }
            guard isDigitRun(exponent, isDecimal) else { return nil }
        }
        guard dot != nil || exponentAt != nil, let value = Double(withoutUnderscores(token)) else { return nil }
        return .float(value)
    }

    // MARK: Dates and times

    /// `date`, `time` or `date-time` when `token` is a TOML date, time or date-time (with a `T`, `t`
    /// or space between date and time), else nil.
    static func dateTimeKind(_ token: [UInt8]) -> String? {
        if isTime(token[...]) { return "time" }
        guard token.count >= 10, isDate(token[0..<10]) else { return nil }
        if token.count == 10 { return "date" }
        guard [UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")].contains(token[10]) else { return nil }
        var time = token[11...]
        if time.last == UInt8(ascii: "Z") || time.last == UInt8(ascii: "z") {
            time = time.dropLast()
        } else if time.count > 6, let sign = time.dropLast(5).last, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            guard isClock(time.suffix(5), seconds: false) else { return nil }
            time = time.dropLast(6)
        }
        return isTime(time) ? "date-time" : nil
    }

    private static func number(_ digits: ArraySlice<UInt8>) -> Int? {
        guard !digits.isEmpty, digits.allSatisfy(isDecimal) else { return nil }
        return digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
    }

    /// `YYYY-MM-DD` with a real day of that month.
    private static func isDate(_ text: ArraySlice<UInt8>) -> Bool {
        let start = text.startIndex
        guard text.count == 10, text[start + 4] == UInt8(ascii: "-"), text[start + 7] == UInt8(ascii: "-"),
              let year = number(text[start..<start + 4]), let month = number(text[start + 5..<start + 7]),
              let day = number(text[start + 8..<start + 10]), (1...12).contains(month) else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return (1...days).contains(day)
    }

    /// `HH:MM:SS` with an optional fraction.
    private static func isTime(_ text: ArraySlice<UInt8>) -> Bool {
        guard text.count >= 8, isClock(text.prefix(8), seconds: true) else { return false }
        let rest = text.dropFirst(8)
        if rest.isEmpty { return true }
        return rest.first == UInt8(ascii: ".") && rest.count > 1 && rest.dropFirst().allSatisfy(isDecimal)
    }

    /// `HH:MM` or `HH:MM:SS`.
    private static func isClock(_ text: ArraySlice<UInt8>, seconds: Bool) -> Bool {
        let start = text.startIndex
        guard text.count == (seconds ? 8 : 5), text[start + 2] == UInt8(ascii: ":"),
              let hour = number(text[start..<start + 2]), let minute = number(text[start + 3..<start + 5]),
              hour < 24, minute < 60 else { return false }
        guard seconds else { return true }
        guard text[start + 5] == UInt8(ascii: ":"), let second = number(text[start + 6..<start + 8]) else { return false }
        return second <= 60
    }
}
