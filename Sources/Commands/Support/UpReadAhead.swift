import Synchronization
import VMCore

/// What `vm up NAME` reads before it starts QEMU, read by tasks of their own while
/// swift-argument-parser parses the command line: on `vm up`'s way to starting QEMU the parse takes
/// about 2 ms of reflection, and the second CPU is free meanwhile. Two reads, neither with side
/// effects: the definition, resolved on the host (about 0.5 ms), and then the look for a QEMU that
/// a local libvirtd runs under the definition's name (``OtherBackend/libvirtQEMU(named:)``, a scan
/// of every process, 0.3 to 0.5 ms). `vm up` then takes both from here; a command line that turns
/// out to be something else only wasted the reads.
enum UpReadAhead {
    private struct Reads: Sendable {
        let name: String
        let definition: Task<Result<LoadedDefinition, any Error>, Never>
        /// The VM's name and the libvirt QEMU found for it; nil when the definition did not load.
        var libvirtQEMU: Task<(vm: String, pid: Int32?)?, Never>?
    }

    private static let started = Mutex<Reads?>(nil)

    /// Starts reading when `arguments` (without the program name) begin with `up NAME`.
    static func start(for arguments: [String]) {
        guard arguments.count >= 2, arguments[0] == UpCommand.configuration.commandName, !arguments[1].hasPrefix("-") else { return }
        let name = arguments[1]
        let definition = Task.detached { Result { try CommandSupport.loadResolved(name) } }
        let libvirtQEMU = Task.detached { () -> (vm: String, pid: Int32?)? in
            guard case .success(let loaded) = await definition.value else { return nil }
            let vm = loaded.spec.name.rawValue
            return (vm, OtherBackend.libvirtQEMU(named: vm))
        }
        started.withLock { $0 = Reads(name: name, definition: definition, libvirtQEMU: libvirtQEMU) }
    }

    /// The name whose definition was last read ahead.
    static var nameReadAhead: String? { started.withLock { $0?.name } }

    /// `name`'s definition, loaded and resolved: the one read ahead when it is that name's, else read now.
    static func loadResolved(_ name: String) async throws -> LoadedDefinition {
        if let ahead = started.withLock({ $0 }), ahead.name == name { return try await ahead.definition.value.get() }
        return try CommandSupport.loadResolved(name)
    }

    /// The QEMU that a local libvirtd runs for the VM `vm`: the look taken ahead when it was for
    /// `vm` (once: a second question looks again), else a look now.
    static func libvirtQEMU(named vm: String) async -> Int32? {
        let ahead = started.withLock { reads in
            defer { reads?.libvirtQEMU = nil }
            return reads?.libvirtQEMU
        }
        if let found = await ahead?.value, found.vm == vm { return found.pid }
        return OtherBackend.libvirtQEMU(named: vm)
    }
}
