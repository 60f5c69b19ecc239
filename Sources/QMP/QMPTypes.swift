/// A QEMU version as QMP reports it (greeting and `query-version`).
public struct QMPVersion: Sendable, Equatable, CustomStringConvertible {
    public let major: Int
    public let minor: Int
    public let micro: Int
    /// The distribution's package string, e.g. `Debian 1:7.2+dfsg-7+deb12u18`.
    public let package: String

    public init(major: Int, minor: Int, micro: Int, package: String = "") {
        self.major = major
        self.minor = minor
        self.micro = micro
        self.package = package
    }

    /// Reads `{"qemu": {"major": 7, "minor": 2, "micro": 22}, "package": "..."}`.
    public init?(_ value: JSONValue) {
        guard let qemu = value["qemu"], let major = qemu["major"]?.intValue, let minor = qemu["minor"]?.intValue,
            let micro = qemu["micro"]?.intValue
        else { return nil }
        self.init(major: Int(major), minor: Int(minor), micro: Int(micro), package: value["package"]?.stringValue ?? "")
    }

    public var description: String { "\(major).\(minor).\(micro)" }
}

/// The greeting QEMU sends on connect.
public struct QMPGreeting: Sendable, Equatable {
    public let version: QMPVersion
    /// Offered capabilities, e.g. `["oob"]`.
    public let capabilities: [String]

    /// Reads `{"QMP": {"version": ..., "capabilities": [...]}}`.
    public init?(message: JSONValue) {
        guard let body = message["QMP"], let version = body["version"].flatMap(QMPVersion.init),
            let capabilities = body["capabilities"]?.arrayValue
        else { return nil }
        self.version = version
        self.capabilities = capabilities.compactMap(\.stringValue)
    }
}

/// `query-status`: the run state (`prelaunch`, `paused`, `running`, `shutdown`,
/// `internal-error`, ...) and whether the vCPUs run.
public struct QMPStatus: Sendable, Equatable {
    public let status: String
    public let running: Bool

    public init(status: String, running: Bool) {
        self.status = status
        self.running = running
    }

    public init?(_ value: JSONValue) {
        guard let status = value["status"]?.stringValue, let running = value["running"]?.boolValue else { return nil }
        self.init(status: status, running: running)
    }
}

/// `query-kvm`: whether KVM is compiled in and usable (`present`) and in use (`enabled`).
public struct QMPKVMState: Sendable, Equatable {
    public let enabled: Bool
    public let present: Bool

    public init(enabled: Bool, present: Bool) {
        self.enabled = enabled
        self.present = present
    }

    public init?(_ value: JSONValue) {
        guard let enabled = value["enabled"]?.boolValue, let present = value["present"]?.boolValue else { return nil }
        self.init(enabled: enabled, present: present)
    }
}

/// One PCI function from `query-pci`, with devices behind bridges flattened in.
public struct QMPPCIDevice: Sendable, Equatable {
    public let bus: Int
    public let slot: Int
    public let function: Int
    public let vendorID: UInt16
    public let deviceID: UInt16
    /// The 16-bit class code (class and subclass), e.g. `0x0403` for HD audio.
    public let classCode: UInt16
    /// QEMU's description of the class, when given.
    public let classDescription: String?
    /// The `id=` given to `-device`/`device_add`; empty for built-in devices.
    public let qdevID: String

    public init(
        bus: Int, slot: Int, function: Int, vendorID: UInt16, deviceID: UInt16, classCode: UInt16,
        classDescription: String? = nil, qdevID: String
    ) {
        self.bus = bus
        self.slot = slot
        self.function = function
        self.vendorID = vendorID
        self.deviceID = deviceID
        self.classCode = classCode
        self.classDescription = classDescription
        self.qdevID = qdevID
    }

    /// Flattens a `query-pci` reply (a list of buses; bridges hold nested buses) into functions,
    /// depth first. Returns `nil` when the reply does not have that shape.
    public static func flatten(queryPCI value: JSONValue) -> [QMPPCIDevice]? {
        guard let buses = value.arrayValue else { return nil }
        var devices: [QMPPCIDevice] = []
        for bus in buses {
            guard let list = bus["devices"]?.arrayValue, collect(list, into: &devices) else { return nil }
        }
        return devices
    }

    private static func collect(_ list: [JSONValue], into devices: inout [QMPPCIDevice]) -> Bool {
        for entry in list {
            guard let bus = entry["bus"]?.intValue, let slot = entry["slot"]?.intValue,
                let function = entry["function"]?.intValue, let ids = entry["id"],
                let vendor = ids["vendor"]?.intValue, let device = ids["device"]?.intValue,
                let classCode = entry["class_info"]?["class"]?.intValue
            else { return false }
            devices.append(
                QMPPCIDevice(
                    bus: Int(bus), slot: Int(slot), function: Int(function),
                    vendorID: UInt16(truncatingIfNeeded: vendor), deviceID: UInt16(truncatingIfNeeded: device),
                    classCode: UInt16(truncatingIfNeeded: classCode),
                    classDescription: entry["class_info"]?["desc"]?.stringValue,
                    qdevID: entry["qdev_id"]?.stringValue ?? ""))
            if let nested = entry["pci_bridge"]?["devices"]?.arrayValue, !collect(nested, into: &devices) {
                return false
            }
        }
        return true
    }
}

/// One vCPU of `query-cpus-fast`: its index and the host thread that runs it.
public struct QMPCPUThread: Sendable, Equatable {
    public let cpuIndex: Int
    public let threadID: Int32

    public init(cpuIndex: Int, threadID: Int32) {
        self.cpuIndex = cpuIndex
        self.threadID = threadID
    }

    /// Parses the reply of `query-cpus-fast`, or `query-iothreads` (whose entries have no
    /// `cpu-index`: their position stands in for it).
    static func list(_ value: JSONValue, indexKey: String?) -> [QMPCPUThread]? {
        guard let items = value.arrayValue else { return nil }
        var threads: [QMPCPUThread] = []
        for (position, item) in items.enumerated() {
            guard let thread = item["thread-id"]?.intValue, let tid = Int32(exactly: thread) else { return nil }
            let index = indexKey.map { item[$0]?.intValue.flatMap { Int(exactly: $0) } } ?? position
            guard let index else { return nil }
            threads.append(QMPCPUThread(cpuIndex: index, threadID: tid))
        }
        return threads
    }
}
