import VMCore

/// Whether Parsec-style peer-to-peer streaming (UPnP, then STUN hole punching) is likely.
public enum P2PLikelihood: String, Sendable, Encodable {
    case likely
    case unlikely
    /// The guest has no network.
    case impossible
}

/// One thing that keeps a network mode from working, and how to fix it.
public struct NetworkProblem: Sendable, Equatable, Encodable {
    public var problem: String
    public var fix: String
    public init(problem: String, fix: String) {
        self.problem = problem
        self.fix = fix
    }
}

/// The verdict of `vm net check`.
public struct NetworkVerdict: Sendable, Equatable, Encodable {
    public var mode: String
    /// What the mode gives the guest (its own LAN address, NAT, nothing).
    public var gives: String
    public var p2p: P2PLikelihood
    public var p2pReason: String
    public var problems: [NetworkProblem]
    /// Facts worth knowing that are not problems.
    public var notes: [String]
    /// No problems found.
    public var ok: Bool { problems.isEmpty }

    public init(mode: String, gives: String, p2p: P2PLikelihood, p2pReason: String, problems: [NetworkProblem], notes: [String]) {
        self.mode = mode
        self.gives = gives
        self.p2p = p2p
        self.p2pReason = p2pReason
        self.problems = problems
        self.notes = notes
    }

    enum CodingKeys: String, CodingKey { case mode, gives, p2p, p2pReason, problems, notes, ok }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(mode, forKey: .mode)
        try container.encode(gives, forKey: .gives)
        try container.encode(p2p, forKey: .p2p)
        try container.encode(p2pReason, forKey: .p2pReason)
        try container.encode(problems, forKey: .problems)
        try container.encode(notes, forKey: .notes)
        try container.encode(ok, forKey: .ok)
    }
}

/// Judges a network definition against host facts. Pure.
public enum NetworkCheck {
    static let lanReason = "the guest has its own address on the LAN, so Parsec can open a port with UPnP or punch through with STUN like any LAN machine"

    public static func verdict(for network: NetworkSpec, facts: NetworkHostFacts) -> NetworkVerdict {
        switch network.mode {
        case .user: return user()
        case .bridge: return bridge(network, facts)
        case .macvtap: return macvtap(network, facts)
        case .network: return libvirtNetwork(network)
        case .none:
            return NetworkVerdict(mode: "none", gives: "no network card", p2p: .impossible,
                                  p2pReason: "the guest has no network", problems: [], notes: [])
        }
    }

    static func user() -> NetworkVerdict {
        NetworkVerdict(
            mode: "user",
            gives: "NAT: the guest sits behind QEMU's user-mode network (10.0.2.15, gateway 10.0.2.2) and reaches the LAN and internet through the host; nothing on the LAN can reach it",
            p2p: .unlikely,
            p2pReason: "QEMU user networking is a NAT without UPnP; Parsec's peer-to-peer connection usually fails across subnets and falls back to a relay or fails",
            problems: [],
            notes: ["for peer-to-peer streaming use mode = \"bridge\" (a host bridge on a wired NIC) or mode = \"macvtap\" (parent = a wired NIC)"])
    }

    static func bridge(_ network: NetworkSpec, _ facts: NetworkHostFacts) -> NetworkVerdict {
        var problems: [NetworkProblem] = []
        var notes: [String] = []
        let name = network.bridge ?? ""
        var gives = "its own LAN address (from the LAN's DHCP server) through host bridge \(name)"
        if network.bridge == nil {
            problems.append(NetworkProblem(problem: "bridge mode needs a bridge name", fix: "set bridge = \"br0\" (your host bridge) under [network]"))
        } else if let interface = facts.interface {
            if !interface.exists {
                problems.append(NetworkProblem(
                    problem: "there is no interface \(name) on this host",
                    fix: "create the bridge and move the wired NIC into it, e.g. `nmcli con add type bridge ifname \(name)` and `nmcli con add type bridge-slave ifname eth0 master \(name)` (or `ip link add \(name) type bridge; ip link set eth0 master \(name)`), then move the host's IP configuration to \(name)"))
            } else if !interface.isBridge {
                problems.append(NetworkProblem(
                    problem: "\(name) is not a bridge",
                    fix: "name a bridge (ls /sys/class/net/*/bridge), or use mode = \"macvtap\" with parent = \"\(name)\""))
            } else {
                let physical = interface.ports.filter { !isVirtualPort($0) }
                if !interface.wirelessPorts.isEmpty {
                    problems.append(NetworkProblem(
                        problem: "bridge \(name) has Wi-Fi port(s) \(interface.wirelessPorts.joined(separator: ", ")): an access point only accepts frames from the host's own MAC, so bridging over Wi-Fi does not work",
                        fix: "put a wired NIC in the bridge instead; over Wi-Fi use mode = \"user\" (NAT)"))
                } else if physical.isEmpty {
                    problems.append(NetworkProblem(
                        problem: "bridge \(name) has no physical port: the guest only reaches the host and other VMs on it",
                        fix: "add the wired NIC: `ip link set eth0 master \(name)` (or with nmcli as a bridge-slave)"))
                } else {
                    gives += " (port \(physical.joined(separator: ", ")))"
                }
                if interface.operstate == "down" {
                    problems.append(NetworkProblem(problem: "bridge \(name) is down", fix: "ip link set \(name) up"))
                }
            }
        }
        problems += bridgeHelperProblems(network, facts)
        notes.append("the host and the guest can talk to each other over the bridge")
        return NetworkVerdict(mode: "bridge", gives: gives, p2p: problems.isEmpty ? .likely : .unlikely,
                              p2pReason: problems.isEmpty ? lanReason : "bridge mode is not working yet (see problems)",
                              problems: problems, notes: notes)
    }

