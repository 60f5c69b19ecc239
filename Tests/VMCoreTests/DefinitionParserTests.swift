import Foundation
import Testing
@testable import VMCore

/// Files that "exist" for these tests.
private let existing: Set<String> = [
    "/vm/win11.qcow2", "/isos/win11.iso", "/isos/virtio-win.iso", "/fw/OVMF_CODE_4M.fd", "/fw/OVMF_VARS_4M.fd",
    "/vm/gpu.rom", "/vm/defs/data.img",
]

private func parse(_ text: String, file: String = "/vm/defs/win11.toml") throws(DefinitionError) -> VMSpec {
    try DefinitionParser(file: file, fileExists: { existing.contains($0) }).parse(text)
}

private func errors(_ text: String, file: String = "/vm/defs/win11.toml") -> [String] {
    do {
        _ = try parse(text, file: file)
        return []
    } catch {
        return error.issues.map(\.description)
    }
}

@Test func fullDefinitionParses() throws {
    let spec = try parse("""
        name = "win11"
        accelerator = "kvm"
        memory = "16G"
        hugepages = true
        guest_agent = true
        hotplug = "pcie"

        [cpu]
        model = "host"
        cores = 8
        threads = 2

        [firmware]
        code = "/fw/OVMF_CODE_4M.fd"
        vars_template = "/fw/OVMF_VARS_4M.fd"
        secure_boot = true

        [[disk]]
        path = "/vm/win11.qcow2"
        bus = "nvme"
        cache = "writeback"

        [[disk]]
        path = "data.img"

        [[cdrom]]
        path = "/isos/win11.iso"

        [[gpu]]
        address = "0000:05:00"
        rom = "/vm/gpu.rom"

        [windows]
        hyperv = true
        vendor_id = "1234567890ab"
        kvm_hidden = true

        [network]
        mode = "bridge"
        bridge = "br0"
        mac = "52:54:00:aa:bb:cc"
        """)
    #expect(spec.name.rawValue == "win11")
    #expect(spec.memoryMiB == 16384)
    #expect(spec.hugepages == .twoMiB)
    #expect(spec.cpu.count == 16)
    #expect(spec.firmware.secureBoot)
    #expect(spec.disks.count == 2)
    #expect(spec.disks[0].bus == .nvme && spec.disks[0].cache == .writeback)
    #expect(spec.disks[1].path == "/vm/defs/data.img" && spec.disks[1].format == .raw)
    #expect(spec.gpus == [{
        var gpu = GPUPassthrough(slot: PCISlot("0000:05:00"), functions: [])
        gpu.romFile = "/vm/gpu.rom"
        return gpu
    }()])
    #expect(spec.windows.hvVendorID == "1234567890ab")
    #expect(spec.network.mode == .bridge && spec.network.bridge == "br0")
    #expect(spec.network.mac.description == "52:54:00:aa:bb:cc")
    #expect(spec.guestAgent)
    #expect(spec.hotplug == .pcie)
}

@Test func defaultsComeFromTheFileName() throws {
    let spec = try parse("", file: "/vm/defs/gaming-rig.toml")
    #expect(spec.name.rawValue == "gaming-rig")
    #expect(spec.machine == "q35" && spec.accelerator == .kvm && spec.memoryMiB == 4096)
    #expect(spec.network.mode == .user)
    #expect(spec.network.mac == MACAddress.derived(from: try VMName("gaming-rig")))
    #expect(spec.display.kind == .none)
    #expect(spec.hotplug == .acpi)
}

