import Foundation

/// The QEMU command line libvirt would run for a domain XML, as `virsh domxml-to-native
/// qemu-argv` prints it (one shell-quoted line; nothing is defined or started).
enum NativeArgv {
    struct Failure: Error, CustomStringConvertible {
        let output: String
        var description: String { "virsh domxml-to-native failed: \(output)" }
    }

    static func of(_ xml: String, uri: String = "qemu:///system") throws -> String {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("vm-libvirt-native-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("domain.xml")
        try xml.write(to: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/virsh")
        process.arguments = ["-c", uri, "domxml-to-native", "qemu-argv", file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let output = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw Failure(output: output) }
        return output
    }
}
