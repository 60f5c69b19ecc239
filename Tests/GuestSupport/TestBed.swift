import Foundation
import Subprocess
import SystemPackage

/// The test-bed guest from `scripts/testbed prepare` (Debian cloud kernel + busybox initramfs),
/// built once per test run and cached by the script itself.
public struct TestBed: Sendable {
    public let kernel: String
    public let initrd: String
    public let cmdline: String

    public static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs `scripts/testbed prepare` (a no-op when cached) and reads its KEY=value lines.
    public static func prepare() async throws -> TestBed {
        let result = try await Subprocess.run(
            .path(FilePath(repository.appendingPathComponent("scripts/testbed").path)), arguments: ["prepare"],
            output: .string(limit: 1 << 16), error: .string(limit: 1 << 20))
        guard result.terminationStatus.isSuccess else {
            throw TestBedError.prepareFailed(result.standardError)
        }
        var values: [String: String] = [:]
        for line in result.standardOutput.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        guard let kernel = values["KERNEL"], let initrd = values["INITRD"], let cmdline = values["CMDLINE"] else {
            throw TestBedError.prepareFailed("no KERNEL/INITRD/CMDLINE in: \(result.standardOutput)")
        }
        return TestBed(kernel: kernel, initrd: initrd, cmdline: cmdline)
    }

    /// A definition that boots this guest under TCG with no firmware or disk; `network` is the
    /// body of its [network] table.
    public func definition(extraCmdline: String = "", extra: String = "", network: String = "mode = \"none\"") -> String {
        """
        accelerator = "tcg"
        memory = "256M"
        \(extra)
        [firmware]
        type = "bios"
        [boot]
        kernel = "\(kernel)"
        initrd = "\(initrd)"
        append = "\(cmdline) \(extraCmdline)"
        [network]
        \(network)
        """
    }
}

public enum TestBedError: Error {
    case prepareFailed(String)
    case guestNotReady(String)
}
