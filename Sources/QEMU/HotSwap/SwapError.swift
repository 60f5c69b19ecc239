import HostLinux
import VMCore

/// Why a GPU hand-over was refused or failed.
public enum SwapError: Error, CustomStringConvertible {
    case vmNotRunning(String)
    case noSuchGPU(index: Int, count: Int)
    case bootPlugged(index: Int)
    case pendingSwap(SwapJournal.Phase)
    case notInGuest(index: Int)
    case alreadyInGuest(index: Int)
    case heldByHost([DeviceHolder])
    case notVisibleInGuest([String])
    case unplugTimedOut(stillPresent: [String], seconds: Double)
    /// A step failed; what was done before it was rolled back (or, when `rolledBack` is false,
    /// is left for `vm gpu recover`).
    case stepFailed(step: String, reason: String, rolledBack: Bool)
    /// The journal names devices other than this VM's GPU (or is not this VM's): nothing was touched.
    case untrustedJournal(path: String, reason: String)

    public var description: String {
        switch self {
        case .vmNotRunning(let name):
            return "\(name) is not running; `vm up \(name)` first"
        case .noSuchGPU(let index, let count):
            return "the definition has \(count) GPU(s); --gpu \(index) does not exist"
        case .bootPlugged(let index):
            return "gpu[\(index)] is plugged at boot (plug = \"boot\"); set plug = \"hot\" to hand it over while the VM runs"
        case .pendingSwap(let phase):
            return "an earlier swap stopped at '\(phase.rawValue)'; run `vm gpu recover` first"
        case .alreadyInGuest(let index):
            return "gpu[\(index)] is already in the guest; `vm gpu detach` takes it back"
        case .notInGuest(let index):
            return "gpu[\(index)] is not in the guest; nothing to detach"
        case .heldByHost(let holders):
            let list = holders.map { "\($0.pid) \($0.command) (\($0.deviceNode))" }.joined(separator: ", ")
            return "host processes hold the card: \(list); close them (or pass --force to continue anyway)"
        case .notVisibleInGuest(let ids):
            return "QEMU does not show \(ids.joined(separator: ", ")) after device_add"
        case .unplugTimedOut(let ids, let seconds):
            return "the guest did not release \(ids.joined(separator: ", ")) within \(seconds) s; it stays in the guest (try again, or shut the guest down)"
        case .stepFailed(let step, let reason, let rolledBack):
            return "\(step) failed: \(reason); " + (rolledBack ? "everything done before it was rolled back" : "run `vm gpu recover` to finish the rollback")
        case .untrustedJournal(let path, let reason):
            return "refusing the swap journal \(path): \(reason); nothing was changed (fix: if vm did not write it, remove it)"
        }
    }
}

/// Thrown by a fault-injection checkpoint to stop a swap as a killed process would: the journal
/// is left as it is, nothing is rolled back, and `vm gpu recover` must clean up.
public struct SwapInterrupted: Error, Equatable {
    public let phase: SwapJournal.Phase
    public let detail: String
    public init(phase: SwapJournal.Phase, detail: String) {
        self.phase = phase
        self.detail = detail
    }
}
