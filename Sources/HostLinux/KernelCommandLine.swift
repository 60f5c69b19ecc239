/// A kernel command line split into arguments (`/proc/cmdline`, GRUB's `GRUB_CMDLINE_LINUX_DEFAULT`).
public struct KernelCommandLine: Sendable, Hashable, Codable {
    /// The arguments in order, quotes removed from values.
    public var arguments: [String]

    public init(arguments: [String]) {
        self.arguments = arguments
    }

    /// Splits on blanks outside double quotes; quotes are dropped (`a="b c"` is one argument `a=b c`).
    public static func parse(_ text: String) -> KernelCommandLine {
        var arguments: [String] = []
        var current = ""
        var inQuotes = false
        var started = false
        for character in text {
            if character == "\"" {
                inQuotes.toggle()
                started = true
            } else if !inQuotes && (character == " " || character == "\t" || character == "\n") {
                if started { arguments.append(current) }
                current = ""
                started = false
            } else {
                current.append(character)
                started = true
            }
        }
        if started { arguments.append(current) }
        return KernelCommandLine(arguments: arguments)
    }

    /// Reads `/proc/cmdline`.
    public static func read(_ fileSystem: any HostFileSystem) throws -> KernelCommandLine {
        parse(try fileSystem.readText("/proc/cmdline"))
    }

    /// The value of the last `key=value` argument, or nil. A bare `key` gives "".
    public func value(of key: String) -> String? {
        for argument in arguments.reversed() {
            if argument == key { return "" }
            if argument.hasPrefix(key + "=") { return String(argument.dropFirst(key.count + 1)) }
        }
        return nil
    }

    /// The arguments joined with spaces.
    public var text: String { arguments.joined(separator: " ") }
}
