import Foundation
import HostLinux
import VMCore

/// A fake desktop whose only GPU, an RTX 3090 Ti at 01:00 (group 17, the boot display), runs
/// the desktop: gdm3 (the display-manager.service link) with Xorg (pid 1200, `/dev/dri/card0`,
/// `/dev/nvidia0`) and pipewire (pid 1300, the card's HDMI sound), fbcon on vtcon1, the EFI
/// framebuffer bound, the NVIDIA modules loaded. Its ``runner`` acts as the host would:
/// `systemctl stop/start gdm3.service` ends and starts the session's processes, `modprobe`
/// unloads and loads modules (the `nvidia` driver with them), `kill` ends processes except the
/// stubborn ones.
public final class SingleGPUDesktop: Sendable {
    public let tree: FakeHostTree
    public let kernel: FakeKernel
    public let runner: RecordingRunner
    public static let slot = PCISlot("0000:01:00")!
    public static let functions = [PCIAddress("0000:01:00.0")!, PCIAddress("0000:01:00.1")!]
    static let session: [(Int, String, [String])] = [(1200, "Xorg", ["/dev/dri/card0", "/dev/nvidia0", "/dev/nvidiactl"]),
                                                     (1300, "pipewire", ["/dev/snd/controlC1", "/dev/snd/pcmC1D3p"])]

    /// The desktop; `stubborn` processes (pid, command, open device nodes) hold the card and
    /// survive SIGTERM (and SIGKILL too when `unkillable`).
    public init(stubborn: [(Int, String, [String])] = [], unkillable: Bool = false) throws {
        let tree = try FakeHostTree()
        try Scenarios.baseHost(tree)
        try Scenarios.rtx3090Ti(tree, slot: "0000:01:00", group: 17, bootVGA: true, rootPort: "0000:00:01.0")
        try tree.drmNodes("0000:01:00.0", card: 0, render: 128)
        try tree.soundCard("0000:01:00.1", card: 1)
        try tree.rawSymlink("/etc/systemd/system/display-manager.service", to: "/lib/systemd/system/gdm3.service")
        try tree.file("/sys/class/vtconsole/vtcon0/name", "(S) dummy device\n")
        try tree.file("/sys/class/vtconsole/vtcon0/bind", "0\n")
        try tree.file("/sys/class/vtconsole/vtcon1/name", "(M) frame buffer device\n")
        try tree.file("/sys/class/vtconsole/vtcon1/bind", "1\n")
        try tree.directory("/sys/devices/platform/efi-framebuffer.0")
        try tree.file("/sys/bus/platform/drivers/efi-framebuffer/bind", "", mode: 0o200)
        try tree.file("/sys/bus/platform/drivers/efi-framebuffer/unbind", "", mode: 0o200)
        try tree.symlink("/sys/bus/platform/drivers/efi-framebuffer/efi-framebuffer.0", to: "/sys/devices/platform/efi-framebuffer.0")
        for module in HostReleasePlan.nvidiaModules { try tree.loadedModule(module) }
        for (pid, command, files) in Self.session + stubborn { try tree.process(pid, command: command, openFiles: files) }
        let kernel = FakeKernel(tree: tree)
        let stubbornPIDs = Set(stubborn.map { Int32($0.0) })
        runner = RecordingRunner { arguments in
            switch arguments {
            case ["systemctl", "stop", "gdm3.service"]:
                for (pid, _, _) in Self.session { try? tree.remove("/proc/\(pid)") }
            case ["systemctl", "start", "gdm3.service"]:
                for (pid, command, files) in Self.session where !tree.fileSystem.exists("/proc/\(pid)") {
                    try tree.process(pid, command: command, openFiles: files)
                }
            case _ where arguments.starts(with: ["modprobe", "-r"]):
                let module = arguments[2]
                try tree.remove("/sys/module/" + module)
                if module == "nvidia" {
                    for function in Self.functions where tree.fileSystem.linkBasename(PCIDeviceReader.directory(of: function) + "/driver") == "nvidia" {
                        try tree.unbind(function)
                    }
                    try tree.remove("/sys/bus/pci/drivers/nvidia")
                }
            case _ where arguments.first == "modprobe":
                let module = arguments[1]
                try tree.loadedModule(module)
                if module == "nvidia" {
                    try tree.driver("nvidia")
                    try kernel.writeAttribute(Self.functions[0].description, to: "/sys/bus/pci/drivers_probe")
                }
            case _ where arguments.first == "kill":
                let signal = arguments[1]
                for pid in arguments.dropFirst(2).compactMap({ Int32($0) }) where !stubbornPIDs.contains(pid) || (signal == "-KILL" && !unkillable) {
                    try? tree.remove("/proc/\(pid)")
                }
            default:
                return CommandResult(status: 1, standardOutput: "", standardError: "unknown command in the fake host")
            }
            return nil
        }
        self.tree = tree
        self.kernel = kernel
    }

    /// What the host has around the card now.
    public func facts() throws -> HostDisplayFacts {
        try HostDisplayReader(fileSystem: kernel).facts(functions: Self.functions)
    }

    /// Whether the desktop session runs (its processes exist).
    public var desktopRuns: Bool { Self.session.allSatisfy { tree.fileSystem.exists("/proc/\($0.0)") } }
}
