import VMCore

/// A process holding one of a GPU's device nodes open.
public struct DeviceHolder: Sendable, Hashable, Codable {
    public var pid: Int32
    /// The program name (`/proc/PID/comm`).
    public var command: String
    /// The device node it holds (`/dev/nvidia0`, `/dev/dri/renderD128`, `/dev/snd/pcmC1D3p`).
    public var deviceNode: String

    public init(pid: Int32, command: String, deviceNode: String) {
        self.pid = pid
        self.command = command
        self.deviceNode = deviceNode
    }
}

/// Which device nodes belong to a slot: exact paths and path prefixes.
public struct DeviceNodeSet: Sendable, Hashable, Codable {
    public var exact: Set<String>
    public var prefixes: Set<String>

    public init(exact: Set<String> = [], prefixes: Set<String> = []) {
        self.exact = exact
        self.prefixes = prefixes
    }

    /// Whether an fd's link target is one of these nodes.
    public func matches(_ target: String) -> Bool {
        exact.contains(target) || prefixes.contains { target.hasPrefix($0) }
    }
}

/// Finds processes that hold a GPU's device nodes by scanning `/proc/*/fd` under the root.
public struct HolderScanner: Sendable {
    public let fileSystem: any HostFileSystem

    public init(fileSystem: any HostFileSystem) {
        self.fileSystem = fileSystem
    }

    /// The nodes of `functions`: `/dev/dri/cardN` + `renderDN` from each function's `drm/`, the ALSA nodes of
    /// each `sound/cardN`, and every `/dev/nvidia*` when a function is on the `nvidia` driver.
    public func deviceNodes(of functions: [PCIDevice]) -> DeviceNodeSet {
        var nodes = DeviceNodeSet()
        for function in functions {
            let dir = PCIDeviceReader.directory(of: function.address)
            for entry in (try? fileSystem.contentsOfDirectory(dir + "/drm")) ?? []
            where entry.hasPrefix("card") || entry.hasPrefix("renderD") {
                nodes.exact.insert("/dev/dri/" + entry)
            }
            for entry in (try? fileSystem.contentsOfDirectory(dir + "/sound")) ?? [] where entry.hasPrefix("card") {
                let number = entry.dropFirst("card".count)
                guard !number.isEmpty, number.allSatisfy(\.isNumber) else { continue }
                nodes.exact.insert("/dev/snd/controlC\(number)")
                for kind in ["pcmC", "hwC", "midiC"] { nodes.prefixes.insert("/dev/snd/\(kind)\(number)D") }
            }
            if function.driver == "nvidia" { nodes.prefixes.insert("/dev/nvidia") }
        }
        return nodes
    }

    /// Every process with an open fd on one of `nodes`, sorted by pid. Processes that vanish mid-scan are skipped.
    public func holders(of nodes: DeviceNodeSet) -> [DeviceHolder] {
        guard !nodes.exact.isEmpty || !nodes.prefixes.isEmpty,
              let entries = try? fileSystem.contentsOfDirectory("/proc") else { return [] }
        var holders: [DeviceHolder] = []
        for entry in entries {
            guard let pid = Int32(entry) else { continue }
            let fdDirectory = "/proc/\(entry)/fd"
            guard let fds = try? fileSystem.contentsOfDirectory(fdDirectory) else { continue }
            var seen = Set<String>()
            for fd in fds {
                guard let target = try? fileSystem.readLink(fdDirectory + "/" + fd), nodes.matches(target),
                      seen.insert(target).inserted else { continue }
                let command = (try? fileSystem.readTrimmed("/proc/\(entry)/comm")) ?? "?"
                holders.append(DeviceHolder(pid: pid, command: command, deviceNode: target))
            }
        }
        return holders.sorted { ($0.pid, $0.deviceNode) < ($1.pid, $1.deviceNode) }
    }

    /// Holders of every function of a slot.
    public func holders(of functions: [PCIDevice]) -> [DeviceHolder] {
        holders(of: deviceNodes(of: functions))
    }
}
