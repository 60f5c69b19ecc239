import Foundation
import VMCore

/// Definitions shared by the argv golden tests and the real-QEMU start tests. Paths under /vm
/// are made to exist by `fileExists`; firmware comes from the Debian `ovmf` package.
enum GoldenDefinitions {
    static let cases: [(name: String, toml: String)] = [
        ("desk", """
            accelerator = "tcg"
            memory = "1G"
            [looking_glass]
            resolution = "2560x1440"
            [[input]]
            path = "/dev/input/by-id/usb-Logitech_USB_Receiver-if02-event-mouse"
            repeat = false
            [[input]]
            path = "/dev/input/by-id/usb-Keyboard,Inc-event-kbd"
            [[usb]]
            device = "046d:c52b"
            [[usb]]
            bus = 3
            port = "1.4"
            [[usb_host_controller]]
            address = "0000:0a:00.3"
            [audio]
            server = "unix:/run/user/1000/pulse/native"
            """),
        ("no-gpu", """
            accelerator = "tcg"
            memory = "512M"
            """),
        ("single-gpu", """
            memory = "16G"
            [cpu]
            cores = 8
            threads = 2
            [[gpu]]
            address = "0000:05:00"
            rom = "/vm/gpu.rom"
            [[disk]]
            path = "/vm/win11.qcow2"
            """),
        ("identical-pair-second-card", """
            memory = "8G"
            [[gpu]]
            functions = ["0000:05:00.0", "0000:05:00.1"]
            display = "0000:05:00.0"
            [windows]
            hyperv = true
            vendor_id = "1234567890ab"
            kvm_hidden = true
            """),
        ("bridge-network", """
            [network]
            mode = "bridge"
            bridge = "br0"
            [[cdrom]]
            path = "/vm/win11.iso"
            """),
        ("macvtap-network", """
            [network]
            mode = "macvtap"
            parent = "enp3s0"
            mac = "52:54:00:12:34:56"
            """),
        ("secure-boot", """
            [firmware]
            secure_boot = true
            [[disk]]
            path = "/vm/win11.qcow2"
            bus = "sata"
            [display]
            type = "std"
            """),
        ("windows11", """
            [firmware]
            secure_boot = true
            [tpm]
            enabled = true
            [[disk]]
            path = "/vm/win11.qcow2"
            bus = "sata"
            [[cdrom]]
            path = "/vm/win11.iso"
            [display]
            type = "std"
            """),
        ("hot-gpu-tcg", """
            accelerator = "tcg"
            memory = "1G"
            guest_agent = true
            spare_root_ports = 2
            [[gpu]]
            address = "0000:00:10"
            plug = "hot"
            device = "stand-in"
            """),
        ("bios-kernel-boot", """
            accelerator = "tcg"
            memory = "256M"
            hotplug = "pcie"
            [firmware]
            type = "bios"
            [boot]
            kernel = "/vm/vmlinuz"
            initrd = "/vm/initrd.gz"
            append = "console=ttyS0 quiet"
            [network]
            mode = "none"
            """),
    ]

    static let fakeFiles: Set<String> = [
        "/vm/gpu.rom", "/vm/win11.qcow2", "/vm/win11.iso", "/vm/vmlinuz", "/vm/initrd.gz",
        "/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd",
        "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", "/usr/share/OVMF/OVMF_VARS_4M.ms.fd",
    ]

    /// Functions of a host slot: two identical cards (display + audio) as in the seed.
    static func functionsOfSlot(_ slot: PCISlot) -> [PCIAddress] {
        ["0000:01:00", "0000:05:00"].contains(slot.description) ? [slot.function(1), slot.function(0)] : []
    }

    static func spec(_ name: String, toml: String) throws -> VMSpec {
        try DefinitionParser(file: "/etc/vm/\(name).toml", fileExists: { fakeFiles.contains($0) })
            .parse(toml)
            .resolvedForLaunch(exists: { fakeFiles.contains($0) }, functionsOfSlot: functionsOfSlot)
    }

    static let paths = VMPaths(runtimeDirectory: "/run/vm/test", stateDirectory: "/var/lib/vm/test")
}
