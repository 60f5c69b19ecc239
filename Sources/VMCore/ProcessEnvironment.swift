import Foundation

/// This process's environment, read once. `ProcessInfo.processInfo.environment` builds a new
/// dictionary from `environ` on every call, and one `vm up` asks for it several times on the way
/// to starting QEMU; `vm` never changes its own environment.
public enum ProcessEnvironment {
    public static let current: [String: String] = ProcessInfo.processInfo.environment
}
