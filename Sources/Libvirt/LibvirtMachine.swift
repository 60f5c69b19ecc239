import Foundation
import HostLinux
import LibvirtXML
import VMCore

/// A libvirt-backed VM: `vm up` defines the domain from the definition (see ``DomainXMLBuilder``)
/// and starts it, `vm down` asks the guest to power off and destroys the domain after the
/// timeout, `vm status` reads libvirt's state and asks QEMU through libvirt's QMP pass-through.
///
/// The domain stays defined after `vm down` (libvirt keeps its OVMF vars there). `vm`'s own state
/// folder (0700) only holds the serial log, written by virtlogd, and only for a local daemon.
public struct LibvirtMachine: VMBackend, VMWatching {
    /// The resolved definition (firmware found, GPU functions expanded).
    public let spec: VMSpec
    public let paths: VMPaths
    /// The connection URI (`qemu:///system`, `qemu+ssh://host/system`, `test:///default`).
    public let uri: String
    /// Replace a shut-off domain of the same name that was defined from other content.
    public let redefine: Bool
    /// Returns the problems that keep the boot-plugged passthrough devices from being used,
    /// each with its fix; empty when ready. Asked only when the daemon is local (a remote host's
    /// devices are not in this machine's sysfs). libvirt's managed hostdevs switch the driver
    /// themselves, so this should check what they do not: IOMMU group viability.
    public let passthroughProblems: @Sendable (VMSpec) -> [String]
    /// This machine's sysfs/procfs (under `VM_HOST_ROOT`), read for GPU hand-overs and recovery
    /// when the daemon is local.
    public let hostFileSystem: any HostFileSystem

    public init(spec: VMSpec, paths: VMPaths, uri: String, redefine: Bool = false,
                hostFileSystem: any HostFileSystem = RootedFileSystem(root: .fromEnvironment()),
                passthroughProblems: @escaping @Sendable (VMSpec) -> [String] = { _ in [] }) {
        self.spec = spec
        self.paths = paths
        self.uri = uri
        self.redefine = redefine
        self.hostFileSystem = hostFileSystem
        self.passthroughProblems = passthroughProblems
    }

    var name: String { spec.name.rawValue }

    /// Whether the domain is active (running, paused, shutting down); false when libvirt is
    /// unreachable or has no such domain.
    public var isRunning: Bool {
        (try? Self.connect(uri).domainIfDefined(named: name)?.isActive()) ?? false
    }

    /// Waits for QMP event `name` through libvirt's QEMU monitor events (the QEMU driver).
    public func waitForEvent(named event: String) async throws {
        let domain = try Self.connect(uri).domainIfDefined(named: name)
        guard let domain else { throw VMWaitError.stoppedFirst(name: name, event: event) }
        try await domain.waitForQMPEvent(event)
    }

    /// Opens `uri`; a failure becomes ``LibvirtBackendError/unreachable(uri:message:)`` with libvirt's reason.
    static func connect(_ uri: String) throws(LibvirtBackendError) -> LibvirtConnection {
        do {
            return try LibvirtConnection(uri: uri)
        } catch {
            if case .api(_, _, _, let message) = error { throw .unreachable(uri: uri, message: message) }
            throw .unreachable(uri: uri, message: error.description)
        }
    }

    /// The domain `name` at `uri` (an unreachable URI or an unknown domain throws, with libvirt's reason).
    public static func domain(named name: String, uri: String) throws -> LibvirtDomain {
        try connect(uri).domain(named: name)
    }

    /// Undefines domain `name` at `uri` with its NVRAM file, when it is defined (`vm rm`).
    public static func undefine(named name: String, uri: String) throws {
        try connect(uri).domainIfDefined(named: name)?.undefine(nvram: .remove)
    }

    /// The domain XML `up` defines (what `vm libvirt-xml` prints).
    public func domainXML() throws(DomainXMLError) -> String {
        try DomainXMLBuilder(spec: spec, paths: paths, uri: uri).domainXML()
    }

    // MARK: - up

