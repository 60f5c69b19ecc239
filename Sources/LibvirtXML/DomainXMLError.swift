import VMCore

/// Why a ``VMSpec`` cannot be turned into libvirt domain XML. Each case names the definition key a
/// user has to change.
public enum DomainXMLError: Error, Equatable, CustomStringConvertible {
    /// OVMF firmware without a resolved code image (`firmware.code`).
    case missingFirmwareCode
    /// OVMF firmware without a resolved vars template (`firmware.varsTemplate`).
    case missingVarsTemplate
    /// Secure boot needs OVMF.
    case secureBootNeedsOVMF
    /// A GPU entry with no PCI functions (the host lookup did not run or found nothing).
    case gpuWithoutFunctions(index: Int)
    /// A GPU's functions span several host slots; one guest slot cannot hold them.
    case gpuFunctionsOnSeveralSlots(index: Int)
    /// A GPU with an emulated stand-in driver: libvirt passes GPUs only as VFIO host devices.
    case gpuDriverNotHostdev(index: Int, driver: String)
    /// A NVMe disk: libvirt 9.0 has no NVMe disk bus.
    case nvmeDiskUnsupported(path: String)
    /// `network.mode = "bridge"` without `network.bridge`.
    case bridgeMissing
    /// `network.mode = "macvtap"` without `network.parent`.
    case macvtapParentMissing
    /// `network.mode = "network"` without `network.libvirt_network`.
    case libvirtNetworkMissing
    /// `display.vnc` is not `HOST:DISPLAY` with a display number 0...59635.
    case badVNCAddress(String)
    /// `windows.hv_vendor_id` is longer than 12 characters or contains a comma.
    case badHyperVVendorID(String)
    /// More PCIe devices than the slots of the root bus (`0x02`...`0x1e`) can hold.
    case tooManyPCIDevices(needed: Int, available: Int)
    /// More than the six SATA ports of the q35 AHCI controller (SATA disks plus CD-ROMs).
    case tooManySATADevices(count: Int)
    /// `x_vga` on a GPU plugged while the VM runs; QEMU sets up VGA routing only at power-on.
    case xVGAOnHotGPU(index: Int)
    /// A value holds a control character, which XML 1.0 cannot carry.
    case controlCharacter(field: String)
    /// Looking Glass on a `kvmfr` device: libvirt's `<shmem>` lives in /dev/shm.
    case lookingGlassKVMFR(path: String)
    /// A `[[usb]]` device by port path: libvirt finds USB devices by ids or bus/device number.
    case usbByPort(String)

    public var description: String {
        switch self {
        case .lookingGlassKVMFR(let path):
            return "looking_glass.path \(path): libvirt's <shmem> lives in /dev/shm; use the default path with the libvirt backend, or the QEMU backend for kvmfr"
        case .usbByPort(let port):
            return "usb \(port): libvirt finds USB devices by vendor:product; give device = \"VVVV:PPPP\" with the libvirt backend"
        case .missingFirmwareCode:
            return "OVMF firmware needs its code image (firmware.code); none was found or given"
        case .missingVarsTemplate:
            return "OVMF firmware needs its vars template (firmware.vars_template); none was found or given"
        case .secureBootNeedsOVMF:
            return "secure boot needs OVMF firmware (firmware.kind = \"ovmf\")"
        case .gpuWithoutFunctions(let index):
            return "GPU #\(index + 1) has no PCI functions to pass through"
        case .gpuFunctionsOnSeveralSlots(let index):
            return "GPU #\(index + 1) lists functions of several PCI slots; give one slot per GPU"
        case .gpuDriverNotHostdev(let index, let driver):
            return "GPU #\(index + 1) uses device '\(driver)'; the libvirt backend passes GPUs only as vfio-pci host devices"
        case .nvmeDiskUnsupported(let path):
            return "disk \(path): libvirt 9.0 has no NVMe disk bus; use bus = \"virtio\" or \"sata\" with the libvirt backend"
        case .bridgeMissing:
            return "network.mode = \"bridge\" needs network.bridge (the host bridge, e.g. br0)"
        case .macvtapParentMissing:
            return "network.mode = \"macvtap\" needs network.parent (the host NIC, e.g. enp3s0)"
        case .libvirtNetworkMissing:
            return "network.mode = \"network\" needs network.libvirt_network (e.g. default)"
        case .badVNCAddress(let text):
            return "display.vnc '\(text)' is not HOST:DISPLAY (e.g. 127.0.0.1:0)"
        case .badHyperVVendorID(let text):
            return "windows.hv_vendor_id '\(text)' must be at most 12 characters without commas"
        case .tooManyPCIDevices(let needed, let available):
            return "the VM needs \(needed) PCI slots on the root bus but only \(available) exist; use fewer disks or spare root ports"
        case .tooManySATADevices(let count):
            return "\(count) SATA disks and CD-ROMs exceed the 6 ports of the q35 SATA controller"
        case .xVGAOnHotGPU(let index):
            return "GPU #\(index + 1) has x_vga = true but plug = \"hot\"; x-vga works only for GPUs present at boot"
        case .controlCharacter(let field):
            return "\(field) contains a control character, which libvirt XML cannot hold"
        }
    }
}
