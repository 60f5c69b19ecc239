import HostLinux
import VMCore

/// What the host says about one network interface (`/sys/class/net/NAME`).
public struct InterfaceFacts: Sendable, Equatable {
    public var name: String
    public var exists: Bool
    /// A Linux bridge (`/sys/class/net/NAME/bridge`).
    public var isBridge: Bool
    /// A Wi-Fi NIC (`wireless` or `phy80211` in its sysfs folder).
    public var isWireless: Bool
    /// `up`, `down`, `unknown`, ... (`operstate`).
    public var operstate: String?
    /// The bridge this interface is a port of (`master`).
    public var master: String?
    /// For a bridge: its ports (`brif/`).
    public var ports: [String]
    /// For a bridge: the ports that are Wi-Fi NICs.
    public var wirelessPorts: [String]

    public init(name: String, exists: Bool, isBridge: Bool = false, isWireless: Bool = false, operstate: String? = nil,
                master: String? = nil, ports: [String] = [], wirelessPorts: [String] = []) {
        self.name = name
        self.exists = exists
        self.isBridge = isBridge
        self.isWireless = isWireless
        self.operstate = operstate
        self.master = master
        self.ports = ports
        self.wirelessPorts = wirelessPorts
    }
}

/// The host facts a network mode depends on.
public struct NetworkHostFacts: Sendable, Equatable {
    /// The bridge (bridge mode) or parent NIC (macvtap mode), when the definition names one.
    public var interface: InterfaceFacts?
    /// The rules of `/etc/qemu/bridge.conf`; nil when the file is missing.
    public var bridgeACL: BridgeACL?
    /// qemu-bridge-helper's path, when installed.
    public var bridgeHelper: String?
    /// Whether the helper has the setuid bit.
    public var bridgeHelperSetuid: Bool
    /// Whether `vm` runs as root.
    public var isRoot: Bool

    public init(interface: InterfaceFacts?, bridgeACL: BridgeACL?, bridgeHelper: String?, bridgeHelperSetuid: Bool, isRoot: Bool) {
        self.interface = interface
        self.bridgeACL = bridgeACL
        self.bridgeHelper = bridgeHelper
        self.bridgeHelperSetuid = bridgeHelperSetuid
        self.isRoot = isRoot
    }
}

/// Reads ``NetworkHostFacts`` through the ``HostFileSystem`` seam (`VM_HOST_ROOT` in tests).
public struct NetworkFactsReader: Sendable {
    public let fileSystem: any HostFileSystem
    /// Where Debian installs the helper, then other distributions.
    public static let helperPaths = ["/usr/lib/qemu/qemu-bridge-helper", "/usr/libexec/qemu-bridge-helper",
                                     "/usr/local/libexec/qemu-bridge-helper"]
    public static let bridgeConf = "/etc/qemu/bridge.conf"

    public init(fileSystem: any HostFileSystem) {
        self.fileSystem = fileSystem
    }

    /// The facts for `network`, as user `uid`.
    public func read(for network: NetworkSpec, uid: UInt32) -> NetworkHostFacts {
        let name: String? = switch network.mode {
        case .bridge: network.bridge
        case .macvtap: network.parent
        case .user, .network, .none: nil
        }
        let helper = Self.helperPaths.first(where: fileSystem.exists)
        let mode = helper.flatMap { try? fileSystem.permissions($0) } ?? 0
        let setuid = mode & 0o4000 != 0
        return NetworkHostFacts(interface: name.map(interface), bridgeACL: bridgeACL(), bridgeHelper: helper,
                                bridgeHelperSetuid: setuid, isRoot: uid == 0)
    }

    /// One interface's facts.
    public func interface(_ name: String) -> InterfaceFacts {
        let base = "/sys/class/net/\(name)"
        guard !name.contains("/"), fileSystem.exists(base) else { return InterfaceFacts(name: name, exists: false) }
        let isBridge = fileSystem.isDirectory("\(base)/bridge")
        let ports = isBridge ? ((try? fileSystem.contentsOfDirectory("\(base)/brif")) ?? []) : []
        return InterfaceFacts(
            name: name, exists: true, isBridge: isBridge, isWireless: isWireless(name),
            operstate: try? fileSystem.readTrimmed("\(base)/operstate"), master: fileSystem.linkBasename("\(base)/master"),
            ports: ports, wirelessPorts: ports.filter(isWireless))
    }

    func isWireless(_ name: String) -> Bool {
        fileSystem.exists("/sys/class/net/\(name)/wireless") || fileSystem.exists("/sys/class/net/\(name)/phy80211")
    }

    /// bridge.conf with its includes (one level, as the helper reads them); nil when missing.
    func bridgeACL() -> BridgeACL? {
        guard let text = fileSystem.readTextIfPresent(Self.bridgeConf) else { return nil }
        let top = BridgeACL.parse(text)
        var rules = top.rules
        for include in top.includes {
            if let included = fileSystem.readTextIfPresent(include) { rules += BridgeACL.parse(included).rules }
        }
        return BridgeACL(rules: rules)
    }
}
