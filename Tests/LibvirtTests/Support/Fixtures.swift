import VMCore

/// VM definitions shared by the golden-XML tests (the same shapes as the QEMU argv tests).
enum Fixtures {
    static let paths = VMPaths(runtimeDirectory: "/run/vm/test", stateDirectory: "/var/lib/vm/test")

    static func name(_ text: String) -> VMName {
        // Fixture names are literals that satisfy VMName's rules.
        try! VMName(text)
    }

    /// OVMF, KVM, one virtio disk, user networking, headless.
    static func base(_ vmName: String) -> VMSpec {
        var spec = VMSpec(name: name(vmName))
        spec.firmware.code = "/usr/share/OVMF/OVMF_CODE_4M.fd"
        spec.firmware.varsTemplate = "/usr/share/OVMF/OVMF_VARS_4M.fd"
        var disk = DiskSpec(path: "/var/lib/vm/test/disk.qcow2")
        disk.format = .qcow2
        spec.disks = [disk]
        spec.network.mac = MACAddress("52:54:00:12:34:56")!
        return spec
    }

    static func gpu(_ slot: String, functions: [UInt8]) -> GPUPassthrough {
        let pciSlot = PCISlot(slot)!
        return GPUPassthrough(slot: pciSlot, functions: functions.map { pciSlot.function($0) })
    }

    /// One GPU at 0000:05:00 with display and HDMI audio, hugepages and the guest agent.
    static var singleGPU: VMSpec {
        var spec = base("gaming")
        spec.memoryMiB = 16384
        spec.hugepages = .twoMiB
        spec.cpu.cores = 6
        spec.cpu.threads = 2
        spec.gpus = [gpu("0000:05:00", functions: [0, 1])]
        spec.guestAgent = true
        return spec
    }

    /// Two identical GPUs on the host; the definition picks one by address.
    static func gpuChosenByAddress(_ slot: String) -> VMSpec {
        var spec = base("pick-\(slot.replacingOccurrences(of: ":", with: "-"))")
        spec.gpus = [gpu(slot, functions: [0, 1])]
        return spec
    }

    static func nic(_ mode: NetworkSpec.Mode) -> VMSpec {
        var spec = base("nic-\(mode.rawValue)")
        spec.network.mode = mode
        spec.network.bridge = "br0"
        spec.network.parent = "enp3s0"
        spec.network.libvirtNetwork = "default"
        return spec
    }

    static var secureBoot: VMSpec {
        var spec = base("secure")
        spec.firmware.code = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"
        spec.firmware.varsTemplate = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"
        spec.firmware.secureBoot = true
        return spec
    }

    /// A TCG test guest: direct kernel boot, no GPU, std VGA over VNC, no network.
    static var noGPU: VMSpec {
        var spec = base("plain")
        spec.accelerator = .tcg
        spec.cpu.cores = 1
        spec.memoryMiB = 512
        spec.disks = []
        spec.kernelBoot = KernelBoot(kernel: "/srv/guest/vmlinuz", initrd: "/srv/guest/initrd.gz",
                                     append: "console=ttyS0 quiet")
        spec.network.mode = .none
        spec.display.kind = .std
        spec.display.vnc = "127.0.0.1:3"
        return spec
    }

    /// Windows: Hyper-V enlightenments, vendor id, hidden KVM, a SATA disk and two ISOs, a GPU
    /// with a ROM file and x-vga.
    static var windows: VMSpec {
        var spec = base("win11")
        spec.windows.hyperV = true
        spec.windows.hvVendorID = "whatever"
        spec.windows.kvmHidden = true
        var disk = DiskSpec(path: "/dev/disk/by-id/nvme-Samsung_SSD & <co>")
        disk.format = .raw
        disk.bus = .sata
        spec.disks = [disk]
        spec.cdroms = [CDROMSpec(path: "/isos/Win11.iso"), CDROMSpec(path: "/isos/virtio-win.iso")]
        var card = gpu("0000:01:00", functions: [0, 1])
        card.romFile = "/var/lib/vm/roms/rtx'3060.rom"
        card.xVGA = true
        spec.gpus = [card]
        spec.network.model = "e1000e"
        spec.cpu.model = "Skylake-Client-v3"
        return spec
    }

    /// What `vm init --windows` writes: Windows 11's TPM 2.0 and Secure Boot with Microsoft's
    /// keys, a SATA disk, the install and driver ISOs, an install display.
    static var windows11: VMSpec {
        var spec = secureBoot
        spec.name = name("win11")
        spec.tpm.enabled = true
        var disk = DiskSpec(path: "/var/lib/vm/win11/disk.qcow2")
        disk.bus = .sata
        spec.disks = [disk]
        spec.cdroms = [CDROMSpec(path: "/isos/Win11.iso"), CDROMSpec(path: "/isos/virtio-win.iso")]
        spec.display.kind = .std
        spec.display.vnc = DisplaySpec.defaultVNC
        return spec
    }

    /// A GPU handed over while the VM runs: only its root port is in the XML, plus two spares.
    static var hotGPU: VMSpec {
        var spec = base("hotswap")
        var card = gpu("0000:05:00", functions: [0, 1])
        card.plug = .hot
        spec.gpus = [card]
        spec.spareRootPorts = 2
        spec.display.kind = .virtio
        return spec
    }

    /// Every golden case: file name (without `.xml`) and definition.
    static var golden: [(String, VMSpec)] {
        [
            ("single-gpu", singleGPU),
            ("gpu-pick-01", gpuChosenByAddress("0000:01:00")),
            ("gpu-pick-05", gpuChosenByAddress("0000:05:00")),
            ("nic-user", nic(.user)),
            ("nic-bridge", nic(.bridge)),
            ("nic-macvtap", nic(.macvtap)),
            ("nic-network", nic(.network)),
            ("nic-none", nic(.none)),
            ("secure-boot", secureBoot),
            ("no-gpu", noGPU),
            ("windows", windows),
            ("windows11-tpm", windows11),
            ("hot-gpu", hotGPU),
        ]
    }
}