/// Broken definitions and the exact error each gives.
@Test(arguments: [
    ("memory = ", "/vm/defs/win11.toml:1: TOML syntax error: expected a value, found the end of the file (fix: correct the TOML at column 10)"),
    ("memory = true", "/vm/defs/win11.toml:1: memory: expected a size, found a boolean (fix: write memory = \"8G\", \"512M\" or a number of MiB)"),
    ("memory = \"lots\"", "/vm/defs/win11.toml:1: memory: 'lots' is not a size (fix: write memory = \"8G\", \"512M\" or a number of MiB)"),
    ("[cpu]\ncores = \"8\"", "/vm/defs/win11.toml:2: cpu.cores: expected an integer, found a string (fix: write it as cores = 4)"),
    ("[cpu]\ncores = 0", "/vm/defs/win11.toml:2: cpu.cores: 0 is out of range (fix: use a value from 1 to 256)"),
    ("memroy = \"8G\"", "/vm/defs/win11.toml:1: memroy: unknown key 'memroy' (fix: did you mean 'memory'?)"),
    ("[cpu]\nmodel = \"host\"\ncorse = 4", "/vm/defs/win11.toml:3: cpu.corse: unknown key 'corse' (fix: did you mean 'cores'?)"),
    ("name = \"my/vm\"", "/vm/defs/win11.toml:1: name: the VM name 'my/vm' contains '/'; use only letters, digits, '-' and '_' (fix: change the name)"),
    ("accelerator = \"kvmm\"", "/vm/defs/win11.toml:1: accelerator: 'kvmm' is not one of kvm, tcg (fix: did you mean \"kvm\"? write one of: \"kvm\", \"tcg\")"),
    ("[[gpu]]\naddress = \"0000:5:00\"", "/vm/defs/win11.toml:2: gpu[0].address: '0000:5:00' is not a PCI slot (fix: write the slot as DDDD:BB:SS, e.g. \"0000:05:00\" (see `vm gpu list`))"),
    ("[[gpu]]\naddress = \"0000:05:00.0\"", "/vm/defs/win11.toml:2: gpu[0].address: '0000:05:00.0' is a function, not a slot (fix: drop the .F to pass every function, or use functions = [\"0000:05:00.0\"])"),
    ("[[gpu]]\nfunctions = [\"0000:05:00.0\", \"0000:05:00.0\"]", "/vm/defs/win11.toml:2: gpu[0].functions: function 0000:05:00.0 is listed twice (fix: list each PCI function once)"),
    ("[[gpu]]\naddress = \"0000:05:00\"\n[[gpu]]\naddress = \"0000:05:00\"", "/vm/defs/win11.toml:4: gpu[1].address: slot 0000:05:00 is already passed through by gpu[0] (fix: list each GPU once)"),
    ("[[gpu]]\nfunctions = [\"0000:05:00.0\", \"0000:06:00.1\"]", "/vm/defs/win11.toml:2: gpu[0].functions: the functions are on different slots (fix: list the functions of one GPU only; add another [[gpu]] for another card)"),
    ("[[gpu]]\naddress = \"0000:05:00\"\ndisplay = \"0000:01:00.0\"", "/vm/defs/win11.toml:3: gpu[0].display: display function 0000:01:00.0 is not one of this GPU's functions (fix: name one of the functions passed through)"),
    ("[[gpu]]\nrom = \"/vm/gpu.rom\"", "/vm/defs/win11.toml:1: gpu[0]: a [[gpu]] needs address or functions (fix: add address = \"0000:05:00\" (every function of the slot))"),
    ("[[disk]]\npath = \"/vm/missing.qcow2\"", "/vm/defs/win11.toml:2: disk[0].path: disk image '/vm/missing.qcow2' does not exist (fix: correct the path or create the file)"),
    ("[[disk]]\npath = \"/vm/win11.qcow2\"\nformat = \"vmdk\"", "/vm/defs/win11.toml:3: disk[0].format: 'vmdk' is not one of qcow2, raw (fix: write one of: \"qcow2\", \"raw\")"),
    ("[network]\nmode = \"bridge\"", "/vm/defs/win11.toml:2: network.mode: mode \"bridge\" needs bridge (fix: add bridge = \"br0\")"),
    ("[network]\nmode = \"macvtap\"\nparent = \"eth0\"\nbridge = \"br0\"", "/vm/defs/win11.toml:4: network.bridge: bridge is only used with mode = \"bridge\" (fix: set mode = \"bridge\" or remove bridge)"),
    ("[network]\nmac = \"01:00:5e:00:00:01\"", "/vm/defs/win11.toml:2: network.mac: '01:00:5e:00:00:01' is not a unicast MAC address (fix: write six hex bytes like \"52:54:00:12:34:56\" (first byte even))"),
    ("[network]\nmode = \"network\"\nnetwork = \"default\"", "/vm/defs/win11.toml:2: network.mode: mode \"network\" is a libvirt network and needs the libvirt backend (fix: set backend = \"libvirt\", or use mode = \"bridge\")"),
    ("[windows]\nvendor_id = \"far-too-long-vendor\"", "/vm/defs/win11.toml:2: windows.vendor_id: 'far-too-long-vendor' is not a Hyper-V vendor id (fix: use 1 to 12 ASCII letters or digits, e.g. \"1234567890ab\")"),
    ("[firmware]\ntype = \"bios\"\nsecure_boot = true", "/vm/defs/win11.toml:3: firmware.secure_boot: secure boot needs UEFI firmware (fix: set type = \"ovmf\" or remove secure_boot)"),
    ("[boot]\ninitrd = \"/isos/win11.iso\"", "/vm/defs/win11.toml:1: boot: [boot] needs a kernel (fix: add kernel = \"/path/to/vmlinuz\" or remove [boot])"),
    ("cpu = 4", "/vm/defs/win11.toml:1: cpu: expected a table, found an integer (fix: write it as a [cpu] section)"),
    ("[cpu]\ncores = 2\npin = \"fast\"", "/vm/defs/win11.toml:3: cpu.pin: pin takes \"auto\" or a [cpu.pin] table (fix: write pin = \"auto\", or [cpu.pin] with vcpus = [2, 3], emulator = [0, 1])"),
    ("[cpu]\ncores = 2\n[cpu.pin]\nvcpus = [1]", "/vm/defs/win11.toml:4: cpu.pin.vcpus: lists 1 host CPUs for 2 vCPUs (sockets x cores x threads) (fix: give one host CPU per vCPU, or change cores/threads to match)"),
    ("[cpu]\ncores = 1\n[cpu.pin]\nvcpus = [-1]", "/vm/defs/win11.toml:4: cpu.pin.vcpus: -1 is out of range (fix: use values from 0 to 4095)"),
    ("[cpu]\ncores = 1\n[cpu.pin]\nvcpus = [1]\nemulater = [0]", "/vm/defs/win11.toml:5: cpu.pin.emulater: unknown key 'emulater' (fix: did you mean 'emulator'?)"),
    ("[cpu]\ncores = 2\nisolate = true", "/vm/defs/win11.toml:3: cpu.isolate: isolate keeps other tasks off the pinned CPUs, and nothing is pinned (fix: add pin = \"auto\" (or [cpu.pin] lists) under [cpu])"),
    ("[windows]\nsmbios = \"fake\"", "/vm/defs/win11.toml:2: windows.smbios: 'fake' is not an SMBIOS source (fix: write smbios = \"host\", or remove it for QEMU's own)"),
    ("[cpu]\ncores = 2\nrealtime = true", "/vm/defs/win11.toml:3: cpu.realtime: realtime runs the pinned vCPU threads with SCHED_FIFO, and nothing is pinned (fix: add pin = \"auto\" (or [cpu.pin] lists) under [cpu])"),
    ("[cpu]\ncores = 2\n[cpu.pin]\nemulator = [0]", "/vm/defs/win11.toml:3: cpu.pin: [cpu.pin] needs vcpus, the host CPU of each vCPU (fix: add vcpus = [...] with one host CPU for each of the 2 vCPUs)"),
    ("[display]\nvnc = \"127.0.0.1:0\"", "/vm/defs/win11.toml:2: display.vnc: vnc needs an emulated display (fix: set type = \"std\" or remove vnc)"),
])
func brokenDefinition(text: String, expected: String) {
    #expect(errors(text) == [expected])
}

