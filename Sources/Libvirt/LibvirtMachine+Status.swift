import Foundation
import LibvirtXML
import VMCore

extension LibvirtMachine {
    /// Where the domain stands: libvirt's state, refined by QEMU's `query-status` when QMP
    /// pass-through answers; the QEMU pid and uptime from the local pidfile; the passed-through
    /// functions the guest has (`query-pci`, by our hostdev aliases).
    public func status() async -> VMStatusReport {
        var report = VMStatusReport(name: name, state: .stopped)
        if spec.tpm.enabled { report.tpm = "TPM 2.0 (tpm-crb, swtpm run by libvirt)" }
        let connection: LibvirtConnection
        do {
            connection = try Self.connect(uri)
        } catch {
            report.note = error.description
            return report
        }
        let domain: LibvirtDomain
        do {
            guard let found = try connection.domainIfDefined(named: name) else {
                report.note = "not defined in libvirt at \(uri); `vm up \(name)` defines and starts it"
                return report
            }
            domain = found
            report.state = try domain.state().vmState
        } catch {
            report.note = "libvirt did not answer: \(error)"
            return report
        }
        guard report.state != .stopped else { return report }
        report.pid = qemuPid()
        report.uptimeSeconds = qemuPidFile().flatMap(QEMUPidFile.uptimeSeconds)
        guard let status = qemuStatus(of: domain) else {
            report.note = "QEMU did not answer through libvirt's QMP pass-through; state from libvirt"
            return report
        }
        report.qemuStatus = status
        report.state = VMState(qmpStatus: status)
        if let pci = try? domain.qemuMonitorCommand(#"{"execute":"query-pci"}"#) {
            let aliases = passthroughAliases()
            report.passthroughInGuest = QMPReplyText.qdevIDs(pci).filter(aliases.contains).sorted()
        }
        return report
    }

    /// The libvirt aliases (QEMU device ids) of every GPU function the definition passes through.
    func passthroughAliases() -> Set<String> {
        let builder = DomainXMLBuilder(spec: spec, paths: paths)
        return Set(spec.gpus.indices.flatMap { index in
            ((try? builder.hotplugDevices(forGPU: index)) ?? []).map(\.alias)
        })
    }
}

extension DomainState {
    /// The lifecycle state `vm status` shows. libvirt's "no state" and "blocked" are running
    /// domains (blocked: waiting on a resource); pmsuspended is a guest sleep (S3), shown as paused.
    public var vmState: VMState {
        switch self {
        case .running, .blocked, .noState: return .running
        case .paused, .suspended: return .paused
        case .shuttingDown: return .shuttingDown
        case .shutOff: return .stopped
        case .crashed: return .crashed
        }
    }
}
