import CSpawn
import FoundationEssentials
import Glibc
import QMP
import VMCore

/// Why the VM's TPM emulator did not start.
public enum TPMEmulatorError: Error, Equatable, CustomStringConvertible {
    /// No `swtpm` in PATH (nor `VM_SWTPM`).
    case binaryNotFound
    /// A path swtpm's option syntax cannot carry (it has no escape for commas).
    case unusablePath(String)
    /// The control socket could not be made.
    case socketFailed(String)

    public var description: String {
        switch self {
        case .binaryNotFound:
            return "[tpm] enabled needs swtpm, which is not in PATH; install it (Debian/Ubuntu: apt-get install swtpm, "
                + "Fedora: dnf install swtpm, Arch: pacman -S swtpm) or set VM_SWTPM, or set [tpm] enabled = false"
        case .unusablePath(let path):
            return "swtpm cannot use the path \(path): it contains a comma; set VM_STATE_DIR/VM_RUNTIME_DIR to folders without one"
        case .socketFailed(let why):
            return "cannot make the TPM emulator's socket: \(why)"
        }
    }
}

/// The VM's TPM 2.0 on the QEMU backend: `swtpm socket --tpm2`, started by `vm up` before QEMU
/// and watched by the VM's supervisor (``VMSupervisor``), which stops it after QEMU and ends
/// QEMU when it dies first.
///
/// The control socket (``VMPaths/tpmSocket``, 0600 in the 0700 runtime folder) is bound here and
/// handed to swtpm as a listening descriptor, so it exists before either program runs: QEMU can
/// connect at once and nothing waits for swtpm to come up. swtpm keeps its state (`tpm2-00.permall`:
/// keys, NV storage) in ``VMPaths/tpmStateDirectory`` (0700), which outlives every run, and ends
/// when QEMU closes the control connection (`--terminate`).
public struct TPMEmulator: Sendable {
    /// The swtpm binary.
    public let executable: String

    public init(executable: String) {
        self.executable = executable
    }

    /// The binary's name in PATH.
    public static let binary = "swtpm"

    /// `VM_SWTPM`, else `swtpm` from PATH.
    public static func locate(environment: [String: String] = ProcessEnvironment.current) throws(TPMEmulatorError) -> TPMEmulator {
        if let explicit = environment["VM_SWTPM"], !explicit.isEmpty { return TPMEmulator(executable: explicit) }
        guard let found = QEMULauncher.findInPath(binary, path: environment["PATH"] ?? "/usr/bin:/bin") else { throw .binaryNotFound }
        return TPMEmulator(executable: found)
    }

    /// swtpm's argv (with the executable) serving the listening socket `controlDescriptor`. Pure.
    public static func arguments(executable: String, paths: VMPaths, controlDescriptor: Int32) throws(TPMEmulatorError) -> [String] {
        let state = paths.tpmStateDirectory
        guard !state.contains(",") else { throw .unusablePath(state) }
        return [executable, "socket", "--tpm2",
                "--tpmstate", "dir=\(state),mode=0600",
                "--ctrl", "type=unixio,fd=\(controlDescriptor)",
                "--terminate",
                "--log", "fd=1,level=1"]
    }

    /// Makes the state folder (0700, no symlink followed) and the control socket, and starts swtpm
    /// as a daemon (see `vm_spawn_daemon`) logging to ``VMPaths/tpmLog``; returns its pid.
    public func start(paths: VMPaths) throws -> Int32 {
        try PrivateDirectory.make(paths.tpmStateDirectory)
        let listener: UnixSocketListener
        do {
            listener = try UnixSocketListener(path: paths.tpmSocket)
        } catch {
            throw TPMEmulatorError.socketFailed("\(error)")
        }
        let argv = try Self.arguments(executable: executable, paths: paths, controlDescriptor: listener.descriptor).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = (argv + [nil]).withUnsafeBufferPointer { pointers in
            vm_spawn_daemon(executable, pointers.baseAddress, environ, paths.tpmLog, listener.descriptor, &pid)
        }
        // This process's copy of the socket goes with the listener; swtpm holds its own.
        withExtendedLifetime(listener) {}
        guard result == 0 else { throw LaunchError.spawnFailed(executable: executable, errno: result) }
        return pid
    }
}
