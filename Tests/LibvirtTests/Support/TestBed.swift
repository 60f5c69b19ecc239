import Foundation

/// The test-bed guest from `scripts/testbed prepare` (Debian cloud kernel + busybox initramfs; it
/// prints VMTEST-READY on the serial console and powers off on the ACPI power button unless
/// booted with `vmtest.acpi=off`). Prepared once per test process; the script caches it on disk.
struct TestBed: Sendable {
    let kernel: String
    let initrd: String
    let cmdline: String

    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private static let prepared = Task { try prepareNow() }

    static func prepare() async throws -> TestBed {
        try await prepared.value
    }

    /// Runs `scripts/testbed prepare` (a no-op when cached) and reads its KEY=value lines.
    private static func prepareNow() throws -> TestBed {
        let process = Process()
        process.executableURL = repository.appendingPathComponent("scripts/testbed")
        process.arguments = ["prepare"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw TestBedError.prepareFailed("exit \(process.terminationStatus): \(text)") }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        guard let kernel = values["KERNEL"], let initrd = values["INITRD"], let cmdline = values["CMDLINE"] else {
            throw TestBedError.prepareFailed("no KERNEL/INITRD/CMDLINE in: \(text)")
        }
        return TestBed(kernel: kernel, initrd: initrd, cmdline: cmdline)
    }
}

enum TestBedError: Error {
    case prepareFailed(String)
    case guestNotReady(String)
}
