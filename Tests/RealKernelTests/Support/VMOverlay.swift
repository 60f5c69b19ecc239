import Foundation

/// The initramfs overlay holding the `vm` binary (at /usr/bin/vm) and every library `ldd` lists for it, made with
/// `scripts/testbed overlay`. Writing it takes ~10-20 s, so it is cached under `.build/realkernel/`, keyed by the
/// binary's size and modification time; older overlays there are removed.
enum VMOverlay {
    /// The overlay for the current `vm` binary, made once per binary.
    static func current() async throws -> String {
        try await cache.overlay()
    }

    private static let cache = Cache()

    private actor Cache {
        private var made: String?

        func overlay() async throws -> String {
            if let made, FileManager.default.fileExists(atPath: made) { return made }
            let binary = try VMBinary.locate()
            let attributes = try FileManager.default.attributesOfItem(atPath: binary)
            let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
            let modified = Int64(((attributes[.modificationDate] as? Date) ?? .distantPast).timeIntervalSince1970)
            let directory = Repository.path(".build/realkernel")
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let name = "vm-\(size)-\(modified).cpio"
            let overlay = "\(directory)/\(name)"
            if !FileManager.default.fileExists(atPath: overlay) {
                for old in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where old.hasPrefix("vm-") {
                    try? FileManager.default.removeItem(atPath: "\(directory)/\(old)")
                }
                try await write(binary: binary, to: overlay, work: directory)
            }
            made = overlay
            return overlay
        }

        /// A stripped copy of the binary (debug info is useless in the guest and makes the overlay several times
        /// larger), then `scripts/testbed overlay`, written to a temporary name and renamed.
        private func write(binary: String, to overlay: String, work: String) async throws {
            let scratch = try ScratchDirectory()
            var source = binary
            if let strip = try? ChildProcess.locate("strip") {
                let stripped = scratch.file("vm")
                let outcome = try await ChildProcess.run(strip, ["-o", stripped, binary], name: "strip",
                                                         outputDirectory: scratch.path, timeout: .seconds(300))
                if outcome.status == 0 { source = stripped }
            }
            let partial = overlay.replacingOccurrences(of: ".cpio", with: ".partial-\(getpid()).cpio")
            _ = try await ChildProcess.runChecked(
                Repository.path("scripts/testbed"), ["overlay", partial, "\(source):/usr/bin/vm"],
                name: "overlay", outputDirectory: scratch.path, timeout: .seconds(900))
            guard rename(partial, overlay) == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: overlay]) }
        }
    }
}

/// Where the `vm` executable of this build is.
enum VMBinary {
    /// `vm` next to the running test bundle (SwiftPM builds every product before `swift test` runs), else in
    /// `.build/debug/`. Building it from inside a test would wait on the build lock `swift test` holds, so a missing
    /// binary is an error that says what to run.
    static func locate() throws -> String {
        var candidates: [String] = []
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("vm").path)
        }
        candidates.append(Repository.path(".build/debug/vm"))
        guard let found = candidates.first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw TestBedError("no vm binary at \(candidates.joined(separator: " or ")): run `swift build --product vm` first")
        }
        return found
    }
}
