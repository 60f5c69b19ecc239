/// What a VM is doing, as `vm status` and `vm list` report it.
public enum VMState: String, Sendable, Codable, CaseIterable {
    /// No QEMU process.
    case stopped
    /// QEMU runs and the vCPUs run.
    case running
    /// QEMU runs with the vCPUs stopped (`--paused`, `stop`, or before the first `cont`).
    case paused
    /// The guest has powered off and QEMU is exiting.
    case shuttingDown = "shutting-down"
    /// QEMU died without cleaning up (killed, crashed) or the guest hit an internal error.
    case crashed

    /// Maps a QMP `query-status` run state.
    public init(qmpStatus: String) {
        switch qmpStatus {
        case "running", "debug": self = .running
        case "shutdown": self = .shuttingDown
        case "internal-error", "guest-panicked", "io-error": self = .crashed
        default: self = .paused
        }
    }
}

/// `vm status` of one VM.
public struct VMStatusReport: Sendable, Codable, Equatable {
    public var name: String
    public var state: VMState
    public var pid: Int32?
    /// QEMU's own run state from `query-status`, when QMP answered.
    public var qemuStatus: String?
    public var qmpSocket: String?
    /// Seconds since `vm up`.
    public var uptimeSeconds: Int?
    /// Passed-through functions the guest has (device ids): QEMU's `qom-list /machine/peripheral`
    /// on the QEMU backend, `query-pci` on libvirt's.
    public var passthroughInGuest: [String]?
    /// Where QEMU's threads may run, as the kernel says now (`[cpu] pin`), one line each.
    public var pinning: [String]?
    /// The guest's TPM, one line (`[tpm] enabled`): what emulates it and where its state is.
    public var tpm: String?
    /// Something the user should know (QMP busy, stale files cleaned, ...).
    public var note: String?

    public init(name: String, state: VMState, pid: Int32? = nil, qemuStatus: String? = nil, qmpSocket: String? = nil,
                uptimeSeconds: Int? = nil, passthroughInGuest: [String]? = nil, note: String? = nil) {
        self.name = name
        self.state = state
        self.pid = pid
        self.qemuStatus = qemuStatus
        self.qmpSocket = qmpSocket
        self.uptimeSeconds = uptimeSeconds
        self.passthroughInGuest = passthroughInGuest
        self.note = note
    }
}

/// How `vm down` ended, in the order it tries; each has its own exit code.
public enum DownOutcome: String, Sendable, Codable {
    /// The VM was not running.
    case notRunning = "not-running"
    /// The guest powered off after the ACPI power button.
    case poweredOff = "powered-off"
    /// QMP `quit` ended QEMU.
    case quit
    /// SIGTERM ended QEMU.
    case terminated
    /// SIGKILL ended QEMU.
    case killed

    /// The exit status of `vm down` for this outcome.
    public var exitCode: Int32 {
        switch self {
        case .notRunning, .poweredOff: return 0
        case .quit: return 3
        case .terminated: return 4
        case .killed: return 5
        }
    }
}

/// What `vm up` reports.
public struct UpReport: Sendable, Codable {
    public let name: String
    /// QEMU's pid, when known (a remote libvirt host does not tell).
    public let pid: Int32?
    public let qemuStatus: String
    public let qemuVersion: String
    /// The orchestrator's QMP socket (QEMU backend only).
    public let qmpSocket: String?
    /// True when stale files of a crashed run were cleaned first.
    public let recoveredStaleState: Bool
    /// Where `[cpu] pin` put QEMU's threads: role, thread id, host CPUs, one line each.
    public let pinned: [String]?

    public init(name: String, pid: Int32?, qemuStatus: String, qemuVersion: String, qmpSocket: String?, recoveredStaleState: Bool,
                pinned: [String]? = nil) {
        self.name = name
        self.pid = pid
        self.qemuStatus = qemuStatus
        self.qemuVersion = qemuVersion
        self.qmpSocket = qmpSocket
        self.recoveredStaleState = recoveredStaleState
        self.pinned = pinned
    }
}


/// What runs a VM: `vm` itself launching QEMU, or libvirtd. The lifecycle verbs speak to this.
public protocol VMBackend: Sendable {
    /// Starts the VM; refuses when it already runs.
    func up(paused: Bool) async throws -> UpReport
    /// Stops the VM: power button and up to `timeout` for the guest, then harder means.
    /// `keepGPUOnVFIO` leaves a hot-plugged GPU on vfio-pci afterwards (a backend whose GPUs
    /// always go back, as libvirt's managed hostdevs do, ignores it).
    func down(timeout: Duration, force: Bool, keepGPUOnVFIO: Bool) async throws -> DownOutcome
    /// `vm down --no-wait`: asks for the same and returns at once; the supervisor (or libvirtd)
    /// carries on. False when the VM was not running.
    func requestDown(timeout: Duration, force: Bool, keepGPUOnVFIO: Bool) async throws -> Bool
    /// Where the VM stands.
    func status() async -> VMStatusReport
}

extension VMBackend {
    /// ``down(timeout:force:keepGPUOnVFIO:)`` giving hot-plugged GPUs back to the host.
    public func down(timeout: Duration, force: Bool = false) async throws -> DownOutcome {
        try await down(timeout: timeout, force: force, keepGPUOnVFIO: false)
    }
}

/// What a session watches on a VM, from either backend (with ``VMBackend`` for up and down, and
/// `GPUSwapping` for the hand-overs, this is what a session needs).
public protocol VMWatching: Sendable {
    /// The VM's folders: its serial log (written by QEMU, or by virtlogd for a local libvirtd) and
    /// the file `vm session stop` creates.
    var paths: VMPaths { get }
    /// Whether a QEMU runs for the VM now (running, paused or shutting down).
    var isRunning: Bool { get }
    /// Returns once QEMU emits the QMP event `name` (`POWERDOWN`, `RESET`, `STOP`, ...); throws
    /// ``VMWaitError/stoppedFirst(name:event:)`` when the VM stops before it.
    func waitForEvent(named name: String) async throws
}

/// Why a wait on a VM ended without what it waited for.
public enum VMWaitError: Error, Equatable, CustomStringConvertible {
    /// The VM stopped (powered off, destroyed, crashed) before QEMU sent `event`.
    case stoppedFirst(name: String, event: String)

    public var description: String {
        switch self {
        case .stoppedFirst(let name, let event):
            return "\(name) stopped before QEMU sent \(event); `vm status \(name)` says how it ended"
        }
    }
}
