import Foundation

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
