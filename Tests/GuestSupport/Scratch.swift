import Foundation
import Logging
import QEMU
import Subprocess
import VMCore

/// A private folder for one test: definitions, runtime and state live under it (short paths for
/// Unix socket names). Kills any QEMU still running from it when released.
public final class Scratch: @unchecked Sendable {
    public let root: String
    public let layout: StateLayout

    public init() throws {
        var template = Array("/tmp/vmx-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        root = String(cString: made)
        layout = StateLayout(definitionDirectories: ["\(root)/d"], runtimeRoot: "\(root)/r", stateRoot: "\(root)/s")
        try FileManager.default.createDirectory(atPath: "\(root)/d", withIntermediateDirectories: true)
    }

    /// The environment that points a `vm` process at this folder.
    public var environment: Subprocess.Environment {
        .inherit.updating(["VM_HOME": "\(root)/d", "VM_RUNTIME_DIR": "\(root)/r", "VM_STATE_DIR": "\(root)/s"])
    }

    /// Writes `NAME.toml` and loads it (firmware resolved from this machine).
    public func define(_ name: String, _ toml: String) throws -> LoadedDefinition {
        let file = "\(root)/d/\(name).toml"
        try toml.write(toFile: file, atomically: true, encoding: .utf8)
        let loaded = try DefinitionLoader(layout: layout).load(name)
        let spec = loaded.spec.resolvedForLaunch(exists: { FileManager.default.fileExists(atPath: $0) }, functionsOfSlot: { _ in [] })
        return LoadedDefinition(file: loaded.file, spec: spec, paths: loaded.paths)
    }

    /// A QEMU machine for `loaded`, launched with `qemu` (default: from PATH) and supervised by
    /// `supervisor` (default: the built `vm-supervisor`), with no passthrough check unless one is given.
    public func machine(_ loaded: LoadedDefinition, qemu: String? = nil, supervisor: String? = nil,
                        passthroughProblems: @escaping @Sendable (VMSpec) -> [String] = { _ in [] }) throws -> QEMUMachine {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let launcher = try qemu.map(QEMULauncher.init(executable:)) ?? QEMULauncher.locate()
        return QEMUMachine(spec: loaded.spec, paths: loaded.paths, launcher: launcher, logger: logger,
                           definitionFile: loaded.file, supervisorExecutable: try supervisor ?? BuiltExecutable.path("vm-supervisor"),
                           passthroughProblems: passthroughProblems)
    }

    /// Waits until the guest's serial log holds `marker` (at least `count` times).
    /// On a time-out the error also says whether QEMU still runs and ends with its log and the
    /// supervisor's.
    public static func waitForSerial(_ loaded: LoadedDefinition, marker: String, count: Int = 1,
                                     timeout: Duration = .seconds(120)) async throws {
        do {
            try await waitForSerial(in: loaded.paths.serialLog, marker: marker, count: count, timeout: timeout)
        } catch TestBedError.guestNotReady(let message) {
            func tail(_ path: String) -> String { String(((try? String(contentsOfFile: path, encoding: .utf8)) ?? "(none)").suffix(1500)) }
            let pid = (try? String(contentsOfFile: loaded.paths.pidFile, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            let state = pid.map { kill($0, 0) == 0 ? "QEMU \($0) runs" : "QEMU \($0) is gone" } ?? "no pidfile"
            throw TestBedError.guestNotReady("\(message)\n\(state); qemu.log:\n\(tail(loaded.paths.qemuLog))\nsupervisor.log:\n\(tail(loaded.paths.supervisorLog))")
        }
    }

    /// Waits until the serial log file `log` holds `marker` (at least `count` times).
    public static func waitForSerial(in log: String, marker: String, count: Int = 1, timeout: Duration = .seconds(120)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: log, encoding: .utf8), text.components(separatedBy: marker).count - 1 >= count { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? "(no serial log)"
        throw TestBedError.guestNotReady("no \(marker) within \(timeout); serial log:\n\(text.suffix(2000))")
    }

    /// QEMU processes running the VM `name` (by the `-name` vm gives them).
    public static func qemuProcesses(named name: String) -> [Int32] {
        let table = SystemProcessTable()
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap(Int32.init) ?? []
        return pids.filter { pid in
            table.isAlive(pid) && (table.commandLine(of: pid)?.contains("guest=\(name),process=vm-\(name)") ?? false)
        }
    }

    deinit {
        // Never leave a QEMU behind: kill whatever still runs from this scratch folder.
        let table = SystemProcessTable()
        for pid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap(Int32.init) ?? []
        where table.commandLine(of: pid)?.contains(where: { $0.contains(root) }) ?? false {
            table.send(SIGKILL, to: pid)
        }
        try? FileManager.default.removeItem(atPath: root)
    }
}
