import Foundation
import HostLinux
import Network
import VMCore

/// A network namespace this test creates and deletes: nothing in it touches the machine's own
/// interfaces, and its 10.x/192.168.x addresses have no route out.
final class TestNamespace: @unchecked Sendable {
    let name: String
    let runner = ProcessCommandRunner()
    /// `/etc/netns/NAME`: `ip netns exec` bind-mounts its entries over `/etc` (bridge.conf).
    var etcDirectory: String { "/etc/netns/\(name)" }
    /// The host as `vm` reads it for a QEMU in this namespace (`VM_HOST_ROOT`): the same
    /// bridge.conf QEMU's helper reads there, and the helper itself.
    let hostRoot: String
    /// Folders of the machine this namespace made because they were missing, removed with it:
    /// `/etc/netns`, and `/etc/qemu` (`ip netns exec` can only bind-mount `/etc/netns/NAME/qemu`
    /// over a folder that exists, and a new machine has none).
    private let madeFolders: [String]

    init() throws {
        name = "vmt-\(UInt32.random(in: 0...0xffffff))"
        hostRoot = NSTemporaryDirectory() + name
        madeFolders = ["/etc/qemu", "/etc/netns"].filter { !FileManager.default.fileExists(atPath: $0) }
        for folder in madeFolders { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false) }
        for helper in NetworkFactsReader.helperPaths where FileManager.default.fileExists(atPath: helper) {
            try FileManager.default.createDirectory(atPath: hostRoot + (helper as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: hostRoot + helper, contents: nil, attributes: [.posixPermissions: 0o4755]) else {
                throw NamespaceError.failed(["create", hostRoot + helper], "could not create the helper's stand-in")
            }
        }
        try run(["ip", "netns", "add", name])
        try ip("link", "set", "lo", "up")
    }

    deinit {
        _ = try? runner.run(["ip", "netns", "delete", name], timeout: .seconds(20))
        try? FileManager.default.removeItem(atPath: etcDirectory)
        try? FileManager.default.removeItem(atPath: hostRoot)
        for folder in madeFolders { rmdir(folder) }
    }

    /// `ip -n NAME ARGS...`, which must succeed.
    @discardableResult
    func ip(_ arguments: String...) throws -> String {
        try run(["ip", "-n", name] + arguments)
    }

    /// Runs `argv` inside the namespace; returns the exit status.
    func status(_ argv: [String]) throws -> Int32 {
        try runner.run(["ip", "netns", "exec", name] + argv, timeout: .seconds(30)).status
    }

    @discardableResult
    func run(_ argv: [String]) throws -> String {
        let result = try runner.run(argv, timeout: .seconds(30))
        guard result.status == 0 else { throw NamespaceError.failed(argv, result.standardError) }
        return result.standardOutput
    }

    /// Writes `/etc/netns/NAME/qemu/bridge.conf`, seen as `/etc/qemu/bridge.conf` inside, and
    /// the same file under ``hostRoot`` for `vm`'s own check.
    func writeBridgeConf(_ text: String) throws {
        for folder in ["\(etcDirectory)/qemu", "\(hostRoot)/etc/qemu"] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try text.write(toFile: "\(folder)/bridge.conf", atomically: true, encoding: .utf8)
        }
    }

    /// A QEMU "binary" for the launcher: a fixed script that runs the real QEMU inside this
    /// namespace with the arguments it was given (no user text passes through a shell).
    func qemuWrapper(in directory: String) throws -> String {
        try wrapper(for: try QEMUPath.find(), named: "qemu", in: directory)
    }

    /// A fixed script that runs `executable` inside this namespace with the arguments it was
    /// given (the same process: `ip netns exec` execs it). Written through a close-on-exec
    /// descriptor: a process that another test starts meanwhile must not keep the script open for
    /// writing, or running it fails with ETXTBSY.
    func wrapper(for executable: String, named prefix: String, in directory: String) throws -> String {
        let path = "\(directory)/\(prefix)-in-\(name)"
        try FileAccess.write("#!/bin/sh\nexec ip netns exec \(name) \(executable) \"$@\"\n", to: path, permissions: 0o755)
        return path
    }

    /// Runs `ip` commands for `vm` inside this namespace.
    var commandRunner: NamespacedRunner { NamespacedRunner(namespace: name) }
}

/// A ``HostCommandRunner`` that runs each program inside a network namespace.
struct NamespacedRunner: HostCommandRunner {
    let namespace: String
    func run(_ arguments: [String], timeout: Duration) throws -> CommandResult {
        try ProcessCommandRunner().run(["ip", "netns", "exec", namespace] + arguments, timeout: timeout)
    }
}

enum QEMUPath {
    static func find() throws -> String {
        guard let path = ProcessCommandRunner().locate("qemu-system-x86_64") else { throw NamespaceError.failed(["qemu-system-x86_64"], "not found") }
        return path
    }
}

enum NamespaceError: Error {
    case failed([String], String)
}
