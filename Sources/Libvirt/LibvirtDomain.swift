import CLibvirt
import LibvirtXML
import VMCore

/// One libvirt domain.
///
/// `@unchecked Sendable` for the same reason as ``LibvirtConnection``: `virDomainPtr` is a
/// reference-counted, internally locked libvirt object; the pointer never changes and is freed
/// once in `deinit`. The domain keeps its connection alive.
public final class LibvirtDomain: @unchecked Sendable {
    public let connection: LibvirtConnection
    let pointer: virDomainPtr

    init(connection: LibvirtConnection, pointer: virDomainPtr) {
        self.connection = connection
        self.pointer = pointer
    }

    deinit {
        virDomainFree(pointer)
    }

    /// The domain's name.
    public var name: String {
        virDomainGetName(pointer).map { String(cString: $0) } ?? ""
    }

    /// The current run state.
    public func state() throws(LibvirtError) -> DomainState {
        var state: Int32 = 0
        var reason: Int32 = 0
        guard virDomainGetState(pointer, &state, &reason, 0) == 0 else {
            throw LibvirtError.last("virDomainGetState(\(name))")
        }
        return DomainState(libvirt: state)
    }

    /// Whether the domain has a persistent definition (false for a transient domain).
    public func isPersistent() throws(LibvirtError) -> Bool {
        let result = virDomainIsPersistent(pointer)
        guard result >= 0 else { throw LibvirtError.last("virDomainIsPersistent(\(name))") }
        return result == 1
    }

    /// The domain XML: live (as running, with aliases and addresses) or the inactive definition.
    public func xml(inactive: Bool = false) throws(LibvirtError) -> String {
        let flags = inactive ? VIR_DOMAIN_XML_INACTIVE.rawValue : 0
        guard let xml = takeString(virDomainGetXMLDesc(pointer, flags)) else {
            throw LibvirtError.last("virDomainGetXMLDesc(\(name))")
        }
        return xml
    }

    /// Boots a defined, shut-off domain; `paused` leaves its vCPUs stopped (QEMU `-S`).
    public func start(paused: Bool = false) throws(LibvirtError) {
        let flags = paused ? VIR_DOMAIN_START_PAUSED.rawValue : 0
        guard virDomainCreateWithFlags(pointer, flags) == 0 else {
            throw LibvirtError.last("virDomainCreateWithFlags(\(name))")
        }
    }

    /// Whether a QEMU runs for the domain (running, paused, shutting down, ...).
    public func isActive() throws(LibvirtError) -> Bool {
        let result = virDomainIsActive(pointer)
        guard result >= 0 else { throw LibvirtError.last("virDomainIsActive(\(name))") }
        return result == 1
    }

    /// Pulls the plug (`virDomainDestroy`).
    public func destroy() throws(LibvirtError) {
        guard virDomainDestroy(pointer) == 0 else { throw LibvirtError.last("virDomainDestroy(\(name))") }
    }

    /// What to do with the domain's OVMF vars file on undefine.
    public enum NVRAMPolicy: Sendable {
        /// Keep the file (it is `vm`'s state: boot entries, secure-boot keys).
        case keep
        /// Delete it with the definition.
        case remove
    }

    /// Removes the persistent definition (a running domain keeps running as a transient one).
    /// With `.keep`, a driver that does not know `VIR_DOMAIN_UNDEFINE_KEEP_NVRAM` (the test
    /// driver) is asked again without flags, which never deletes files either.
    public func undefine(nvram: NVRAMPolicy = .keep) throws(LibvirtError) {
        let flags = nvram == .keep ? VIR_DOMAIN_UNDEFINE_KEEP_NVRAM.rawValue : VIR_DOMAIN_UNDEFINE_NVRAM.rawValue
        guard virDomainUndefineFlags(pointer, flags) != 0 else { return }
        let error = LibvirtError.last("virDomainUndefineFlags(\(name))")
        guard nvram == .keep, case .api(_, let code, _, _) = error, code == Int32(VIR_ERR_INVALID_ARG.rawValue) else {
            throw error
        }
        guard virDomainUndefineFlags(pointer, 0) == 0 else {
            throw LibvirtError.last("virDomainUndefineFlags(\(name))")
        }
    }

