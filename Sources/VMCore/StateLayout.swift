/// Where `vm` keeps definitions, runtime files (sockets, pidfile) and persistent state (OVMF vars,
/// logs, hot-swap journal). All of it is derived from the environment, so tests can point every
/// directory at a temporary folder.
///
/// | what | variable | default (user) | default (root) |
/// |---|---|---|---|
/// | definitions | `VM_HOME` | `~/.config/vm` | `~/.config/vm`, then `/etc/vm` |
/// | runtime | `VM_RUNTIME_DIR` | `$XDG_RUNTIME_DIR/vm`, else `/tmp/vm-UID` | `/run/vm` |
/// | state | `VM_STATE_DIR` | `$XDG_STATE_HOME/vm`, else `~/.local/state/vm` | `/var/lib/vm` |
public struct StateLayout: Sendable, Equatable {
    /// Folders searched for `NAME.toml`, first match wins.
    public var definitionDirectories: [String]
    /// Parent of every VM's runtime folder (created 0700).
    public var runtimeRoot: String
    /// Parent of every VM's state folder (created 0700).
    public var stateRoot: String

    public init(definitionDirectories: [String], runtimeRoot: String, stateRoot: String) {
        self.definitionDirectories = definitionDirectories
        self.runtimeRoot = runtimeRoot
        self.stateRoot = stateRoot
    }

    /// The layout for a process with this environment and user id.
    public init(environment: [String: String], uid: UInt32) {
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (uid == 0 ? "/root" : "/tmp")
        let isRoot = uid == 0
        if let vmHome = environment["VM_HOME"], !vmHome.isEmpty {
            definitionDirectories = [vmHome]
        } else {
            definitionDirectories = ["\(home)/.config/vm"] + (isRoot ? ["/etc/vm"] : [])
        }
        if let runtime = environment["VM_RUNTIME_DIR"], !runtime.isEmpty {
            runtimeRoot = runtime
        } else if isRoot {
            runtimeRoot = "/run/vm"
        } else if let xdg = environment["XDG_RUNTIME_DIR"], !xdg.isEmpty {
            runtimeRoot = "\(xdg)/vm"
        } else {
            runtimeRoot = "/tmp/vm-\(uid)"
        }
        if let state = environment["VM_STATE_DIR"], !state.isEmpty {
            stateRoot = state
        } else if isRoot {
            stateRoot = "/var/lib/vm"
        } else if let xdg = environment["XDG_STATE_HOME"], !xdg.isEmpty {
            stateRoot = "\(xdg)/vm"
        } else {
            stateRoot = "\(home)/.local/state/vm"
        }
    }

    /// The files of one VM.
    public func paths(for name: VMName) -> VMPaths {
        VMPaths(runtimeDirectory: "\(runtimeRoot)/\(name)", stateDirectory: "\(stateRoot)/\(name)")
    }
}

/// The files of one VM. The runtime folder is removed when the VM stops; the state folder stays.
public struct VMPaths: Sendable, Equatable {
    /// 0700 folder for sockets and the pidfile; removed by `vm down`.
    public let runtimeDirectory: String
    /// 0700 folder for the OVMF vars copy, logs, the lock and the hot-swap journal; kept.
    public let stateDirectory: String

    public init(runtimeDirectory: String, stateDirectory: String) {
        self.runtimeDirectory = runtimeDirectory
        self.stateDirectory = stateDirectory
    }

    /// The VM's public QMP socket, served by its supervisor to any number of clients at once.
    public var qmpSocket: String { "\(runtimeDirectory)/qmp.sock" }
    /// QEMU's own monitor socket; only the VM's supervisor connects to it.
    public var monitorSocket: String { "\(runtimeDirectory)/monitor.sock" }
    /// Held (`flock`) by the VM's supervisor for as long as it runs.
    public var supervisorLock: String { "\(runtimeDirectory)/supervisor.lock" }
    /// The serial console socket (`vm console`).
    public var consoleSocket: String { "\(runtimeDirectory)/console.sock" }
    /// The QEMU guest agent socket (virtio-serial `org.qemu.guest_agent.0`).
    public var agentSocket: String { "\(runtimeDirectory)/qga.sock" }
    /// QEMU's pidfile.
    public var pidFile: String { "\(runtimeDirectory)/qemu.pid" }
    /// The per-VM copy of the OVMF vars template.
    public var varsFile: String { "\(stateDirectory)/OVMF_VARS.fd" }
    /// QEMU's own stderr/stdout log.
    public var qemuLog: String { "\(stateDirectory)/qemu.log" }
    /// The guest's serial console output.
    public var serialLog: String { "\(stateDirectory)/serial.log" }
    /// The lock that serialises `vm up`/`vm down`/hot-swap of this VM.
    public var lockFile: String { "\(stateDirectory)/lock" }
    /// The hot-swap journal.
    public var journalFile: String { "\(stateDirectory)/gpu-journal.json" }
    /// The steps that took the host's display GPU from the host (`host = "release"`), until undone.
    public var hostReleaseJournal: String { "\(stateDirectory)/host-release.json" }
    /// The host USB controllers this VM's run moved to vfio-pci (`[[usb_host_controller]]`), until
    /// they are given back.
    public var usbControllerRecord: String { "\(stateDirectory)/usb-controllers.json" }
    /// The huge pages this VM reserved, until they are given back.
    public var hugePagesRecord: String { "\(stateDirectory)/hugepages.json" }
    /// The cgroup changes that keep other tasks off this VM's CPUs, until they are undone.
    public var cpuIsolationRecord: String { "\(stateDirectory)/cpu-isolation.json" }
    /// The record of the last run: who started it, what happened, how it ended.
    public var runRecord: String { "\(stateDirectory)/run.json" }
    /// The supervisor's own messages.
    public var supervisorLog: String { "\(stateDirectory)/supervisor.log" }
    /// 0700 folder of the emulated TPM's state (`swtpm`'s `tpm2-00.permall`: keys, NV storage);
    /// kept, as the guest's TPM identity (BitLocker, Windows activation) lives in it.
    public var tpmStateDirectory: String { "\(stateDirectory)/tpm" }
    /// `swtpm`'s control socket, which QEMU's TPM backend connects to.
    public var tpmSocket: String { "\(runtimeDirectory)/swtpm.sock" }
    /// `swtpm`'s own messages.
    public var tpmLog: String { "\(stateDirectory)/swtpm.log" }
}
