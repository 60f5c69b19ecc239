import Foundation

/// A private (0700) folder under /tmp for one test, removed when the value goes away.
final class ScratchDirectory: Sendable {
    let path: String

    init() throws {
        var template = Array("/tmp/rkt-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        path = String(cString: made)
    }

    /// `name` inside the folder.
    func file(_ name: String) -> String { "\(path)/\(name)" }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}
