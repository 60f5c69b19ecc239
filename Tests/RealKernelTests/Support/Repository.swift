import Foundation

/// Paths inside this repository, found from this source file's location.
enum Repository {
    /// The repository root (this file is Tests/RealKernelTests/Support/Repository.swift).
    static let root: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .path

    /// `relative` under the root.
    static func path(_ relative: String) -> String { root + "/" + relative }

    /// The guest script the tests run (Tests/RealKernelTests/Guest/NAME).
    static func guestScript(_ name: String) -> String { path("Tests/RealKernelTests/Guest/" + name) }
}
