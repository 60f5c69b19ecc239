import Foundation
import GuestSupport
import QMP
import Testing
import VMCore
@testable import QEMU

/// swtpm's command line, as a pure function.
struct TPMEmulatorArgumentTests {
    @Test func swtpmServesTheHandedSocketAndKeepsItsStateInTheStateFolder() throws {
        let paths = VMPaths(runtimeDirectory: "/run/vm/w", stateDirectory: "/var/lib/vm/w")
        let argv = try TPMEmulator.arguments(executable: "/usr/bin/swtpm", paths: paths, controlDescriptor: 7)
        #expect(argv == ["/usr/bin/swtpm", "socket", "--tpm2", "--tpmstate", "dir=/var/lib/vm/w/tpm,mode=0600",
                         "--ctrl", "type=unixio,fd=7", "--terminate", "--log", "fd=1,level=1"])
    }

    @Test func aCommaInTheStatePathIsRefused() {
        let paths = VMPaths(runtimeDirectory: "/run/vm/w", stateDirectory: "/var/lib/a,b/w")
        #expect(throws: TPMEmulatorError.unusablePath("/var/lib/a,b/w/tpm")) {
            try TPMEmulator.arguments(executable: "swtpm", paths: paths, controlDescriptor: 7)
        }
    }

    @Test func aMissingSwtpmSaysHowToInstallIt() {
        #expect(throws: TPMEmulatorError.binaryNotFound) { try TPMEmulator.locate(environment: ["PATH": "/nonexistent"]) }
        #expect(TPMEmulatorError.binaryNotFound.description.contains("apt-get install swtpm"))
    }
}

/// Real swtpm, real QEMU (TCG) and the test-bed guest. Serialized: each test runs a TCG guest.
@Suite(.serialized)
struct TPMGuestTests {
    static func definition(_ bed: TestBed) -> String {
        bed.definition(extraCmdline: "vmtest.shell=1", extra: "[tpm]\nenabled = true")
    }

    @Test("the guest sees a TPM 2.0 from swtpm; swtpm ends with QEMU and its state stays in a 0700 folder")
    func guestSeesTPM2() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("tpm", Self.definition(bed))
        let machine = try scratch.machine(loaded)
        _ = try await machine.up()
        let swtpm = try #require(machine.runRecord()?.swtpmPID, "the run record names swtpm")
        #expect(SystemProcessTable().commandLine(of: swtpm)?.contains("--tpm2") == true)
        #expect(await machine.status().tpm == "TPM 2.0 (tpm-crb, swtpm pid \(swtpm)), state in \(loaded.paths.tpmStateDirectory)")

        try await Scratch.waitForSerial(loaded, marker: "VMTEST-READY")
        let console = try await SupervisorTests.typeOnConsole(loaded, "echo TPM-MAJOR-$(cat /sys/class/tpm/tpm0/tpm_version_major)")
        defer { console.close() }
        try await Scratch.waitForSerial(loaded, marker: "TPM-MAJOR-2")

        #expect(try await machine.down(timeout: .seconds(60)) == .poweredOff)
        #expect(!SystemProcessTable().isAlive(swtpm), "swtpm ends with QEMU")
        let attributes = try FileManager.default.attributesOfItem(atPath: loaded.paths.tpmStateDirectory)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o700)
        #expect(FileManager.default.fileExists(atPath: "\(loaded.paths.tpmStateDirectory)/tpm2-00.permall"))
        #expect(machine.runRecord()?.end?.cause == .guestPoweredOff)
        #expect(await machine.status().tpm == "TPM 2.0 (tpm-crb, swtpm), state in \(loaded.paths.tpmStateDirectory)")
    }

    @Test("a swtpm left by a run whose QEMU and supervisor were killed is stopped by the next vm up")
    func leftoverTPMEmulatorIsStoppedByTheNextUp() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("tpmleft", Self.definition(bed))
        let machine = try scratch.machine(loaded)
        let qemu = try #require(try await machine.up(paused: true).pid)
        let record = try #require(machine.runRecord())
        let swtpm = try #require(record.swtpmPID)
        // A stopped swtpm cannot notice QEMU's end and leave by itself.
        kill(swtpm, SIGSTOP)
        kill(record.supervisorPID, SIGKILL)
        kill(qemu, SIGKILL)
        while SystemProcessTable().isAlive(qemu) { try await Task.sleep(for: .milliseconds(20)) }

        let second = try await machine.up(paused: true)
        #expect(!SystemProcessTable().isAlive(swtpm), "the leftover swtpm is gone")
        #expect(machine.runRecord()?.swtpmPID != swtpm)
        #expect(second.recoveredStaleState)
        #expect(try await machine.down(timeout: .seconds(1), force: true) == .quit)
    }

    @Test("kill -9 of swtpm ends the run, and the record says why")
    func deadTPMEmulatorEndsTheRun() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("tpmkill", Self.definition(bed))
        let machine = try scratch.machine(loaded)
        _ = try await machine.up()
        let swtpm = try #require(machine.runRecord()?.swtpmPID)
        let (watcher, disconnected) = try await SupervisorTests.watchSupervisorEnd(loaded)
        defer { watcher.close() }
        kill(swtpm, SIGKILL)
        #expect(await SupervisorTests.finishes(disconnected), "the supervisor ends QEMU and then itself")

        #expect(Scratch.qemuProcesses(named: "tpmkill").isEmpty)
        let record = try #require(machine.runRecord())
        #expect(record.end?.cause == .tpmEmulatorEnded)
        #expect(record.events.map(\.name).contains("TPM_EMULATOR_ENDED"))
        let status = await machine.status()
        #expect(status.state == .stopped)
        #expect(status.note?.hasPrefix("the TPM emulator (swtpm) ended, so QEMU was stopped") == true, "\(status.note ?? "no note")")
    }
}
