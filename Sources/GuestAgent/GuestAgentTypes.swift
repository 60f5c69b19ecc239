import FoundationEssentials
import Glibc
import QMP

/// What `guest-info`, `guest-get-osinfo` and `guest-network-get-interfaces` tell about the guest.
public struct GuestInfo: Sendable, Equatable, Encodable {
    /// qemu-ga's version.
    public var agentVersion: String
    /// The commands the agent has enabled, sorted.
    public var enabledCommands: [String]
    /// The guest OS, when the agent supports `guest-get-osinfo`.
    public var os: GuestOSInfo?
    /// The guest's network interfaces, when the agent supports `guest-network-get-interfaces`.
    public var interfaces: [GuestInterface]?
    /// Why a part is missing (`guest-get-osinfo: CommandNotFound ...`).
    public var notes: [String] = []
}

/// The guest OS (`guest-get-osinfo`).
public struct GuestOSInfo: Sendable, Equatable, Encodable {
    /// `linux`, `mswindows`, ...
    public var id: String?
    public var prettyName: String?
    public var kernelRelease: String?
    public var machine: String?

    /// Whether the guest runs Windows.
    public var isWindows: Bool { id == "mswindows" }
}

/// One guest network interface.
public struct GuestInterface: Sendable, Equatable, Encodable {
    public var name: String
    public var hardwareAddress: String?
    /// `address/prefix` strings.
    public var addresses: [String]
}

/// How a guest command ended (`guest-exec-status`).
public struct GuestExecResult: Sendable, Equatable {
    /// The guest pid.
    public var pid: Int64
    /// The exit code, when it exited normally.
    public var exitCode: Int?
    /// The signal that ended it, when one did.
    public var signal: Int?
    public var standardOutput: Data
    public var standardError: Data
    /// The agent cut the captured output short.
    public var truncated: Bool
}

extension GuestInfo {
    /// Parses a `guest-info` reply.
    static func parse(guestInfo reply: JSONValue) -> GuestInfo? {
        guard let version = reply["version"]?.stringValue else { return nil }
        let commands = (reply["supported_commands"]?.arrayValue ?? []).compactMap { command -> String? in
            guard command["enabled"]?.boolValue ?? false else { return nil }
            return command["name"]?.stringValue
        }
        return GuestInfo(agentVersion: version, enabledCommands: commands.sorted())
    }
}

extension GuestOSInfo {
    /// Parses a `guest-get-osinfo` reply.
    static func parse(_ reply: JSONValue) -> GuestOSInfo {
        GuestOSInfo(id: reply["id"]?.stringValue, prettyName: reply["pretty-name"]?.stringValue,
                    kernelRelease: reply["kernel-release"]?.stringValue, machine: reply["machine"]?.stringValue)
    }
}

extension GuestInterface {
    /// Parses a `guest-network-get-interfaces` reply.
    static func parse(list reply: JSONValue) -> [GuestInterface]? {
        guard let list = reply.arrayValue else { return nil }
        return list.compactMap { entry in
            guard let name = entry["name"]?.stringValue else { return nil }
            let addresses = (entry["ip-addresses"]?.arrayValue ?? []).compactMap { address -> String? in
                guard let ip = address["ip-address"]?.stringValue else { return nil }
                return address["prefix"]?.intValue.map { "\(ip)/\($0)" } ?? ip
            }
            return GuestInterface(name: name, hardwareAddress: entry["hardware-address"]?.stringValue, addresses: addresses)
        }
    }
}

extension GuestExecResult {
    /// Parses a finished `guest-exec-status` reply; nil while the command still runs.
    static func parse(status reply: JSONValue, pid: Int64) throws(GuestAgentError) -> GuestExecResult? {
        guard let exited = reply["exited"]?.boolValue else {
            throw .unexpectedReply(command: "guest-exec-status", reply: reply.description)
        }
        guard exited else { return nil }
        func decode(_ key: String) throws(GuestAgentError) -> Data {
            guard let text = reply[key]?.stringValue else { return Data() }
            guard let data = Data(base64Encoded: text) else {
                throw .unexpectedReply(command: "guest-exec-status", reply: "\(key) is not base64")
            }
            return data
        }
        return GuestExecResult(
            pid: pid, exitCode: reply["exitcode"]?.intValue.map(Int.init), signal: reply["signal"]?.intValue.map(Int.init),
            standardOutput: try decode("out-data"), standardError: try decode("err-data"),
            truncated: (reply["out-truncated"]?.boolValue ?? false) || (reply["err-truncated"]?.boolValue ?? false))
    }
}
