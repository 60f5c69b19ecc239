import Foundation

/// Runs libvirt's own schema check, `virt-xml-validate FILE domain` (needs libxml2-utils).
enum XMLValidator {
    struct Result {
        let status: Int32
        let output: String
    }

    static func validateDomain(_ xml: String) throws -> Result {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("vm-libvirt-xml-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("domain.xml")
        try xml.write(to: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/virt-xml-validate")
        process.arguments = [file.path, "domain"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }
}
