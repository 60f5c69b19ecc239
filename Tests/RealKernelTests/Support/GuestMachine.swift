/// The QEMU command line of the binding guest: q35 under TCG with a virtual Intel IOMMU (interrupt remapping, so
/// `kernel-irqchip=split`), the stand-in pairs cold-plugged after the IOMMU, the test-bed kernel and initramfs,
/// serial console to a file, no QMP (the guest powers itself off after its script). Pure.
struct GuestMachine: Sendable {
    var kernel: String
    var initrd: String
    /// From `scripts/testbed prepare`; the VFIO and run parameters are added.
    var baseCmdline: String
    var pairs: [StandInPair]
    /// The script's own parameters (`rktest.*`).
    var scriptParameters: [String]
    var serialLog: String
    /// The `vm` overlay unpacks to ~170 MB of RAM (a nested host needs more: QEMU and its guest).
    var memoryMiB = 1024
    /// Virtual CPUs (a host whose CPUs `vm` isolates needs at least two).
    var cpus = 1
    /// Further QEMU arguments after the pairs (the desk suite's xHCI controllers and USB devices).
    var extraArguments: [String] = []

    /// The silent audio backend of the sound functions.
    static let audiodev = "noaudio"

    /// Where the guest script sits in the initramfs (`vmtest.run`).
    static let scriptPath = "/usr/share/vmtest/run.sh"
    /// Where Guest/rk-lib.sh sits (the scripts source it).
    static let libraryPath = "/usr/share/vmtest/rk-lib.sh"

    var cmdline: String {
        ([baseCmdline, "intel_iommu=on", "vmtest.vfio=1", "vmtest.run=\(Self.scriptPath)"] + scriptParameters)
            .joined(separator: " ")
    }

    var arguments: [String] {
        var arguments = [
            "-machine", "q35,accel=tcg,kernel-irqchip=split",
            "-m", String(memoryMiB), "-smp", String(cpus),
            "-nodefaults", "-display", "none", "-no-reboot",
            "-audiodev", "none,id=\(Self.audiodev)",
            "-device", "intel-iommu,intremap=on,caching-mode=on",
        ]
        for pair in pairs { arguments += pair.qemuArguments(audiodev: Self.audiodev) }
        arguments += extraArguments
        arguments += [
            "-serial", "file:\(serialLog)",
            "-kernel", kernel, "-initrd", initrd, "-append", cmdline,
        ]
        return arguments
    }
}
