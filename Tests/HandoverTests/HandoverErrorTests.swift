import Handover
import HostLinux
import Testing

/// One error type for both backends: the words that differ come from the backend, the rest is
/// written once.
@Suite struct HandoverErrorTests {
    @Test func theBackendGivesTheRecoveryHint() {
        let qemu = HandoverError.stepFailed(step: "device_add gpu0-f0", reason: "boom", rolledBack: false, backend: .qemu)
        let libvirt = HandoverError.stepFailed(step: "attach of ua-gpu0-fn0", reason: "boom", rolledBack: false, backend: .libvirt)
        #expect(qemu.description == "device_add gpu0-f0 failed: boom; run `vm gpu recover` to finish the rollback")
        #expect(libvirt.description.hasSuffix("undoing it failed too: check `virsh dumpxml` and `virsh nodedev-reattach`"))
        #expect(HandoverError.notRunning(name: "w", backend: .libvirt).description == "w is not running under libvirt; `vm up w` first")
        #expect(HandoverError.notRunning(name: "w", backend: .qemu).description == "w is not running; `vm up w` first")
    }

    /// The unplug timeout keeps its fractions on both backends (libvirt's used to be cut to whole seconds).
    @Test func unplugTimeoutKeepsFractions() {
        let error = HandoverError.unplugTimedOut(stillPresent: ["ua-gpu0-fn0"], timeout: .milliseconds(1500))
        #expect(error.description.contains("within 1.5 s"))
    }

    @Test func holdersAreNamedOnce() {
        let holders = [DeviceHolder(pid: 4242, command: "Xorg", deviceNode: "/dev/nvidia0")]
        #expect(HandoverError.heldByHost(holders).description == HandoverError.holdersMessage(holders))
        #expect(HandoverError.holdersMessage(holders).contains("4242 Xorg (/dev/nvidia0)"))
    }

    @Test func forcedHoldersBecomeAWarning() throws {
        let holders = [DeviceHolder(pid: 7, command: "pulseaudio", deviceNode: "/dev/snd/pcmC1D3p")]
        #expect(throws: HandoverError.heldByHost(holders)) { try HostPreCheck.refuseHolders(holders, force: false) }
        #expect(try HostPreCheck.refuseHolders(holders, force: true)?.contains("7 pulseaudio") == true)
        #expect(try HostPreCheck.refuseHolders([], force: false) == nil)
    }
}
