import Foundation
import HostLinux

/// Runs libvirt's own schema check, `virt-xml-validate FILE domain` (needs libxml2-utils).
enum XMLValidator {
    struct Result {
        let status: Int32
        let output: String
    }

    static func validateDomain(_ xml: String) throws -> Result {
        try runOnFile(xml, "/usr/bin/virt-xml-validate") { [$0, "domain"] }
    }

    /// Writes `xml` to a file of its own, runs `program` with `arguments(file)` and returns its
    /// exit status and combined output; the file is removed afterwards.
    static func runOnFile(_ xml: String, _ program: String, arguments: (String) -> [String]) throws -> Result {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("vm-libvirt-xml-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("domain.xml")
        try xml.write(to: file, atomically: true, encoding: .utf8)
        let result = try ProcessCommandRunner().run([program] + arguments(file.path), timeout: .seconds(120))
        return Result(status: result.status, output: result.standardOutput + result.standardError)
    }
}
