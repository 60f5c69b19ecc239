import FoundationEssentials
import Glibc
import HostLinux

/// The `xorriso` tool (Debian package `xorriso`): builds the extras ISO, reads ISOs back, and
/// takes files out of the user's virtio-win ISO. Always run with an argument array.
public struct Xorriso: Sendable {
    public let runner: any HostCommandRunner

    public init(runner: any HostCommandRunner = ProcessCommandRunner()) {
        self.runner = runner
    }

    /// Writes an ISO 9660 image with Joliet and Rock Ridge names of `folder` to `output`.
    public func buildISO(from folder: String, to output: String, volumeID: String) throws(ExtrasError) {
        try run(["-as", "mkisofs", "-quiet", "-J", "-joliet-long", "-R", "-V", volumeID, "-o", output, folder])
    }

    /// Copies `path` out of `iso` to `destination`; false when the ISO has no such file.
    public func extract(_ path: String, from iso: String, to destination: String) throws(ExtrasError) -> Bool {
        do {
            try run(["-osirrox", "on", "-indev", iso, "-extract", path, destination])
        } catch .xorrisoFailed {
            return false
        }
        return FileManager.default.fileExists(atPath: destination)
    }

    /// Every file path in `iso` (`-find`), sorted.
    public func list(_ iso: String) throws(ExtrasError) -> [String] {
        let output = try run(["-indev", iso, "-find", "/", "-type", "f"])
        return output.split(separator: "\n").map { line in
            var text = line.trimmingBlanks()
            if text.hasPrefix("'"), text.hasSuffix("'"), text.count >= 2 { text = String(text.dropFirst().dropLast()) }
            return text
        }.filter { $0.hasPrefix("/") }.sorted()
    }

    @discardableResult
    func run(_ arguments: [String]) throws(ExtrasError) -> String {
        let result: CommandResult
        do {
            result = try runner.run(["xorriso"] + arguments, timeout: .seconds(300))
        } catch CommandRunnerError.notFound {
            throw .xorrisoMissing
        } catch {
            throw .xorrisoFailed(arguments: arguments, status: -1, stderr: "\(error)")
        }
        guard result.status == 0 else { throw .xorrisoFailed(arguments: arguments, status: result.status, stderr: result.standardError) }
        return result.standardOutput
    }
}
