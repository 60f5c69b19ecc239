import Foundation

/// The test-bed guest images from `scripts/testbed prepare` (see docs/testbed.md).
struct TestBed: Sendable {
    /// A kernel and the initramfs built for it.
    struct Image: Sendable {
        var kernel: String
        var initrd: String
    }

    /// Debian's cloud kernel: no bochs or HDA driver, the stand-in pairs start driverless.
    var cloud: Image
    /// Debian's full kernel (bochs DRM, snd-hda-intel, snd-ens1370), when prepared with `full`.
    var full: Image?
    /// The kernel command line to start from.
    var cmdline: String

    /// Runs `scripts/testbed prepare [--full]` (cached after the first time; the full kernel is a ~70 MB download
    /// once) and reads its `KEY=value` lines.
    static func prepare(full: Bool, scratch: ScratchDirectory) async throws -> TestBed {
        let outcome = try await TestCommand.runChecked(
            Repository.path("scripts/testbed"), ["prepare"] + (full ? ["--full"] : []),
            name: "prepare", outputDirectory: scratch.path, timeout: .seconds(1800))
        let values = Self.keyValues(outcome.standardOutput)
        guard let kernel = values["KERNEL"], let initrd = values["INITRD"], let cmdline = values["CMDLINE"] else {
            throw TestBedError("scripts/testbed prepare printed no KERNEL/INITRD/CMDLINE:\n\(outcome.standardOutput)")
        }
        var fullImage: Image?
        if full {
            guard let kernelFull = values["KERNEL_FULL"], let initrdFull = values["INITRD_FULL"] else {
                throw TestBedError("scripts/testbed prepare --full printed no KERNEL_FULL/INITRD_FULL:\n\(outcome.standardOutput)")
            }
            fullImage = Image(kernel: kernelFull, initrd: initrdFull)
        }
        return TestBed(cloud: Image(kernel: kernel, initrd: initrd), full: fullImage, cmdline: cmdline)
    }

    /// `KEY=value` lines, split at the first `=`.
    static func keyValues(_ text: String) -> [String: String] {
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return values
    }
}

/// The test bed could not be set up.
struct TestBedError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
