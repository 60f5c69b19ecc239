import Foundation

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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments(file.path)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        return Result(status: reap(process), output: String(decoding: data, as: UTF8.self))
    }

    /// The exit status of `process`, reaped here: in a test process that also starts children
    /// through swift-subprocess, Foundation's `waitUntilExit` was seen to miss a child's exit and
    /// wait forever, holding one of the cooperative threads (and with two of them, every test).
    static func reap(_ process: Process) -> Int32 {
        let pid = process.processIdentifier
        var raw: Int32 = 0
        while true {
            let reaped = waitpid(pid, &raw, 0)
            if reaped == pid { return raw & 0x7f == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f) }
            if reaped < 0, errno == EINTR { continue }
            // Foundation reaped it first, and so knows the status (as soon as it has noted it).
            process.waitUntilExit()
            return process.terminationStatus
        }
    }
}
