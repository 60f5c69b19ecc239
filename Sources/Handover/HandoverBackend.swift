/// Which backend moved the GPU: it decides the words for a step and what to do when undoing a
/// failed hand-over failed too.
public enum HandoverBackend: Sendable, Equatable {
    /// `vm` itself over QMP and sysfs, with a swap journal.
    case qemu
    /// libvirtd, with managed `<hostdev>`s.
    case libvirt

    /// What the domain is running under, for "not running" messages.
    var runningUnder: String {
        switch self {
        case .qemu: ""
        case .libvirt: " under libvirt"
        }
    }

    /// The attach step after which QEMU must show the devices.
    var attachStep: String {
        switch self {
        case .qemu: "device_add"
        case .libvirt: "the attach"
        }
    }

    /// What happened to the earlier steps after a failed one, and what to do about it.
    func recovery(rolledBack: Bool) -> String {
        switch (self, rolledBack) {
        case (.qemu, true): "everything done before it was rolled back"
        case (.qemu, false): "run `vm gpu recover` to finish the rollback"
        case (.libvirt, true): "everything done before it was undone"
        case (.libvirt, false): "undoing it failed too: check `virsh dumpxml` and `virsh nodedev-reattach`"
        }
    }
}
