import FoundationEssentials
import Glibc
import HostLinux
import VMCore

/// The record of a GPU hand-over, written (and fsync'd) before each step so that an interrupted
/// swap can be finished or rolled back by `vm gpu recover`. While the GPU is in the guest the
/// journal stays, at ``Phase/inGuest``: it is how `vm gpu detach` knows the original drivers.
public struct SwapJournal: Codable, Sendable, Equatable {
    /// Where a hand-over stands.
    public enum Phase: String, Codable, Sendable {
        /// Moving the functions from their host drivers to vfio-pci.
        case bindingToVFIO = "binding-to-vfio"
        /// `device_add` of the functions into the guest.
        case plugging
        /// Every function is in the guest.
        case inGuest = "in-guest"
        /// `device_del` sent; waiting for the guest to let go.
        case unplugging
        /// Giving the functions back to their original drivers.
        case returningToHost = "returning-to-host"
    }

    public var vm: String
    /// Index of the GPU in the definition.
    public var gpu: Int
    public var phase: Phase
    /// Every function with the driver and override it had before the swap (empty for stand-ins,
    /// which have no host side).
    public var originals: [FunctionBinding]
    /// The QEMU device ids of the functions, in plug order (function 0 last).
    public var deviceIDs: [String]

    public init(vm: String, gpu: Int, phase: Phase, originals: [FunctionBinding], deviceIDs: [String]) {
        self.vm = vm
        self.gpu = gpu
        self.phase = phase
        self.originals = originals
        self.deviceIDs = deviceIDs
    }
}

/// Reads and writes a VM's journal file durably (``DurableFile``).
public struct SwapJournalStore: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// The journal, or nil when no swap is recorded.
    public func read() throws -> SwapJournal? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try JSONDecoder().decode(SwapJournal.self, from: data)
    }

    /// Replaces the journal with `journal`, durably.
    public func write(_ journal: SwapJournal) throws {
        try DurableFile.writeJSON(journal, to: path)
    }

    /// Removes the journal once the swap is fully undone.
    public func remove() throws {
        try DurableFile.remove(path)
    }
}