@Test func everyProblemIsReportedInFileOrder() {
    let found = errors("""
        memory = "8X"
        [cpu]
        cores = 0
        [network]
        mode = "macvtap"
        """)
    #expect(found.count == 3)
    #expect(found.map { $0.split(separator: ":")[1] } == ["1", "3", "5"])
}

@Test func badFileNameIsRefused() {
    #expect(errors("", file: "/vm/defs/.hidden.toml")
        == ["/vm/defs/.hidden.toml: the VM name '.hidden' contains '.'; use only letters, digits, '-' and '_' (fix: rename the file)"])
}

@Test(arguments: [("8G", 8192), ("512M", 512), ("16GiB", 16384), ("1T", 1_048_576), ("2048", 2048)])
func sizes(text: String, mib: Int) {
    #expect(DefinitionParser.parseSize(text) == mib)
}

@Test(arguments: ["", "G", "-1G", "8X", "1.5G"])
func badSizes(text: String) {
    #expect(DefinitionParser.parseSize(text) == nil)
}

@Test func cpuPinsParse() throws {
    #expect(try parse("[cpu]\ncores = 2\npin = \"auto\"").cpu.pin == .auto)
    let explicit = try parse("[cpu]\ncores = 2\n[cpu.pin]\nvcpus = [3, 2]\nemulator = [0, 1]\niothreads = [1]").cpu.pin
    #expect(explicit == .explicit(CPUPins(vcpus: [3, 2], emulator: [0, 1], iothreads: [1])))
    #expect(try parse("[cpu]\ncores = 2").cpu.pin == nil)
}