    /// How ``shutdown(timeout:)`` ended.
    public enum ShutdownOutcome: Sendable, Equatable {
        /// The domain was not running.
        case alreadyOff
        /// The guest powered off after the ACPI request.
        case poweredOff
        /// The guest ignored the request until the timeout; the domain was destroyed.
        case destroyed
    }

    /// Presses the ACPI power button (`virDomainShutdown`) and returns at once.
    public func requestShutdown() throws(LibvirtError) {
        guard virDomainShutdown(pointer) == 0 else { throw LibvirtError.last("virDomainShutdown(\(name))") }
    }

    /// Asks the guest to power off (ACPI), waits up to `timeout` for it (on libvirt's lifecycle
    /// events, subscribed before the request), then destroys the domain.
    public func shutdown(timeout: Duration) async throws -> ShutdownOutcome {
        guard try isRunning() else { return .alreadyOff }
        let subscription = try subscribe()
        defer { subscription.cancel() }
        if virDomainShutdown(pointer) != 0 {
            let error = LibvirtError.last("virDomainShutdown(\(name))")
            guard try isRunning() else { return .poweredOff }
            throw error
        }
        if try await waitUntilStopped(subscription, timeout: timeout) { return .poweredOff }
        if virDomainDestroy(pointer) != 0 {
            let error = LibvirtError.last("virDomainDestroy(\(name))")
            guard try isRunning() else { return .poweredOff }
            throw error
        }
        return .destroyed
    }

    /// Running in any form; a transient domain that vanished counts as off.
    func isRunning() throws(LibvirtError) -> Bool {
        do {
            let current = try state()
            return current != .shutOff && current != .crashed
        } catch where error.isNoDomain {
            return false
        }
    }

    /// Hot-plugs a device (`<hostdev>`, `<interface>`, ...) into the running domain only.
    public func attachDevice(xml: String) throws(LibvirtError) {
        guard virDomainAttachDeviceFlags(pointer, xml, VIR_DOMAIN_AFFECT_LIVE.rawValue) == 0 else {
            throw LibvirtError.last("virDomainAttachDeviceFlags(\(name))")
        }
    }

    /// Asks for the live device with this alias to be unplugged, then waits up to `timeout` until
    /// it is gone from the live XML. PCIe devices leave only when the guest OS releases them.
    public func detachDevice(alias: String, timeout: Duration) async throws {
        guard try await unplug(aliases: [alias], timeout: timeout).isEmpty else {
            throw LibvirtError.detachTimedOut(alias: alias, seconds: timeout.seconds)
        }
    }

    /// Whether the live domain has a device with this alias.
    public func hasDevice(alias: String) throws(LibvirtError) -> Bool {
        try xml().contains("<alias name='\(XMLEscape.attribute(alias))'/>")
    }

    /// Stops the vCPUs (`virDomainSuspend`); the domain stays in memory, paused.
    public func suspend() throws(LibvirtError) {
        guard virDomainSuspend(pointer) == 0 else { throw LibvirtError.last("virDomainSuspend(\(name))") }
    }

    /// Lets the vCPUs of a paused domain run again (`virDomainResume`).
    public func resume() throws(LibvirtError) {
        guard virDomainResume(pointer) == 0 else { throw LibvirtError.last("virDomainResume(\(name))") }
    }

    /// Resets the machine at once, as QMP `system_reset` does (`virDomainReset`); the guest is not asked.
    public func reset() throws(LibvirtError) {
        guard virDomainReset(pointer, 0) == 0 else { throw LibvirtError.last("virDomainReset(\(name))") }
    }

    /// Sends one QMP command (a JSON object) to the domain's QEMU through libvirt and returns
    /// QEMU's JSON reply (`{"return": ...}` or `{"error": ...}`). libvirt marks the domain tainted.
    public func qemuMonitorCommand(_ json: String) throws(LibvirtError) -> String {
        var result: UnsafeMutablePointer<CChar>?
        guard virDomainQemuMonitorCommand(pointer, json, &result, 0) == 0 else {
            throw LibvirtError.last("virDomainQemuMonitorCommand(\(name))")
        }
        return takeString(result) ?? ""
    }
}
