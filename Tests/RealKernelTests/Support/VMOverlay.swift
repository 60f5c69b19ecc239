import Foundation

/// The initramfs overlay holding the `vm` and `vm-supervisor` binaries (in /usr/bin, where `vm up` finds its supervisor
/// next to itself) and every library `ldd` lists for them, made with `scripts/testbed overlay`. Writing it takes 3-45 s
/// (host load), so it is cached under `.build/realkernel/`, keyed by the binaries' sizes and modification times; older
/// overlays there are removed.
enum VMOverlay {
    /// The overlay for the current binaries, made once per build.
    static func current() async throws -> String {
        try await shared.value()
    }

    private static let shared = SharedAttempt { try await make() }

    private static func make() async throws -> String {
        let binaries = try await VMBinary.locate()
        let stamps = try binaries.map { binary -> String in
            let attributes = try FileManager.default.attributesOfItem(atPath: binary)
            let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
            let modified = Int64(((attributes[.modificationDate] as? Date) ?? .distantPast).timeIntervalSince1970)
            return "\(size)-\(modified)"
        }
        let directory = Repository.path(".build/realkernel")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let overlay = "\(directory)/vm-\(stamps.joined(separator: "-")).cpio"
        if !FileManager.default.fileExists(atPath: overlay) {
            for old in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where old.hasPrefix("vm-") {
                try? FileManager.default.removeItem(atPath: "\(directory)/\(old)")
            }
            try await write(binaries: binaries, to: overlay)
        }
        return overlay
    }

    /// Stripped copies of the binaries (debug info is useless in the guest and makes the overlay several times
    /// larger), then `scripts/testbed overlay`, written to a temporary name and renamed.
    private static func write(binaries: [String], to overlay: String) async throws {
        let scratch = try ScratchDirectory()
        var entries: [String] = []
        for binary in binaries {
            let name = URL(fileURLWithPath: binary).lastPathComponent
            var source = binary
            if let strip = try? TestCommand.locate("strip") {
                let stripped = scratch.file(name)
                let outcome = try await TestCommand.run(strip, ["-o", stripped, binary], name: "strip-\(name)",
                                                         outputDirectory: scratch.path, timeout: .seconds(300))
                if outcome.status == 0 { source = stripped }
            }
            entries.append("\(source):/usr/bin/\(name)")
        }
        let partial = overlay.replacingOccurrences(of: ".cpio", with: ".partial-\(getpid()).cpio")
        _ = try await TestCommand.runChecked(
            Repository.path("scripts/testbed"), ["overlay", partial] + entries,
            name: "overlay", outputDirectory: scratch.path, timeout: .seconds(900))
        guard rename(partial, overlay) == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: overlay]) }
    }
}

/// Where the executables of this build are: `vm` and its supervisor `vm-supervisor`, side by side.
enum VMBinary {
    /// The products the guest runs, in the order ``locate()`` returns them.
    static let products = ["vm", "vm-supervisor"]

    /// The products next to the running test bundle (`swift test` builds every product first), else in `.build/debug/`.
    /// When neither folder has both they are built with their own `--scratch-path` (`.build/realkernel/build`): slow (a
    /// full build), but a plain `swift build` from inside `swift test --skip-build` waits forever on the `.build` lock
    /// that swift-test holds (checked).
    static func locate() async throws -> [String] {
        let complete = folders().map { folder in products.map { "\(folder)/\($0)" } }
            .first { $0.allSatisfy(FileManager.default.isExecutableFile(atPath:)) }
        if let complete { return complete }
        let scratch = try ScratchDirectory()
        let swift = try TestCommand.locate("swift")
        let scratchPath = ["--scratch-path", Repository.path(".build/realkernel/build")]
        for product in products {
            _ = try await TestCommand.runChecked(swift, ["build", "--product", product] + scratchPath, name: "build-\(product)",
                                                  outputDirectory: scratch.path, currentDirectory: Repository.root,
                                                  timeout: .seconds(3600))
        }
        let binPath = try await TestCommand.runChecked(swift, ["build", "--show-bin-path"] + scratchPath, name: "bin-path",
                                                        outputDirectory: scratch.path, currentDirectory: Repository.root,
                                                        timeout: .seconds(300))
        let folder = binPath.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        let built = products.map { "\(folder)/\($0)" }
        if let missing = built.first(where: { !FileManager.default.isExecutableFile(atPath: $0) }) {
            throw TestBedError("swift build finished but there is no executable at \(missing)")
        }
        return built
    }

    private static func folders() -> [String] {
        var folders: [String] = []
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            folders.append(URL(fileURLWithPath: executable).deletingLastPathComponent().path)
        }
        folders.append(Repository.path(".build/debug"))
        return folders
    }
}