/// What `vm up` cannot use fails `vm config check` too: a folder or an empty file as an image or kernel.
@Test func foldersAndEmptyFilesAreNotImages() throws {
    let folder = NSTemporaryDirectory() + "definition-files-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    #expect(FileManager.default.createFile(atPath: "\(folder)/empty.img", contents: Data()))
    #expect(FileManager.default.createFile(atPath: "\(folder)/disk.img", contents: Data([1])))
    let text = """
        [boot]
        kernel = "\(folder)"
        [[disk]]
        path = "empty.img"
        [[disk]]
        path = "disk.img"
        [[disk]]
        path = "missing.img"
        """
    let problems: [String]
    do {
        _ = try DefinitionParser(file: "\(folder)/win11.toml").parse(text)
        problems = []
    } catch {
        problems = error.issues.map(\.description)
    }
    #expect(problems == [
        "\(folder)/win11.toml:2: boot.kernel: kernel '\(folder)' is a folder, not a file (fix: name a file inside it)",
        "\(folder)/win11.toml:4: disk[0].path: disk image '\(folder)/empty.img' is an empty file (fix: name the real file (an empty one cannot be booted or attached))",
        "\(folder)/win11.toml:8: disk[2].path: disk image '\(folder)/missing.img' does not exist (fix: correct the path or create the file)",
    ])
}

/// `vm list` shows the name and `vm status NAME` looks for NAME.toml: the two must agree.
@Test func aNameOtherThanTheFileNameIsAnError() {
    #expect(errors("name = \"other\"", file: "/vm/defs/mismatch.toml") == [
        "/vm/defs/mismatch.toml:1: name: the name 'other' differs from the file name 'mismatch.toml', so `vm other` would not find it (fix: rename the file to other.toml, or set name = \"mismatch\" (or remove the name))",
    ])
    #expect(errors("name = \"mismatch\"", file: "/vm/defs/mismatch.toml") == [])
}

/// An emulated display without `vnc` gets the default VNC in the definition itself, so both
/// backends show it; a headless VM has none.
@Test func emulatedDisplayGetsTheDefaultVNC() throws {
    #expect(try parse("[display]\ntype = \"std\"").display.vnc == DisplaySpec.defaultVNC)
    #expect(try parse("[display]\ntype = \"virtio\"\nvnc = \"127.0.0.1:4\"").display.vnc == "127.0.0.1:4")
    #expect(try parse("").display.vnc == nil)
}
