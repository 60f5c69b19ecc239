import CLibvirt

/// A domain's run state (`virDomainState`), named like `virsh domstate`.
public enum DomainState: String, Sendable, Equatable, CaseIterable {
    case noState = "no state"
    case running
    case blocked
    case paused
    case shuttingDown = "in shutdown"
    case shutOff = "shut off"
    case crashed
    case suspended = "pmsuspended"

    init(libvirt value: Int32) {
        switch UInt32(bitPattern: value) {
        case VIR_DOMAIN_RUNNING.rawValue: self = .running
        case VIR_DOMAIN_BLOCKED.rawValue: self = .blocked
        case VIR_DOMAIN_PAUSED.rawValue: self = .paused
        case VIR_DOMAIN_SHUTDOWN.rawValue: self = .shuttingDown
        case VIR_DOMAIN_SHUTOFF.rawValue: self = .shutOff
        case VIR_DOMAIN_CRASHED.rawValue: self = .crashed
        case VIR_DOMAIN_PMSUSPENDED.rawValue: self = .suspended
        default: self = .noState
        }
    }

}
