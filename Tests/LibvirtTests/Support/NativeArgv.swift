import Foundation

/// The QEMU command line libvirt would run for a domain XML, as `virsh domxml-to-native
/// qemu-argv` prints it (one shell-quoted line; nothing is defined or started).
enum NativeArgv {
    struct Failure: Error, CustomStringConvertible {
        let output: String
        var description: String { "virsh domxml-to-native failed: \(output)" }
    }

    static func of(_ xml: String, uri: String = "qemu:///system") throws -> String {
        let result = try XMLValidator.runOnFile(xml, "/usr/bin/virsh") { ["-c", uri, "domxml-to-native", "qemu-argv", $0] }
        guard result.status == 0 else { throw Failure(output: result.output) }
        return result.output
    }
}
