import Glibc

/// This process's environment, read once from `environ`. (`ProcessInfo.processInfo.environment`
/// builds a new dictionary on every call, and its first call sets up all of `ProcessInfo`; `vm`
/// asks for the environment several times on the way to starting QEMU and never changes it.)
public enum ProcessEnvironment {
    public static let current: [String: String] = {
        var variables: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            // The first definition of a name wins, as for getenv(3).
            if let equals = text.firstIndex(of: "="), case let name = String(text[..<equals]), variables[name] == nil {
                variables[name] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        return variables
    }()
}
