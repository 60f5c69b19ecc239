// teardown-bench: from QEMU's exit to every function of a hot GPU back on its host driver
// (issue 15), with the supervisor's own teardown code and a fake kernel.
//
//   teardown-bench DEFINITION ROUNDS [kill|poweroff]
//
// DEFINITION has one `[[gpu]]`, `address = "0000:05:00"`, `plug = "hot"`: the second RTX 3090 Ti
// of the fake host `Scenarios.twoIdentical3090Ti()`. Per round: a new fake host; real QEMU and,
// in this process, its supervisor (`VMSupervisor.run`, the code `vm-supervisor` runs, here over the
// fake kernel: see GuestSupport's InProcessSupervisor); the GPU recorded in the guest (both
// functions on vfio-pci, swap journal `in-guest`); then QEMU ends: `kill` (SIGKILL at once) or
// `poweroff` (the booted guest gets the ACPI power button through the VM's QMP socket and powers
// itself off). Prints one line per round, in milliseconds:
// `MODE TRIGGER_TO_EXIT EXIT_TO_FIRST_HOST_ACCESS EXIT_TO_ALL_BACK EXIT_TO_TEARDOWN_DONE`.
// The exit is the moment a thread of this process blocked on QEMU's pidfd wakes; "all back" the
// end of the sysfs write after which every function is on its original driver; "teardown done"
// the supervisor's return (runtime folder removed, the end recorded, clients disconnected).
// Used by scripts/bench (its teardown part, scripts/bench.d/teardown.py).
import CSpawn
import Foundation
import GuestSupport
import HostLinux
import HostLinuxFakes
import OSThreads
import QMP
import Synchronization
import VMCore

/// The host file system the supervisor sees: the fake kernel, with the moments that matter noted
/// (the first access after ``arm(expecting:)``, and the write after which every watched function
/// is on its expected driver).
final class WatchedHost: HostFileSystem, Sendable {
    private let kernel: FakeKernel
    private let state = Mutex(State())

    private struct State {
        var expected: [PCIAddress: String] = [:]
        var firstAccess: ContinuousClock.Instant?
        var allBack: ContinuousClock.Instant?
    }

    init(_ kernel: FakeKernel) { self.kernel = kernel }

    /// From now on, notes the first access and the moment each function in `expected` is on its driver.
    func arm(expecting expected: [PCIAddress: String]) {
        state.withLock { $0 = State(expected: expected) }
    }

    var firstAccess: ContinuousClock.Instant? { state.withLock { $0.firstAccess } }
    var allBack: ContinuousClock.Instant? { state.withLock { $0.allBack } }

    private func accessed() {
        let now = ContinuousClock.now
        state.withLock { state in
            if !state.expected.isEmpty, state.firstAccess == nil { state.firstAccess = now }
        }
    }

    private func wrote() {
        let now = ContinuousClock.now
        let expected = state.withLock { $0.allBack == nil ? $0.expected : [:] }
        guard !expected.isEmpty,
              expected.allSatisfy({ kernel.linkBasename(PCIDeviceReader.directory(of: $0.key) + "/driver") == $0.value }) else { return }
        state.withLock { if $0.allBack == nil { $0.allBack = now } }
    }

    var root: HostRoot { kernel.root }
    func readData(_ path: String) throws -> Data { accessed(); return try kernel.readData(path) }
    func contentsOfDirectory(_ path: String) throws -> [String] { accessed(); return try kernel.contentsOfDirectory(path) }
    func readLink(_ path: String) throws -> String { accessed(); return try kernel.readLink(path) }
    func canonicalPath(_ path: String) throws -> String { accessed(); return try kernel.canonicalPath(path) }
    func exists(_ path: String) -> Bool { accessed(); return kernel.exists(path) }
    func isDirectory(_ path: String) -> Bool { accessed(); return kernel.isDirectory(path) }
    func writeAttribute(_ value: String, to path: String) throws {
        accessed()
        try kernel.writeAttribute(value, to: path)
        wrote()
    }
    func writeFile(_ data: Data, to path: String, mode: UInt16) throws { accessed(); try kernel.writeFile(data, to: path, mode: mode) }
    func permissions(_ path: String) throws -> UInt16 { accessed(); return try kernel.permissions(path) }
    func removeFile(_ path: String) throws { accessed(); try kernel.removeFile(path) }
    func createDirectories(_ path: String) throws -> [String] { accessed(); return try kernel.createDirectories(path) }
    func removeDirectory(_ path: String) throws { accessed(); try kernel.removeDirectory(path) }
    func isReadWritable(_ path: String) -> Bool { accessed(); return kernel.isReadWritable(path) }
}

