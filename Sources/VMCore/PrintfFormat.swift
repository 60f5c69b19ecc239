import Glibc

/// printf-style formatting of numbers (`%.1f`, `0x%06x`) with the C library's `vsnprintf`.
/// (`vm` links FoundationEssentials, which has no `String(format:)`.)
public enum PrintfFormat {
    /// `format` filled in with `arguments`, as `printf` would print it.
    public static func string(_ format: String, _ arguments: any CVarArg...) -> String {
        withVaList(arguments) { list in
            var buffer = [CChar](repeating: 0, count: 128)
            let length = Int(vsnprintf(&buffer, buffer.count, format, list))
            if length >= buffer.count {
                buffer = [CChar](repeating: 0, count: length + 1)
                _ = withVaList(arguments) { vsnprintf(&buffer, buffer.count, format, $0) }
            }
            return String(decoding: buffer[..<max(0, min(length, buffer.count - 1))].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}
