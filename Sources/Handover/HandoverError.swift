import HostLinux
import VMCore

/// Why a GPU hand-over (`vm gpu attach|detach|recover`) was refused or failed, for both
/// backends; each message says what to do.
public enum HandoverError: Error, Equatable, CustomStringConvertible {
    case notRunning(name: String, backend: HandoverBackend)
    case noSuchGPU(index: Int, count: Int)
    case bootPlugged(index: Int)
    /// An earlier swap stopped at this journal phase.
    case pendingSwap(phase: String)
    /// The GPU is in the guest already (`aliases`: the devices found, when the backend lists them).
    case alreadyInGuest(index: Int, aliases: [String])
    case notInGuest(index: Int)
    case groupNotIsolated(String)
    case heldByHost([DeviceHolder])
    case notVisibleInGuest([String], backend: HandoverBackend)
    case unplugTimedOut(stillPresent: [String], timeout: Duration)
    case notBackOnHost([String])
    /// A step failed; what was done before it was rolled back when `rolledBack` is true, else the
    /// backend's recovery applies.
    case stepFailed(step: String, reason: String, rolledBack: Bool, backend: HandoverBackend)
    /// The journal names devices other than this VM's GPU (or is not this VM's): nothing was touched.
    case untrustedJournal(path: String, reason: String)

    public var description: String {
        switch self {
        case .notRunning(let name, let backend):
            return "\(name) is not running\(backend.runningUnder); `vm up \(name)` first"
        case .noSuchGPU(let index, let count):
            return "the definition has \(count) GPU(s); --gpu \(index) does not exist"
        case .bootPlugged(let index):
            return "gpu[\(index)] is plugged at boot (plug = \"boot\"); set plug = \"hot\" to hand it over while the VM runs"
        case .pendingSwap(let phase):
            return "an earlier swap stopped at '\(phase)'; run `vm gpu recover` first"
        case .alreadyInGuest(let index, let aliases):
            let list = aliases.isEmpty ? "" : " (\(aliases.joined(separator: ", ")))"
            return "gpu[\(index)] is already in the guest\(list); `vm gpu detach` takes it back"
        case .notInGuest(let index):
            return "gpu[\(index)] is not in the guest; nothing to detach"
        case .groupNotIsolated(let reason):
            return "the GPU cannot leave the host on its own: \(reason)"
        case .heldByHost(let holders):
            return Self.holdersMessage(holders)
        case .notVisibleInGuest(let ids, let backend):
            return "QEMU does not show \(ids.joined(separator: ", ")) after \(backend.attachStep)"
        case .unplugTimedOut(let ids, let timeout):
            return "the guest did not release \(ids.joined(separator: ", ")) within \(timeout.seconds) s; it stays in the guest (try again, or shut the guest down)"
        case .notBackOnHost(let lines):
            return "the GPU left the guest but is not back on its host drivers: \(lines.joined(separator: "; ")); `vm host bind` can move it"
        case .stepFailed(let step, let reason, let rolledBack, let backend):
            return "\(step) failed: \(reason); " + backend.recovery(rolledBack: rolledBack)
        case .untrustedJournal(let path, let reason):
            return "refusing the swap journal \(path): \(reason); nothing was changed (fix: if vm did not write it, remove it)"
        }
    }

    /// The refusal when host processes hold the card (also `vm host bind`'s).
    public static func holdersMessage(_ holders: [DeviceHolder]) -> String {
        let list = holders.map { "\($0.pid) \($0.command) (\($0.deviceNode))" }.joined(separator: ", ")
        return "host processes hold the card: \(list); close them (or pass --force to continue anyway)"
    }
}
