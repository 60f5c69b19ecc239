import FoundationEssentials
import Glibc
import VMCore

/// Whether KVM can run a guest here: the steps QEMU takes first (open `/dev/kvm`, check the API
/// version, create a VM and a vCPU). `vm host check` and `vm up` ask the same probe, so they agree.
public enum KVMProbe {
    private static let getAPIVersion: UInt = 0xAE00  // _IO(KVMIO, 0x00)
    private static let createVM: UInt = 0xAE01  // _IO(KVMIO, 0x01)
    private static let createVCPU: UInt = 0xAE41  // _IO(KVMIO, 0x41)
    private static let apiVersion: Int32 = 12

    /// Why KVM cannot run a guest, or nil when it can.
    public static func problem(device: String = "/dev/kvm") -> String? {
        let kvm = open(device, O_RDWR | O_CLOEXEC)
        guard kvm >= 0 else { return "cannot open \(device): \(String(cString: strerror(errno)))" }
        defer { close(kvm) }
        let version = ioctl(kvm, getAPIVersion, 0)
        guard version == apiVersion else {
            return version < 0 ? "\(device) is not a KVM device (\(String(cString: strerror(errno))))"
                : "\(device) speaks KVM API \(version), not \(apiVersion)"
        }
        let vm = ioctl(kvm, createVM, 0)
        guard vm >= 0 else { return "KVM cannot create a virtual machine: \(String(cString: strerror(errno)))" }
        defer { close(vm) }
        let vcpu = ioctl(vm, createVCPU, 0)
        guard vcpu >= 0 else { return "KVM cannot create a virtual CPU: \(String(cString: strerror(errno)))" }
        close(vcpu)
        return nil
    }
}

extension KVMProbe {
    private static let checkExtension: UInt = 0xAE03  // _IO(KVMIO, 0x03)

    /// The KVM capabilities behind the Hyper-V enlightenments `[windows] hyperv` turns on under
    /// KVM (values from `linux/kvm.h`).
    static let hyperVCapabilities: [(flag: String, name: String, number: Int)] = [
        ("hv_relaxed", "KVM_CAP_HYPERV", 44),
        ("hv_time", "KVM_CAP_HYPERV_TIME", 96),
        ("hv_synic", "KVM_CAP_HYPERV_SYNIC", 123),
        ("hv_vpindex", "KVM_CAP_HYPERV_VP_INDEX", 149),
    ]

    /// The Hyper-V enlightenments this host's KVM lacks (`KVM_CHECK_EXTENSION` on `device`);
    /// empty when it has them all, or when the device does not open. Ask once
    /// ``problem(device:)`` found KVM usable: on a device that is not KVM every one is missing.
    public static func missingHyperV(device: String = "/dev/kvm") -> [HyperVGap] {
        let kvm = open(device, O_RDWR | O_CLOEXEC)
        guard kvm >= 0 else { return [] }
        defer { close(kvm) }
        return missingHyperV { ioctl(kvm, checkExtension, Int32($0)) > 0 }
    }

    /// The enlightenments whose capability `has` denies. Pure.
    static func missingHyperV(has: (Int) -> Bool) -> [HyperVGap] {
        hyperVCapabilities.filter { !has($0.number) }.map { HyperVGap(flag: $0.flag, capability: $0.name) }
    }
}
