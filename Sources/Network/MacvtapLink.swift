import FoundationEssentials
import Glibc
import HostLinux
import VMCore

/// Why the macvtap link of a VM could not be set up.
public enum MacvtapError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `ip` failed; `command` is what ran.
    case commandFailed(command: [String], status: Int32, stderr: String)
    /// `ip` could not be run at all.
    case cannotRun(command: [String], reason: String)
    /// `ip -o link show` printed something unexpected.
    case unparsableLink(String)
    /// `/dev/tapN` did not appear or could not be opened.
    case tapDevice(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .commandFailed(let command, let status, let stderr):
            let text = stderr.trimmingWhitespace()
            return "\(command.joined(separator: " ")) exited with \(status)\(text.isEmpty ? "" : ": \(text)")"
        case .cannotRun(let command, let reason):
            return "cannot run \(command.joined(separator: " ")): \(reason)"
        case .unparsableLink(let text):
            return "unexpected `ip -o link show` output: \(text)"
        case .tapDevice(let path, let code):
            return "cannot open \(path): \(String(cString: strerror(code)))"
        }
    }
}

/// The macvtap link a VM's NIC sits on: `vm up` creates it on the definition's parent NIC with the
/// definition's MAC, opens its `/dev/tapN` for QEMU, and `vm down` removes it.
///
/// Runs `ip` through the ``HostCommandRunner`` seam (tests wrap it in `ip netns exec`).
public struct MacvtapLink: Sendable {
    /// The link's name (`vmtapNAME`, at most 15 bytes).
    public let name: String
    public let runner: any HostCommandRunner

    public init(vm: VMName, runner: any HostCommandRunner) {
        self.name = Self.interfaceName(for: vm)
        self.runner = runner
    }

    /// `vmtap` + the VM name, shortened with a hash when it would pass Linux's 15-byte limit.
    public static func interfaceName(for vm: VMName) -> String {
        let name = vm.rawValue
        if name.utf8.count <= 10 { return "vmtap" + name }
        var hash: UInt32 = 2_166_136_261
        for byte in name.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return "vmtap" + String(name.prefix(6)) + String(String(hash & 0xffff, radix: 16).leftPadded(to: 4))
    }

    /// Creates the link on `parent` (`ip link add link PARENT name vmtapNAME type macvtap mode
    /// bridge`), gives it `mac`, brings it up and returns its interface index. A link left by an
    /// earlier run is removed first.
    public func create(parent: String, mac: MACAddress) throws(MacvtapError) -> Int {
        if exists { try remove() }
        try ip(["link", "add", "link", parent, "name", name, "type", "macvtap", "mode", "bridge"])
        do {
            try ip(["link", "set", "dev", name, "address", mac.description])
            try ip(["link", "set", "dev", name, "up"])
            return try ifindex()
        } catch {
            try? remove()
            throw error
        }
    }

    /// The link's interface index (N of `/dev/tapN`).
    public func ifindex() throws(MacvtapError) -> Int {
        try Self.parseIfindex(try ip(["-o", "link", "show", "dev", name]))
    }

    /// Deletes the link.
    public func remove() throws(MacvtapError) {
        try ip(["link", "delete", "dev", name])
    }

    /// Whether the link exists.
    public var exists: Bool { (try? ifindex()) != nil }

    /// The index at the start of `ip -o link show` output (`12: vmtapwin@eth0: <...`).
    public static func parseIfindex(_ output: String) throws(MacvtapError) -> Int {
        guard let colon = output.firstIndex(of: ":"),
              let index = Int(output[..<colon].trimmingBlanks()) else {
            throw .unparsableLink(String(output.prefix(200)))
        }
        return index
    }

    /// Opens `/dev/tapN` read-write (waiting up to `timeout` for devtmpfs/udev to create it).
    /// The caller owns the returned descriptor.
    public static func openTap(ifindex: Int, timeout: Duration = .seconds(5)) throws(MacvtapError) -> Int32 {
        let path = "/dev/tap\(ifindex)"
        let deadline = ContinuousClock.now + timeout
        while true {
            let fd = open(path, O_RDWR | O_CLOEXEC)
            if fd >= 0 { return fd }
            let code = errno
            guard code == ENOENT, ContinuousClock.now < deadline else { throw .tapDevice(path: path, errno: code) }
            usleep(20_000)
        }
    }

    @discardableResult
    private func ip(_ arguments: [String]) throws(MacvtapError) -> String {
        let command = ["ip"] + arguments
        let result: CommandResult
        do {
            result = try runner.run(command, timeout: .seconds(20))
        } catch {
            throw .cannotRun(command: command, reason: "\(error)")
        }
        guard result.status == 0 else {
            throw .commandFailed(command: command, status: result.status, stderr: result.standardError)
        }
        return result.standardOutput
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
