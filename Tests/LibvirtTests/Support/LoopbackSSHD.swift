import Foundation
import Glibc
import HostLinux

/// An `sshd` of the test's own on 127.0.0.1 (a free port), with a host key and a client key made
/// for the test, so the libvirt backend can be driven through `qemu+ssh://` for real. Nothing
/// listens beyond loopback; ``stop()`` ends the daemon and removes its folder.
final class LoopbackSSHD: Sendable {
    let directory: String
    let port: Int
    let process: ChildProcess

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The libvirt URI of the system daemon on this machine reached through this sshd as root.
    var libvirtURI: String {
        "qemu+ssh://root@127.0.0.1:\(port)/system?keyfile=\(directory)/client_key&no_verify=1"
    }

    init() throws {
        var template = Array("/tmp/vm-sshd-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw Failure(description: "mkdtemp failed") }
        directory = String(cString: made)
        for key in ["host_key", "client_key"] {
            try Self.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "vm-test", "-f", "\(directory)/\(key)"])
        }
        try FileManager.default.copyItem(atPath: "\(directory)/client_key.pub", toPath: "\(directory)/authorized_keys")
        // sshd's privilege-separation folder.
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        port = try Self.freeLoopbackPort()
        let log = open("\(directory)/sshd.log", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard log >= 0 else { throw Failure(description: "cannot create \(directory)/sshd.log") }
        defer { close(log) }
        process = try ChildProcess([
            "/usr/sbin/sshd",
            "-D", "-e", "-f", "/dev/null",
            "-o", "ListenAddress=127.0.0.1:\(port)",
            "-o", "HostKey=\(directory)/host_key",
            "-o", "AuthorizedKeysFile=\(directory)/authorized_keys",
            "-o", "PermitRootLogin=prohibit-password",
            "-o", "PasswordAuthentication=no",
            "-o", "KbdInteractiveAuthentication=no",
            "-o", "StrictModes=no",
            "-o", "UsePAM=no",
            "-o", "PidFile=none",
        ], standardError: .descriptor(log))
        for _ in 0..<100 {
            if Self.accepts(port) { return }
            guard process.isRunning else { break }
            usleep(50_000)
        }
        stop()
        throw Failure(description: "sshd did not listen on 127.0.0.1:\(port)")
    }

    func stop() {
        process.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func run(_ program: String, _ arguments: [String]) throws {
        let result = try ProcessCommandRunner().run([program] + arguments, timeout: .seconds(60))
        guard result.status == 0 else { throw Failure(description: "\(program) \(arguments) exited \(result.status): \(result.standardError)") }
    }

    /// A TCP port on 127.0.0.1 that nothing listens on now (the kernel picks it).
    static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket failed") }
        defer { close(fd) }
        var address = loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw Failure(description: "bind failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }
}