    /// Defines the domain (unchanged when it was defined from the same XML; replaced when it is
    /// shut off and ``redefine`` is set) and starts it. Refuses when it runs, when libvirt has other
    /// content under the name, when KVM is asked for but missing, and when passthrough devices
    /// are not ready. Returns once libvirt reports the domain started.
    public func up(paused: Bool = false) async throws -> UpReport {
        let connection = try Self.connect(uri)
        let xml = try domainXML()
        if let existing = try connection.domainIfDefined(named: name), try existing.isActive() {
            let sameContent = try existing.fingerprint() == DomainFingerprint(xml: xml).description
            guard sameContent else { throw LibvirtBackendError.definedWithOtherContent(name: name, uri: uri, running: true) }
            throw LibvirtBackendError.alreadyRunning(name: name, uri: uri, pid: qemuPid())
        }
        if spec.accelerator == .kvm, let reason = connection.kvmUnavailableReason(machine: spec.machine) {
            throw StartRefusal.kvmMissing(reason: reason)
        }
        if connection.isLocal {
            if let pid = OtherBackend.qemuBackendQEMU(named: name, paths: paths) {
                throw StartRefusal.runsOnOtherBackend(name: name, place: "on the QEMU backend (vm's own QEMU, pid \(pid))")
            }
            let problems = passthroughProblems(spec)
            guard problems.isEmpty else { throw StartRefusal.passthroughNotReady(problems) }
            try PrivateDirectory.make(paths.stateDirectory)
        }
        let domain = try define(xml: xml, on: connection)
        try start(domain, paused: paused)
        let status = qemuStatus(of: domain) ?? (paused ? "paused" : "running")
        if spec.accelerator == .kvm {
            let kvm = (try? domain.qemuMonitorCommand(#"{"execute":"query-kvm"}"#)).flatMap(QMPReplyText.kvmEnabled)
            if kvm == false || status == "internal-error" {
                try? domain.destroy()
                throw StartRefusal.kvmBroken(detail: kvm == false ? "QEMU could not enable KVM" : "the guest stopped with an internal error")
            }
        }
        return UpReport(name: name, pid: qemuPid(), qemuStatus: status, qemuVersion: try connection.hypervisorVersion(),
                        qmpSocket: nil, recoveredStaleState: false)
    }

    /// Defines the domain, turning libvirt's "other content" refusal into the error that says what to do.
    /// An installation run (`installing`) replaces the shut-off domain, and the first run after it
    /// replaces the installation's domain: both are this definition's own.
    func define(xml: String, on connection: LibvirtConnection) throws -> LibvirtDomain {
        var replacing = redefine || spec.installing
        if !replacing, let existing = try connection.domainIfDefined(named: name) {
            let installation = try DomainXMLBuilder(spec: spec.forInstallation(), paths: paths, uri: uri).domainXML()
            replacing = try existing.fingerprint() == DomainFingerprint(xml: installation).description
        }
        do {
            return try connection.define(name: name, xml: xml, replacing: replacing).domain
        } catch {
            guard error == .definedWithOtherContent(name: name) else { throw error }
            throw LibvirtBackendError.definedWithOtherContent(name: name, uri: uri, running: false)
        }
    }

    /// Starts the domain; a KVM guest whose QEMU fails over KVM is reported as broken KVM.
    func start(_ domain: LibvirtDomain, paused: Bool) throws {
        do {
            try domain.start(paused: paused)
        } catch {
            guard spec.accelerator == .kvm, case .api(_, _, _, let message) = error,
                  message.localizedCaseInsensitiveContains("kvm") else { throw error }
            throw StartRefusal.kvmBroken(detail: message)
        }
    }

    /// QEMU's run state from `query-status` through libvirt; nil when the driver has no QMP
    /// pass-through (the test driver) or QEMU did not answer.
    func qemuStatus(of domain: LibvirtDomain) -> String? {
        (try? domain.qemuMonitorCommand(#"{"execute":"query-status"}"#)).flatMap(QMPReplyText.status)
    }

    /// The pid of the domain's QEMU from the local QEMU driver's pidfile; nil for remote hosts
    /// and other drivers.
    func qemuPid() -> Int32? {
        qemuPidFile().flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }
            .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    func qemuPidFile() -> String? {
        LibvirtURI(uri).qemuPidFile(domain: name, runtimeDirectory: ProcessEnvironment.current["XDG_RUNTIME_DIR"])
    }

    // MARK: - down

    /// Stops the domain: `virDomainShutdown` (ACPI power button) and up to `timeout` for the guest
    /// to power off, then `virDomainDestroy`; `force` destroys at once. Outcomes map to
    /// ``DownOutcome``: not defined or not running -> `.notRunning`; the guest powered off ->
    /// `.poweredOff` (exit 0); destroyed -> `.killed` (exit 5): libvirt pulls the plug (SIGTERM,
    /// then SIGKILL after its own grace period), the guest gets no say, like the QEMU backend's
    /// last resort. The domain stays defined. Managed hostdevs always go back to the host
    /// (`keepGPUOnVFIO` does not apply).
    public func down(timeout: Duration, force: Bool, keepGPUOnVFIO: Bool) async throws -> DownOutcome {
        let connection = try Self.connect(uri)
        guard let domain = try connection.domainIfDefined(named: name) else { return .notRunning }
        if force {
            guard try domain.isActive() else { return .notRunning }
            do {
                try domain.destroy()
            } catch where error.isOperationInvalid {
                // It stopped between the check and the destroy.
                return .notRunning
            }
            return .killed
        }
        switch try await domain.shutdown(timeout: timeout) {
        case .alreadyOff: return .notRunning
        case .poweredOff: return .poweredOff
        case .destroyed: return .killed
        }
    }

    /// The power button (or, with `force`, `virDomainDestroy`), without waiting: libvirtd carries on.
    public func requestDown(timeout: Duration, force: Bool, keepGPUOnVFIO: Bool) async throws -> Bool {
        let connection = try Self.connect(uri)
        guard let domain = try connection.domainIfDefined(named: name), try domain.isActive() else { return false }
        if force { try domain.destroy() } else { try domain.requestShutdown() }
        return true
    }
}
