import Foundation

/// One boot of the test-bed guest running one of the Guest/ scripts (with Guest/rk-lib.sh beside it) as
/// `vmtest.run`, with the real `vm` binary inside and any further overlays; the guest powers off after the script.
struct ScriptedGuest: Sendable {
    /// What the boot produced.
    struct Run: Sendable {
        var transcript: GuestTranscript
        /// The whole serial log, for failure messages.
        var serial: String
        var qemuStatus: Int32
        var qemuStandardError: String
        /// QEMU start to exit (boot, overlay unpacking, the script, power-off).
        var duration: Duration
        /// Time spent making the initramfs (the overlays + concatenation).
        var preparation: Duration

        /// The last part of the serial log, for `#require` comments.
        var serialTail: String { String(serial.suffix(6000)) }
    }

    var image: TestBed.Image
    var baseCmdline: String
    var pairs: [StandInPair]
    /// The script under Tests/RealKernelTests/Guest/.
    var script: String
    /// The script's own kernel parameters (`rktest.*`, `nptest.*`).
    var scriptParameters: [String]
    /// Made before the boot, in the scratch folder given, and unpacked after the `vm` overlay.
    var extraOverlays: @Sendable (ScratchDirectory) async throws -> [String] = { _ in [] }
    var memoryMiB = 1024
    var cpus = 1
    /// Further QEMU arguments of the first-level machine (``GuestMachine/extraArguments``).
    var machineArguments: [String] = []
    /// Boot, unpacking, the script and power-off together; TCG on a loaded 2-core host is slow.
    var timeout: Duration = .seconds(600)

    /// Builds the initramfs (test-bed initrd + script overlay + `vm` overlay + extras), boots QEMU, waits for it to exit
    /// (the guest powers off after the script) and parses the serial log. QEMU is killed on timeout, on
    /// cancellation and on any error.
    func run() async throws -> Run {
        let scratch = try ScratchDirectory()
        let clock = ContinuousClock()
        let preparationStart = clock.now
        let vmOverlay = try await VMOverlay.current()
        let scriptOverlay = scratch.file("script.cpio.gz")
        _ = try await TestCommand.runChecked(
            Repository.path("scripts/testbed"),
            ["overlay", scriptOverlay, "\(Repository.guestScript(script)):\(GuestMachine.scriptPath)",
             "\(Repository.guestScript("rk-lib.sh")):\(GuestMachine.libraryPath)"],
            name: "script-overlay", outputDirectory: scratch.path, timeout: .seconds(120))
        let initrd = scratch.file("initrd")
        let extras = try await extraOverlays(scratch)
        try Self.concatenate([image.initrd, scriptOverlay, vmOverlay] + extras, into: initrd)
        let preparation = clock.now - preparationStart

        let serialLog = scratch.file("serial.log")
        let machine = GuestMachine(
            kernel: image.kernel, initrd: initrd, baseCmdline: baseCmdline, pairs: pairs,
            scriptParameters: scriptParameters, serialLog: serialLog, memoryMiB: memoryMiB, cpus: cpus,
            extraArguments: machineArguments)
        let outcome: ChildOutcome
        do {
            // At a lower priority (`nice -n 10`): these QEMUs run for many minutes beside the rest of
            // the test run, while the system libvirtd keeps all of its guests in one cgroup
            // (`machine`), which the scheduler weighs as a single task. At normal priority four or
            // five of these starved the libvirt suites' guests on a 2-CPU machine (stalls of 20 s
            // and more, boots past their 120 s wait); niced, they take the CPU the others leave.
            outcome = try await TestCommand.run(try TestCommand.locate("nice"),
                                                 ["-n", "10", try TestCommand.locate("qemu-system-x86_64")] + machine.arguments,
                                                 name: "qemu", outputDirectory: scratch.path, timeout: timeout)
        } catch let error as TestCommandError {
            let serial = (try? String(contentsOfFile: serialLog, encoding: .utf8)) ?? "(no serial log)"
            throw TestBedError("\(error)\nserial log:\n\(serial.suffix(6000))")
        }
        let serial = (try? String(contentsOfFile: serialLog, encoding: .utf8)) ?? ""
        return Run(transcript: GuestTranscript(serial: serial), serial: serial, qemuStatus: outcome.status,
                   qemuStandardError: outcome.standardError, duration: outcome.duration, preparation: preparation)
    }

    /// Linux unpacks concatenated cpio archives (compressed or not) in order, later files winning. It skips zero
    /// bytes between archives but takes an uncompressed one only at a 4-byte aligned offset (else: "invalid magic at
    /// start of compressed archive", and the rest is silently missing), so every part is padded to 4 bytes.
    private static func concatenate(_ parts: [String], into output: String) throws {
        guard FileManager.default.createFile(atPath: output, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: output])
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        defer { try? handle.close() }
        for part in parts {
            let input = try FileHandle(forReadingFrom: URL(fileURLWithPath: part))
            defer { try? input.close() }
            var length = 0
            while let chunk = try input.read(upToCount: 1 << 22), !chunk.isEmpty {
                try handle.write(contentsOf: chunk)
                length += chunk.count
            }
            try handle.write(contentsOf: Data(count: (4 - length % 4) % 4))
        }
    }
}
