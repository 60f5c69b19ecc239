import Foundation
import Testing
import VMCore
@testable import QEMU

private let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

/// The argv for each shared definition matches its golden file (one argument per line).
/// `VM_UPDATE_GOLDEN=1 swift test` rewrites the files; review the diff before committing.
@Test(arguments: GoldenDefinitions.cases.map(\.name))
func argvMatchesGolden(name: String) throws {
    let toml = try #require(GoldenDefinitions.cases.first { $0.name == name }).toml
    let spec = try GoldenDefinitions.spec(name, toml: toml)
    let argv = try QEMUCommandLine.arguments(for: spec, paths: GoldenDefinitions.paths)
    let rendered = argv.joined(separator: "\n") + "\n"
    let file = goldenDirectory.appendingPathComponent("\(name).args")
    if ProcessInfo.processInfo.environment["VM_UPDATE_GOLDEN"] == "1" {
        try rendered.write(to: file, atomically: true, encoding: .utf8)
    }
    let expected = try String(contentsOf: file, encoding: .utf8)
    #expect(rendered == expected)
}

@Test func commasInValuesAreDoubled() throws {
    var spec = VMSpec(name: try VMName("c"))
    spec.firmware.kind = .bios
    spec.disks = [DiskSpec(path: "/images/a,b.qcow2")]
    let argv = try QEMUCommandLine.arguments(for: spec, paths: VMPaths(runtimeDirectory: "/r,x", stateDirectory: "/s"))
    #expect(argv.contains("file=/images/a,,b.qcow2,if=none,id=disk0,format=qcow2,cache=none,discard=unmap"))
    #expect(argv.contains("socket,id=qmp0,path=/r,,x/monitor.sock,server=on,wait=off"))
}

@Test(arguments: [("plain", "plain"), ("", ""), (",", ",,"), (",a,,b,", ",,a,,,,b,,")])
func escapeDoublesEveryComma(value: String, escaped: String) {
    #expect(QEMUCommandLine.escape(value) == escaped)
}

@Test func gpuFunctionsPlugNonZeroFirstAndZeroLastWithMultifunction() throws {
    var gpu = GPUPassthrough(slot: PCISlot("0000:05:00"), functions: ["0000:05:00.0", "0000:05:00.1", "0000:05:00.2"].compactMap(PCIAddress.init))
    gpu.xVGA = true
    let devices = QEMUCommandLine.gpuDevices(gpu, index: 0)
    #expect(devices.map(\.function.function) == [1, 2, 0])
    #expect(devices.last?.commandLineValue == "vfio-pci,host=0000:05:00.0,id=gpu0-f0,bus=rp-gpu0,addr=0.0,multifunction=on,x-vga=on")
    #expect(devices.first?.commandLineValue == "vfio-pci,host=0000:05:00.1,id=gpu0-f1,bus=rp-gpu0,addr=0.1")
}

@Test func unresolvedInputsAreRefused() throws {
    var spec = VMSpec(name: try VMName("u"))
    #expect(throws: QEMUCommandLineError.firmwareUnresolved) {
        try QEMUCommandLine.arguments(for: spec, paths: GoldenDefinitions.paths)
    }
    spec.firmware.kind = .bios
    spec.gpus = [GPUPassthrough(slot: PCISlot("0000:09:00"), functions: [])]
    #expect(throws: QEMUCommandLineError.gpuFunctionsUnresolved(PCISlot("0000:09:00"))) {
        try QEMUCommandLine.arguments(for: spec, paths: GoldenDefinitions.paths)
    }
}

@Test func tcgUsesMaxInsteadOfHost() throws {
    var spec = VMSpec(name: try VMName("t"))
    spec.accelerator = .tcg
    #expect(QEMUCommandLine.cpu(spec) == "max")
    spec.accelerator = .kvm
    spec.windows.kvmHidden = true
    #expect(QEMUCommandLine.cpu(spec) == "host,kvm=off")
}

/// An AMD host's SMT threads reach the guest only with topoext (KVM's `-cpu host`; TCG's `max` has no such host).
@Test func topoextOnlyWhereResolvedAndUnderKVM() throws {
    var spec = VMSpec(name: try VMName("t"))
    spec.cpu.threads = 2
    #expect(QEMUCommandLine.cpu(spec) == "host")
    spec.cpu.topoext = true
    #expect(QEMUCommandLine.cpu(spec) == "host,topoext=on")
    spec.accelerator = .tcg
    #expect(QEMUCommandLine.cpu(spec) == "max")
}

/// QEMU refuses hv_vpindex under TCG; the flags that build on it go with it.
@Test func tcgLeavesOutTheHyperVFlagsQEMURefuses() throws {
    var spec = VMSpec(name: try VMName("t"))
    spec.windows.hyperV = true
    spec.accelerator = .tcg
    #expect(QEMUCommandLine.cpu(spec) == "max,hv_relaxed,hv_vapic,hv_spinlocks=0x1fff,hv_time,hv_reset,hv_frequencies")
    spec.accelerator = .kvm
    #expect(QEMUCommandLine.cpu(spec).contains("hv_vpindex,hv_synic,hv_stimer"))
}

@Test func evdevInputsTypeIntoVirtioDevicesUnlessInputBusIsPS2() throws {
    var spec = VMSpec(name: try VMName("keys"))
    spec.firmware.kind = .bios
    let paths = VMPaths(runtimeDirectory: "/r", stateDirectory: "/s")
    #expect(try !QEMUCommandLine.arguments(for: spec, paths: paths).contains { $0.hasPrefix("virtio-keyboard-pci") })
    spec.inputs = [EvdevInput(path: "/dev/input/by-id/usb-Keyboard-event-kbd")]
    let argv = try QEMUCommandLine.arguments(for: spec, paths: paths)
    #expect(argv.contains("virtio-keyboard-pci,id=input-keyboard") && argv.contains("virtio-mouse-pci,id=input-mouse"))
    spec.inputBus = .ps2
    #expect(try !QEMUCommandLine.arguments(for: spec, paths: paths).contains { $0.hasPrefix("virtio-") && $0.contains("input-") })
}
