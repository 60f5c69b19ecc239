import Foundation

/// The initramfs overlay holding the `vm` binary (at /usr/bin/vm) and every library `ldd` lists for it, made with
/// `scripts/testbed overlay`. Writing it takes 3-45 s (host load), so it is cached under `.build/realkernel/`, keyed by the
/// binary's size and modification time; older overlays there are removed.
enum VMOverlay {
    /// The overlay for the current `vm` binary, made once per binary.
    static func current() async throws -> String {
        try await shared.value()
    }

    private static let shared = SharedAttempt { try await make() }

    private static func make() async throws -> String {
        let binary = try await VMBinary.locate()
        let attributes = try FileManager.default.attributesOfItem(atPath: binary)
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        let modified = Int64(((attributes[.modificationDate] as? Date) ?? .distantPast).timeIntervalSince1970)
        let directory = Repository.path(".build/realkernel")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let overlay = "\(directory)/vm-\(size)-\(modified).cpio"
        if !FileManager.default.fileExists(atPath: overlay) {
            for old in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where old.hasPrefix("vm-") {
                try? FileManager.default.removeItem(atPath: "\(directory)/\(old)")
            }
            try await write(binary: binary, to: overlay)
        }
        return overlay
    }

    /// A stripped copy of the binary (debug info is useless in the guest and makes the overlay several times
    /// larger), then `scripts/testbed overlay`, written to a temporary name and renamed.
    private static func write(binary: String, to overlay: String) async throws {
        let scratch = try ScratchDirectory()
        var source = binary
        if let strip = try? TestCommand.locate("strip") {
            let stripped = scratch.file("vm")
            let outcome = try await TestCommand.run(strip, ["-o", stripped, binary], name: "strip",
                                                     outputDirectory: scratch.path, timeout: .seconds(300))
            if outcome.status == 0 { source = stripped }
        }
        let partial = overlay.replacingOccurrences(of: ".cpio", with: ".partial-\(getpid()).cpio")
        _ = try await TestCommand.runChecked(
            Repository.path("scripts/testbed"), ["overlay", partial, "\(source):/usr/bin/vm"],
            name: "overlay", outputDirectory: scratch.path, timeout: .seconds(900))
        guard rename(partial, overlay) == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: overlay]) }
    }
}

/// Where the `vm` executable of this build is.
enum VMBinary {
    /// `vm` next to the running test bundle (`swift test` builds every product first), else in `.build/debug/`.
    /// When neither exists it is built with its own `--scratch-path` (`.build/realkernel/build`): slow (a full
    /// build), but a plain `swift build` from inside `swift test --skip-build` waits forever on the `.build` lock
    /// that swift-test holds (checked).
    static func locate() async throws -> String {
        if let found = candidates().first(where: FileManager.default.isExecutableFile(atPath:)) { return found }
        let scratch = try ScratchDirectory()
        let swift = try TestCommand.locate("swift")
        let buildOptions = ["--product", "vm", "--scratch-path", Repository.path(".build/realkernel/build")]
        _ = try await TestCommand.runChecked(swift, ["build"] + buildOptions, name: "build", outputDirectory: scratch.path,
                                              currentDirectory: Repository.root, timeout: .seconds(3600))
        let binPath = try await TestCommand.runChecked(swift, ["build", "--show-bin-path"] + buildOptions, name: "bin-path",
                                                        outputDirectory: scratch.path, currentDirectory: Repository.root,
                                                        timeout: .seconds(300))
        let built = binPath.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) + "/vm"
        guard FileManager.default.isExecutableFile(atPath: built) else {
            throw TestBedError("swift build --product vm finished but there is no executable at \(built)")
        }
        return built
    }

    private static func candidates() -> [String] {
        var candidates: [String] = []
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("vm").path)
        }
        candidates.append(Repository.path(".build/debug/vm"))
        return candidates
    }
}