/// The moment a process ends, as a thread blocked on its pidfd sees it. Not QEMU's
/// `ProcessEndWait`: that opens the pidfd on its waiting thread, which may run only after the
/// supervisor reaped QEMU (then it reports "ended" late, or for a pid already gone); here the
/// pidfd is open before QEMU is ended, and the thread notes the time as it wakes.
final class ExitMoment: Sendable {
    private let seen = Mutex<ContinuousClock.Instant?>(nil)

    /// Starts watching `pid` on a thread of its own.
    static func watching(_ pid: Int32) throws -> ExitMoment {
        let fd = vm_pidfd_open(pid)
        guard fd >= 0 else { throw BenchError("pidfd_open(\(pid)): errno \(errno)") }
        let moment = ExitMoment()
        DetachedThread.start(name: "exit-moment") {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            while poll(&entry, 1, -1) < 0 && errno == EINTR {}
            moment.record(ContinuousClock.now)
            close(fd)
        }
        return moment
    }

    private func record(_ now: ContinuousClock.Instant) { seen.withLock { $0 = now } }

    var instant: ContinuousClock.Instant? { seen.withLock { $0 } }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Milliseconds from `start` to `end`.
func milliseconds(_ start: ContinuousClock.Instant, _ end: ContinuousClock.Instant) -> Double {
    let elapsed = end - start
    return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
}

/// One round: a fresh fake host, QEMU and its in-process supervisor, the GPU in the guest, then QEMU's end.
func measureRound(_ loaded: LoadedDefinition, mode: String) async throws -> String {
    let host = WatchedHost(FakeKernel(tree: try Scenarios.twoIdentical3090Ti()))
    let vm = try await InProcessSupervisor.start(loaded, host: host)
    let originals = try vm.recordGPUInGuest(0)
    var client: QMPClient?
    defer { client?.close() }
    if mode == "poweroff" {
        try await Scratch.waitForSerial(in: loaded.paths.serialLog, marker: "VMTEST-READY")
        client = try await QMPClient.connect(path: vm.machine.qmpSocket)
    }
    let exit = try ExitMoment.watching(vm.qemuPID)
    host.arm(expecting: Dictionary(uniqueKeysWithValues: originals.map { ($0.address, $0.originalDriver ?? "") }))
    let trigger = ContinuousClock.now
    if let client {
        _ = try await client.execute("system_powerdown")
    } else {
        kill(vm.qemuPID, SIGKILL)
    }
    let status = await vm.end()
    let done = ContinuousClock.now
    guard status == 0, let exited = exit.instant, let first = host.firstAccess, let back = host.allBack else {
        throw BenchError("round incomplete: supervisor status \(status), exit seen \(exit.instant != nil), "
            + "host accessed \(host.firstAccess != nil), functions back \(host.allBack != nil); record: \(String(describing: vm.machine.runRecord()?.end))")
    }
    let values = [milliseconds(trigger, exited), milliseconds(exited, first), milliseconds(exited, back), milliseconds(exited, done)]
    return ([mode] + values.map { String(format: "%.3f", $0) }).joined(separator: " ")
}

let arguments = CommandLine.arguments
guard arguments.count >= 3, let rounds = Int(arguments[2]), rounds > 0,
      arguments.count < 4 || ["kill", "poweroff"].contains(arguments[3]) else {
    print("usage: teardown-bench DEFINITION ROUNDS [kill|poweroff]")
    exit(2)
}
let mode = arguments.count > 3 ? arguments[3] : "kill"
do {
    let loaded = try DefinitionLoader(layout: StateLayout(environment: ProcessInfo.processInfo.environment, uid: getuid()))
        .load(arguments[1])
    for _ in 0..<rounds {
        StandardStream.output.write(try await measureRound(loaded, mode: mode) + "\n")
    }
} catch {
    StandardStream.error.write("teardown-bench: \(error)\n")
    exit(1)
}
