extension StringProtocol {
    /// The string without leading and trailing characters from `characters`. (Plain Swift: `vm`
    /// links FoundationEssentials, which has no `trimmingCharacters(in:)`; that one also cost far
    /// more on a hot path such as `/proc/cpuinfo`.)
    public func trimming(_ characters: String) -> String {
        let set = Set(characters)
        return trimming { set.contains($0) }
    }

    /// The string without leading and trailing spaces and tabs (line breaks stay).
    public func trimmingBlanks() -> String {
        trimming(" \t")
    }

    /// The string without leading and trailing white space, line breaks included.
    public func trimmingWhitespace() -> String {
        trimming(\.isWhitespace)
    }

    /// The string without the leading and trailing characters for which `isTrimmed` is true.
    private func trimming(_ isTrimmed: (Character) -> Bool) -> String {
        var slice = Substring(self)
        while let first = slice.first, isTrimmed(first) { slice = slice.dropFirst() }
        while let last = slice.last, isTrimmed(last) { slice = slice.dropLast() }
        return String(slice)
    }
}

extension String {
    /// The string in a column `width` characters wide: padded with spaces, or cut to fit.
    public func column(width: Int) -> String {
        count >= width ? String(prefix(width)) : self + String(repeating: " ", count: width - count)
    }
}
