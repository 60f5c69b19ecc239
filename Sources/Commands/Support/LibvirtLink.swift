import FoundationEssentials
import Glibc
import GuestAgent
import HostLinux
import Sessions
import VMCore

/// The libvirt backend as the command tree uses it.
///
/// The `vm` executable does not link libvirt: loading libvirt and the ~70 shared libraries it
/// pulls in costs every run, QEMU-backed ones included, more time than the rest of `vm`'s start.
/// `vm-libvirt` is the same command tree with libvirt linked; it provides this, and `vm` hands a
/// command over to it as soon as the command turns out to need libvirt (see ``LibvirtLink``).
public protocol LibvirtBackendProvider: Sendable {
    /// The VM of `loaded` as the libvirt domain of the same name at `uri`. `redefine` lets `up`
    /// replace a shut-off domain defined from other content; `passthroughProblems` is asked
    /// before a local start; GPU hand-overs check the host over `hostFileSystem`.
    func machine(_ loaded: LoadedDefinition, uri: String, redefine: Bool, hostFileSystem: any HostFileSystem,
                 passthroughProblems: @escaping @Sendable (VMSpec) -> [String]) -> any SessionBackend
    /// The guest agent of domain `domain` at `uri`, through libvirt (which owns its socket).
    func guestAgent(uri: String, domain: String) -> any GuestAgentChannel
    /// Whether the libvirt daemon at `uri` has an active domain named `domain`; false when it
    /// cannot be reached.
    func isActive(uri: String, domain: String) -> Bool
    /// Sends one QMP command (JSON text) to the QEMU of domain `domain` through libvirt's monitor
    /// pass-through and returns QEMU's reply as JSON text.
    func monitorCommand(uri: String, domain: String, json: String) throws -> String
    /// Pauses, resumes or resets the running libvirt domain `domain` at `uri`.
    func control(_ action: RunAction, uri: String, domain: String) throws
    /// Undefines the shut-off libvirt domain `domain` at `uri` when it is defined (`vm rm`).
    func undefine(uri: String, domain: String) throws
}

/// Where the command tree gets its ``LibvirtBackendProvider``: the one the executable's `main`
/// linked in (`vm-libvirt`), else, in `vm`, by replacing the process with `vm-libvirt`.
public enum LibvirtLink {
    /// The provider linked into this executable; nil in `vm`.
    @TaskLocal static var linked: (any LibvirtBackendProvider)?

    /// Why `vm` could not hand a command to `vm-libvirt`.
    enum HandOffError: Error, CustomStringConvertible {
        case helperMissing(path: String)
        case execFailed(path: String, reason: String)

        var description: String {
            switch self {
            case .helperMissing(let path):
                return "this command needs the libvirt backend, which lives in vm-libvirt, and \(path) is not there "
                    + "or not executable; build it beside vm with `swift build --product vm-libvirt` (scripts/demo and scripts/test do)"
            case .execFailed(let path, let reason):
                return "could not run \(path) for the libvirt backend: \(reason)"
            }
        }
    }

    /// The name of the executable that links libvirt; it sits in the same folder as `vm`.
    static let helperName = "vm-libvirt"

    /// Runs `body` (the command tree) with `provider` as the libvirt backend.
    public static func withProvider(_ provider: (any LibvirtBackendProvider)?, _ body: @Sendable () async -> Void) async {
        await $linked.withValue(provider, operation: body)
    }

    /// The libvirt backend. Without one linked, this process becomes `vm-libvirt` with the same
    /// arguments and environment and does not return; it throws when that executable is missing.
    /// Callers ask before they change anything, so the command starts over cleanly there.
    static func provider() throws -> any LibvirtBackendProvider {
        if let linked { return linked }
        try handOff()
    }

    /// `vm-libvirt` in the folder of the running executable.
    static func helperPath() -> String {
        RunningExecutable.folder + "/" + helperName
    }

    private static func handOff() throws -> Never {
        let path = helperPath()
        guard access(path, X_OK) == 0 else { throw HandOffError.helperMissing(path: path) }
        // Anything printed so far must not be lost with this process image.
        fflush(nil)
        let arguments = [path] + CommandLine.arguments.dropFirst()
        var argv = arguments.map { strdup($0) }
        argv.append(nil)
        execv(path, argv)
        let reason = String(cString: strerror(errno))
        argv.forEach { free($0) }
        throw HandOffError.execFailed(path: path, reason: reason)
    }
}
