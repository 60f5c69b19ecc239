/// Why a VM cannot start on this host, whichever backend runs it; each says how to fix it.
public enum StartRefusal: Error, Equatable, CustomStringConvertible {
    /// `/dev/kvm` cannot be used.
    case kvmMissing(reason: String)
    /// KVM is there but QEMU cannot run a guest on it.
    case kvmBroken(detail: String)
    /// Passthrough devices plugged at boot are not ready (driver, IOMMU group); one line each.
    case passthroughNotReady([String])
    /// The host keeps QEMU from attaching the guest's network card (bridge mode: QEMU's bridge
    /// helper or its `/etc/qemu/bridge.conf`); one line each, with its fix.
    case networkNotReady([String])
    /// The definition runs on the other backend already (`place` says where, with the pid).
    case runsOnOtherBackend(name: String, place: String)
    /// `[audio]`'s sound server is not there (QEMU would not start without it).
    case soundServerMissing(server: String)
    /// `[windows] hyperv` asks for Hyper-V enlightenments this host's KVM cannot provide.
    case hyperVUnsupported([HyperVGap])

    public var description: String {
        let tcgHint = "set accelerator = \"tcg\" in the definition to run without KVM (much slower)"
        switch self {
        case .kvmMissing(let reason):
            return "KVM is not available: \(reason); enable VT-x/AMD-V in the firmware setup and load kvm_intel or kvm_amd, or \(tcgHint)"
        case .kvmBroken(let detail):
            return "KVM is present but broken on this host (\(detail)); \(tcgHint)"
        case .passthroughNotReady(let problems):
            return "passthrough devices are not ready:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
        case .networkNotReady(let problems):
            return "the guest's network cannot be attached (`vm net check` shows more):\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
        case .soundServerMissing(let server):
            return "[audio] plays to \(server), and no sound server listens there; log in to the desktop (PipeWire's pipewire-pulse or PulseAudio runs in its session), set [audio] server to its socket, or backend = \"none\""
        case .hyperVUnsupported(let missing):
            let list = missing.map { "\($0.flag) (needs \($0.capability))" }.joined(separator: ", ")
            return "[windows] hyperv = true asks for Hyper-V enlightenments this host's KVM cannot provide: \(list); "
                + "run a newer host kernel, or set hyperv = false (Windows runs without them, a little slower)"
        case .runsOnOtherBackend(let name, let place):
            return "\(name) already runs \(place); one definition runs on one backend at a time: `vm down \(name)` there first"
        }
    }
}

/// A Hyper-V enlightenment QEMU is asked for and the KVM capability it needs, which the host lacks.
public struct HyperVGap: Sendable, Equatable {
    /// QEMU's `-cpu` flag, e.g. `hv_vpindex`.
    public var flag: String
    /// The KVM capability, e.g. `KVM_CAP_HYPERV_VP_INDEX`.
    public var capability: String

    public init(flag: String, capability: String) {
        self.flag = flag
        self.capability = capability
    }
}