    /// What keeps QEMU's bridge helper from adding the guest's tap to the bridge: with any of
    /// these, QEMU ends at start with the helper's raw message, so `vm up` refuses on them (with
    /// the fix) and `vm net check` lists them. QEMU runs the helper for `-netdev bridge` whoever
    /// runs it; only a user other than root needs its setuid bit.
    public static func bridgeHelperProblems(_ network: NetworkSpec, _ facts: NetworkHostFacts) -> [NetworkProblem] {
        guard network.mode == .bridge else { return [] }
        var problems: [NetworkProblem] = []
        if let helper = facts.bridgeHelper {
            if !facts.isRoot, !facts.bridgeHelperSetuid {
                problems.append(NetworkProblem(
                    problem: "\(helper) is not setuid root, so QEMU run by this user cannot add its tap to the bridge",
                    fix: "chmod u+s \(helper) (or run vm as root)"))
            }
        } else {
            problems.append(NetworkProblem(
                problem: "qemu-bridge-helper is not installed",
                fix: "install it (Debian: apt-get install qemu-system-common)"))
        }
        let name = network.bridge ?? "br0"
        let conf = NetworkFactsReader.bridgeConf
        if let acl = facts.bridgeACL {
            if network.bridge != nil, !acl.allows(name) {
                problems.append(NetworkProblem(
                    problem: "\(conf) does not allow \(name)",
                    fix: "add the line `allow \(name)` to \(conf)"))
            }
        } else {
            problems.append(NetworkProblem(
                problem: "\(conf) is missing, so qemu-bridge-helper refuses every bridge",
                fix: "create it with the line `allow \(name)`, mode 0644, owned by root: `mkdir -p /etc/qemu && echo 'allow \(name)' > \(conf)`"))
        }
        return problems
    }

    static func macvtap(_ network: NetworkSpec, _ facts: NetworkHostFacts) -> NetworkVerdict {
        var problems: [NetworkProblem] = []
        let name = network.parent ?? ""
        if network.parent == nil {
            problems.append(NetworkProblem(problem: "macvtap mode needs a parent NIC", fix: "set parent = \"eth0\" (your wired NIC) under [network]"))
        } else if let interface = facts.interface {
            if !interface.exists {
                problems.append(NetworkProblem(problem: "there is no interface \(name) on this host",
                                               fix: "name a wired NIC from `ip link` as parent"))
            } else {
                if interface.isWireless {
                    problems.append(NetworkProblem(
                        problem: "\(name) is a Wi-Fi NIC: an access point only accepts frames from the host's own MAC, so the guest's MAC never gets through",
                        fix: "use a wired NIC as parent; over Wi-Fi use mode = \"user\" (NAT)"))
                }
                if let master = interface.master {
                    problems.append(NetworkProblem(
                        problem: "\(name) is a port of bridge \(master); a macvtap on a bridge port receives nothing",
                        fix: "use mode = \"bridge\" with bridge = \"\(master)\""))
                }
                if interface.operstate == "down" || interface.operstate == "lowerlayerdown" {
                    problems.append(NetworkProblem(
                        problem: "\(name) is down (operstate \(interface.operstate ?? "down"))",
                        fix: "plug in the cable and bring it up: ip link set \(name) up"))
                }
            }
        }
        if !facts.isRoot {
            problems.append(NetworkProblem(
                problem: "vm creates the macvtap link itself, which needs root (CAP_NET_ADMIN)",
                fix: "run vm up/down as root"))
        }
        return NetworkVerdict(
            mode: "macvtap", gives: "its own LAN address (from the LAN's DHCP server) through \(name)",
            p2p: problems.isEmpty ? .likely : .unlikely,
            p2pReason: problems.isEmpty ? lanReason : "macvtap mode is not working yet (see problems)",
            problems: problems,
            notes: ["host <-> guest traffic does not pass on macvtap: the host cannot reach the guest (streaming to a client on this same host needs bridge mode)"])
    }

    static func libvirtNetwork(_ network: NetworkSpec) -> NetworkVerdict {
        let name = network.libvirtNetwork ?? "default"
        return NetworkVerdict(
            mode: "network", gives: "libvirt network \(name) (libvirt's default network is NAT)",
            p2p: name == "default" ? .unlikely : .likely,
            p2pReason: name == "default"
                ? "libvirt's default network is a NAT; Parsec's peer-to-peer connection usually fails across subnets"
                : "depends on how libvirt network \(name) is set up: a bridged network gives a LAN address, a NAT one does not",
            problems: [], notes: ["libvirt networks are handled by the libvirt backend: `virsh net-info \(name)` shows it"])
    }

    /// Taps and veths QEMU or containers added (not a way out to the LAN).
    static func isVirtualPort(_ name: String) -> Bool {
        ["tap", "vnet", "veth", "vmtap", "virbr"].contains { name.hasPrefix($0) }
    }
}
