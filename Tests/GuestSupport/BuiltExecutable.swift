import Foundation

/// An executable of this package built before the tests (`swift build --product vm`,
/// `--product vm-libvirt` and `--product vm-supervisor`; scripts/test builds all three).
public enum BuiltExecutable {
    /// The path of executable `name` in the debug build folder or next to the test bundle.
    public static func path(_ name: String) throws -> String {
        let candidates = [TestBed.repository.appendingPathComponent(".build/debug/\(name)").path,
                          Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent(name).path]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw TestBedError.prepareFailed("no \(name) executable at \(candidates); run `swift build --product \(name)` first")
        }
        return found
    }
}
