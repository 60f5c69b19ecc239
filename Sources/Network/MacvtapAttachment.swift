import QMP
import VMCore

/// The NIC that `vm` hands over to a QEMU started with `-S` in macvtap mode.
public enum MacvtapNIC {
    /// The root port the NIC is plugged into (QEMU cannot add devices to pcie.0 after start).
    public static let rootPortID = "rp-net0"
    public static let netdevID = "net0"
    public static let deviceID = "nic0"
    /// The name the tap descriptor gets with `getfd`.
    public static let descriptorName = "vmtap"

    /// Hands `tapDescriptor` to QEMU through `client`'s monitor session (QMP `getfd`, the
    /// descriptor travelling as SCM_RIGHTS on `transport`, the connection `client` speaks over),
    /// then adds the tap netdev on it and the NIC on ``rootPortID``, all in that one session (a
    /// `getfd` name lives in its session). QEMU must still be paused (`-S`) so the guest finds
    /// the NIC at boot.
    public static func attach(tapDescriptor: Int32, transport: UnixSocketTransport, client: QMPClient,
                              network: NetworkSpec) async throws(QMPError) {
        transport.attachToNextWrite(tapDescriptor)
        _ = try await client.execute("getfd", arguments: ["fdname": .string(descriptorName)])
        _ = try await client.execute("netdev_add", arguments: [
            "type": "tap", "id": .string(netdevID), "fd": .string(descriptorName),
        ])
        _ = try await client.execute("device_add", arguments: [
            "driver": .string(network.model), "id": .string(deviceID), "netdev": .string(netdevID),
            "mac": .string(network.mac.description), "bus": .string(rootPortID),
        ])
    }
}
