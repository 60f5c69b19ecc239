import ArgumentParser
import VMCore

/// `vm pause|resume|reboot`: one change to a running VM's vCPUs, on either backend.
public enum RunAction: String, Sendable, CaseIterable {
    /// Stop the vCPUs (QMP `stop`, `virDomainSuspend`).
    case pause
    /// Let them run again (QMP `cont`, `virDomainResume`).
    case resume
    /// Reset the machine at once, like its reset button (QMP `system_reset`, `virDomainReset`).
    case reboot

    /// The QMP command that does it on the QEMU backend.
    var qmpCommand: String {
        switch self {
        case .pause: return "stop"
        case .resume: return "cont"
        case .reboot: return "system_reset"
        }
    }

    /// What `vm` prints once it is done.
    func done(_ name: String) -> String {
        switch self {
        case .pause: return "\(name) paused; `vm resume \(name)` lets it run again"
        case .resume: return "\(name) runs again"
        case .reboot: return "\(name) was reset (the guest boots again)"
        }
    }

    /// Does it to VM `name` wherever it runs (``BackendOptions/location(of:)``: `--backend`, or
    /// where it is found running, or its definition's backend); says so when that is not where its
    /// definition says.
    func perform(on name: String, backendOptions: BackendOptions, global: GlobalOptions) async throws {
        let loaded = try CommandSupport.loader.load(name)
        let vm = loaded.spec.name.rawValue
        let location = try backendOptions.location(of: loaded)
        if let note = location.note, !global.json { print("\(vm) \(note)") }
        switch location.backend {
        case .qemu:
            let client = try await CommandSupport.qmp(loaded, debug: global.debug)
            defer { client.close() }
            _ = try await client.execute(qmpCommand)
        case .libvirt(let uri):
            try LibvirtLink.provider().control(self, uri: uri, domain: vm)
        }
        if global.json { return try CommandSupport.printJSON(["name": vm, "action": rawValue]) }
        print(done(vm))
    }
}
