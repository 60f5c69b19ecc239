import Foundation
import Testing

/// `[cpu] isolate`, explicit pins and `hugepages = "2M"` on a real kernel: the test-bed guest (two CPUs) is the host,
/// the real `vm` binary changes its cgroups (v1's cpuset hierarchy, then v2) and huge pages for a paused VM and
/// undoes them on every end: `vm down`,
/// QEMU killed (the supervisor), QEMU and supervisor killed (the next `vm` command). One boot serves every case; the
/// cases judge what the guest's kernel showed, not what `vm` said. Guest/host-tuning.sh; docs/real-kernel.md.
@Suite("Real kernel: CPU isolation, pinning and huge pages set up and undone in the test-bed guest", .serialized,
       .timeLimit(.minutes(30)))
struct HostTuningTests {
    /// 128 MiB of guest memory in 2 MiB pages.
    static let pages = "64"

    @Test("vm up: QEMU's threads on their pins, the vCPU SCHED_FIFO, other tasks off its CPU, huge pages reserved; vm down undoes it")
    func upAndDown() async throws {
        let transcript = try await completedRun().transcript
        try expectUntouched(transcript, "before")
        try transcript.requireSucceeded("up/up")
        expectIsolated(transcript, "up")

        try transcript.requireSucceeded("up/host-cpus")
        #expect(transcript.standardOutput("up/host-cpus").contains("held by tune (CPU 1)"), "\(transcript.standardOutput("up/host-cpus"))")
        try transcript.requireSucceeded("up/status")
        let status = try JSONSerialization.jsonObject(with: Data(transcript.standardOutput("up/status").utf8)) as? [String: Any]
        let pinning = try #require(status?["pinning"] as? [String], "no pinning in vm status: \(transcript.standardOutput("up/status"))")
        // "TID CPUS POLICY" (1: SCHED_FIFO) for each QEMU thread, as the kernel has them.
        let threads = Dictionary(uniqueKeysWithValues: transcript.standardOutput("up/threads").split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ").map(String.init)
            return words.count == 3 ? (words[0], words[1] + " " + words[2]) : nil
        })
        let vcpu = try #require(pinning.first { $0.hasPrefix("vCPU 0") }, "no vCPU in \(pinning)")
        #expect(vcpu.hasSuffix(", SCHED_FIFO"), "vm status: \(vcpu)")
        let vcpuThread = try #require(threads.keys.first { vcpu.contains("(thread \($0))") }, "\(vcpu) is no QEMU thread: \(threads)")
        #expect(threads[vcpuThread] == "1 1", "the vCPU thread's affinity and policy in /proc: \(threads)")
        let others = threads.filter { $0.key != vcpuThread }
        #expect(!others.isEmpty && others.values.allSatisfy { $0 == "0 0" }, "the emulator threads' affinities and policies in /proc: \(others)")

        #expect(transcript.exitStatus("down/down") == 3, "vm down --force (QMP quit: exit 3): \(transcript.standardError("down/down"))")
        try expectUntouched(transcript, "down")
    }

    @Test("cgroup v1's cpuset hierarchy alone: the same isolation and pins, all undone")
    func cgroupV1() async throws {
        let transcript = try await completedRun().transcript
        try transcript.requireSucceeded("v1/up")
        expectIsolated(transcript, "v1/up")
        let affinities = transcript.standardOutput("v1/threads").split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }
        #expect(affinities.filter { $0 == "1" }.count == 1 && affinities.filter { $0 == "0" }.count == affinities.count - 1,
                "one vCPU thread on CPU 1, the others on 0: \(transcript.standardOutput("v1/threads"))")
        #expect(transcript.exitStatus("v1/down") == 3, "vm down --force (QMP quit: exit 3): \(transcript.standardError("v1/down"))")
        try expectUntouched(transcript, "v1/down")
    }

    @Test("QEMU killed: the supervisor undoes the isolation and frees the huge pages")
    func qemuKilled() async throws {
        let transcript = try await completedRun().transcript
        try transcript.requireSucceeded("qemu-killed/up")
        try transcript.requireSucceeded("qemu-killed/supervisor-ended")
        try expectUntouched(transcript, "qemu-killed")
    }

    @Test("QEMU and its supervisor killed: the changes stay recorded, and the next vm down undoes them")
    func everythingKilled() async throws {
        let transcript = try await completedRun().transcript
        try transcript.requireSucceeded("all-killed/up")
        #expect(transcript.standardOutput("all-killed/left/hugepages") == Self.pages)
        #expect(transcript.standardOutput("all-killed/left/records") == "cpu-isolation.json\nhugepages.json")
        try transcript.requireSucceeded("all-killed/down")
        try expectUntouched(transcript, "all-killed")
    }

    /// The one boot, shared by the cases.
    private func completedRun() async throws -> ScriptedGuest.Run {
        let run = try await Self.shared.value()
        try #require(run.transcript.unpackFailures.isEmpty, "initramfs: \(run.transcript.unpackFailures)")
        try #require(run.transcript.done, "the guest script did not finish; serial log:\n\(run.serialTail)")
        return run
    }

    private static let shared = SharedAttempt {
        let scratch = try ScratchDirectory()
        let bed = try await TestBed.prepare(full: false, scratch: scratch)
        let guest = ScriptedGuest(
            image: bed.cloud, baseCmdline: bed.cmdline, pairs: [], script: "host-tuning.sh", scriptParameters: [],
            extraOverlays: { scratch in
                // QEMU for the first level (the nested bed's overlay).
                let overlay = scratch.file("nested.cpio")
                _ = try await TestCommand.runChecked(Repository.path("scripts/testbed"), ["nested-overlay", overlay],
                                                      name: "nested-overlay", outputDirectory: scratch.path, timeout: .seconds(900))
                return [overlay]
            },
            memoryMiB: 1536, cpus: 2, timeout: .seconds(1500))
        let run = try await guest.run()
        print("host tuning: initramfs " + String(format: "%.1f s", run.preparation.seconds)
              + ", guest QEMU " + String(format: "%.1f s", run.duration.seconds))
        return run
    }

    /// The host while the VM runs: its pages reserved, a new host task kept to CPU 0, vm's two cgroups, both records.
    private func expectIsolated(_ transcript: GuestTranscript, _ phase: String) {
        #expect(transcript.standardOutput("\(phase)/hugepages") == Self.pages, "\(phase): huge pages")
        #expect(transcript.standardOutput("\(phase)/allowed") == "0", "\(phase): a new host task may run on the vCPU's CPU")
        #expect(transcript.standardOutput("\(phase)/cgroups") == "vm-host\nvm-tune", "\(phase): cgroups")
        #expect(transcript.standardOutput("\(phase)/records") == "cpu-isolation.json\nhugepages.json", "\(phase): records")
    }

    /// The host as it was before the first `vm up`: no huge pages, every CPU for every task, no cgroup and no record of vm's.
    private func expectUntouched(_ transcript: GuestTranscript, _ phase: String) throws {
        #expect(transcript.standardOutput("\(phase)/hugepages") == "0", "\(phase): huge pages")
        #expect(transcript.standardOutput("\(phase)/allowed") == "0-1", "\(phase): a host task's CPUs")
        #expect(transcript.standardOutput("\(phase)/cgroups").isEmpty, "\(phase): cgroups left")
        #expect(transcript.standardOutput("\(phase)/records").isEmpty, "\(phase): records left")
    }
}
