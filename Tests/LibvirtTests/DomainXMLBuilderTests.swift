import Testing
import VMCore
@testable import Libvirt
@testable import LibvirtXML

/// The builder's choices and refusals, as pure functions.
@Suite struct DomainXMLBuilderTests {
    static func build(_ spec: VMSpec) throws(DomainXMLError) -> String {
        try domainXML(for: spec, paths: Fixtures.paths)
    }

    @Test func ovmfNeedsResolvedImages() {
        var spec = Fixtures.base("fw")
        spec.firmware.code = nil
        #expect(throws: DomainXMLError.missingFirmwareCode) { try Self.build(spec) }
        spec = Fixtures.base("fw")
        spec.firmware.varsTemplate = nil
        #expect(throws: DomainXMLError.missingVarsTemplate) { try Self.build(spec) }
        spec.firmware.kind = .bios
        spec.firmware.secureBoot = true
        #expect(throws: DomainXMLError.secureBootNeedsOVMF) { try Self.build(spec) }
    }

    @Test func biosHasNoLoader() throws {
        var spec = Fixtures.base("bios")
        spec.firmware.kind = .bios
        let xml = try Self.build(spec)
        #expect(!xml.contains("<loader"))
        #expect(!xml.contains("<nvram"))
    }

    /// The vars file is libvirt's (its nvram folder is reachable by its QEMU user; `vm`'s 0700
    /// state folder is not): only the template is named.
    @Test func ovmfVarsAreLeftToLibvirt() throws {
        let xml = try Self.build(Fixtures.base("fw"))
        #expect(xml.contains("<nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'/>"))
        #expect(!xml.contains(Fixtures.paths.varsFile))
    }

    /// A remote host has no `vm` state folder: no serial log there, the console stays.
    @Test func remoteHostHasNoSerialLog() throws {
        let local = try domainXML(for: Fixtures.noGPU, paths: Fixtures.paths)
        let remote = try domainXML(for: Fixtures.noGPU, paths: Fixtures.paths, logsSerialConsole: false)
        #expect(local.contains("<log file='\(Fixtures.paths.serialLog)' append='on'/>"))
        #expect(!remote.contains("<log"))
        #expect(remote.contains("<serial type='pty'>"))
        let validation = try XMLValidator.validateDomain(remote)
        #expect(validation.status == 0, "virt-xml-validate: \(validation.output)")
    }

    /// `hotplug = "pcie"` reaches QEMU as the same `-global` `vm` passes; ACPI hot-plug (the
    /// default) needs nothing, as in `vm`'s own argv.
    @Test func nativeHotplugGoesThroughQEMUCommandLine() throws {
        var spec = Fixtures.noGPU
        spec.hotplug = .pcie
        let xml = try domainXML(for: spec, paths: Fixtures.paths)
        #expect(xml.contains("xmlns:qemu="))
        #expect(xml.contains("""
              <qemu:commandline>
                <qemu:arg value='-global'/>
                <qemu:arg value='ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off'/>
              </qemu:commandline>
            """))
        let validation = try XMLValidator.validateDomain(xml)
        #expect(validation.status == 0, "virt-xml-validate: \(validation.output)")
        #expect(try !domainXML(for: Fixtures.noGPU, paths: Fixtures.paths).contains("qemu:"))
    }

    /// Looking Glass, evdev inputs, USB devices and USB controllers passed whole become `<shmem>`,
    /// `<input type='evdev'>`, USB `<hostdev>`s and managed PCI `<hostdev>`s that libvirt's schema
    /// accepts; what libvirt cannot express is refused with the fix.
    @Test func deskBecomesShmemInputsAndUSBHostdevs() throws {
        var spec = Fixtures.noGPU
        var lookingGlass = LookingGlassSpec()
        lookingGlass.sizeMiB = 64
        spec.lookingGlass = lookingGlass
        var mouse = EvdevInput(path: "/dev/input/by-id/usb-Mouse-event-mouse")
        mouse.grabAll = false
        mouse.repeats = false
        spec.inputs = [EvdevInput(path: "/dev/input/by-id/usb-Keyboard-event-kbd"), mouse]
        spec.usbDevices = [USBDevice(selector: .ids(vendor: 0x046d, product: 0xc52b))]
        spec.usbHostControllers = [USBHostController(address: try #require(PCIAddress("0000:0a:00.3")))]
        var audio = AudioSpec()
        audio.server = AudioSpec.userServer(uid: "1000")
        spec.audio = audio
        let xml = try domainXML(for: spec, paths: Fixtures.paths)
        #expect(xml.contains("<sound model='ich9'>\n      <audio id='1'/>\n    </sound>"), "\(xml)")
        #expect(xml.contains("<audio id='1' type='pulseaudio' serverName='unix:/run/user/1000/pulse/native'/>"))
        #expect(xml.contains("<shmem name='looking-glass'>\n      <model type='ivshmem-plain'/>\n      <size unit='M'>64</size>\n    </shmem>"), "\(xml)")
        #expect(xml.contains("<source dev='/dev/input/by-id/usb-Keyboard-event-kbd' grab='all' repeat='on'/>"))
        #expect(xml.contains("<source dev='/dev/input/by-id/usb-Mouse-event-mouse' repeat='off'/>"))
        #expect(xml.contains("<input type='keyboard' bus='virtio'/>") && xml.contains("<input type='mouse' bus='virtio'/>"), "\(xml)")
        #expect(xml.contains("<vendor id='0x46d'/>") && xml.contains("<product id='0xc52b'/>"))
        #expect(xml.contains("""
            <hostdev mode='subsystem' type='pci' managed='yes'>
                  <source>
                    <address domain='0x0000' bus='0x0a' slot='0x00' function='0x3'/>
                  </source>
                  <alias name='ua-usbhc0'/>
                </hostdev>
            """), "\(xml)")
        let validation = try XMLValidator.validateDomain(xml)
        #expect(validation.status == 0, "virt-xml-validate: \(validation.output)")

        spec.inputBus = .ps2
        #expect(try !domainXML(for: spec, paths: Fixtures.paths).contains("<input type='keyboard'"))
        spec.usbDevices = [USBDevice(selector: .port(bus: 1, port: "1.2"))]
        #expect(throws: DomainXMLError.usbByPort("bus 1 port 1.2")) { try domainXML(for: spec, paths: Fixtures.paths) }
        spec.usbDevices = []
        spec.lookingGlass?.path = "/dev/kvmfr0"
        #expect(throws: DomainXMLError.lookingGlassKVMFR(path: "/dev/kvmfr0")) { try domainXML(for: spec, paths: Fixtures.paths) }
    }

    /// `[cpu.pin]` becomes `<cputune>` that libvirt's schema accepts.
    @Test func pinsBecomeCPUTune() throws {
        var spec = Fixtures.noGPU
        spec.cpu.cores = 2
        spec.cpu.pin = .explicit(CPUPins(vcpus: [3, 2], emulator: [0, 1, 4]))
        let xml = try domainXML(for: spec, paths: Fixtures.paths)
        #expect(xml.contains("<cputune>"))
        #expect(xml.contains("<vcpupin vcpu='0' cpuset='3'/>") && xml.contains("<vcpupin vcpu='1' cpuset='2'/>"))
        #expect(xml.contains("<emulatorpin cpuset='0-1,4'/>"))
        #expect(!xml.contains("vcpusched"))
        spec.cpu.realtime = true
        let realtime = try domainXML(for: spec, paths: Fixtures.paths)
        #expect(realtime.contains("<vcpusched vcpus='0-1' scheduler='fifo' priority='1'/>"))
        let validation = try XMLValidator.validateDomain(realtime)
        #expect(validation.status == 0, "virt-xml-validate: \(validation.output)")
        #expect(try !domainXML(for: Fixtures.noGPU, paths: Fixtures.paths).contains("cputune"))
    }

    @Test(arguments: [
        ("host", Accelerator.kvm, "<cpu mode='host-passthrough' check='none'>"),
        ("host", Accelerator.tcg, "<cpu mode='maximum' check='none'>"),
        ("max", Accelerator.kvm, "<cpu mode='maximum' check='none'>"),
        ("EPYC-v4", Accelerator.tcg, "<model fallback='forbid'>EPYC-v4</model>"),
    ])
    func cpuMode(model: String, accelerator: Accelerator, expected: String) throws {
        var spec = Fixtures.base("cpu")
        spec.cpu.model = model
        spec.accelerator = accelerator
        let xml = try Self.build(spec)
        #expect(xml.contains(expected))
        #expect(xml.hasPrefix("<domain type='\(accelerator == .kvm ? "kvm" : "qemu")'>"))
    }

    /// topoext (an AMD host's SMT threads) becomes a required CPU feature that libvirt's schema accepts.
    @Test func topoextIsARequiredFeature() throws {
        var spec = Fixtures.base("amd")
        spec.accelerator = .kvm
        spec.cpu.threads = 2
        #expect(try !Self.build(spec).contains("topoext"))
        spec.cpu.topoext = true
        let xml = try Self.build(spec)
        #expect(xml.contains("<feature policy='require' name='topoext'/>"))
        let validation = try XMLValidator.validateDomain(xml)
        #expect(validation.status == 0, "virt-xml-validate: \(validation.output)")
    }

    /// `smbios = "host"` becomes `<sysinfo type='smbios'>` that the `<os>` points at, valid for libvirt's schema.
    @Test func smbiosBecomesSysinfo() throws {
        var spec = Fixtures.base("dmi")
        spec.windows.smbios = [SMBIOSField(type: 1, name: "manufacturer", value: "ASUS"), SMBIOSField(type: 2, name: "product", value: "X570 & co")]
        let xml = try Self.build(spec)
        #expect(xml.contains("<smbios mode='sysinfo'/>"))
        #expect(xml.contains("<system>\n      <entry name='manufacturer'>ASUS</entry>\n    </system>"), "\(xml)")
        #expect(xml.contains("<entry name='product'>X570 &amp; co</entry>"))
        let validation = try XMLValidator.validateDomain(xml)
        #expect(validation.status == 0, "virt-xml-validate: \(validation.output)")
        #expect(try !Self.build(Fixtures.base("plain")).contains("sysinfo"))
    }

    @Test func nvmeDisksAreRefused() {
        var spec = Fixtures.base("nvme")
        spec.disks[0].bus = .nvme
        #expect(throws: DomainXMLError.nvmeDiskUnsupported(path: spec.disks[0].path)) { try Self.build(spec) }
    }

    @Test func networkModesNeedTheirSource() {
        var spec = Fixtures.base("net")
        spec.network.mode = .bridge
        #expect(throws: DomainXMLError.bridgeMissing) { try Self.build(spec) }
        spec.network.mode = .macvtap
        #expect(throws: DomainXMLError.macvtapParentMissing) { try Self.build(spec) }
        spec.network.mode = .network
        #expect(throws: DomainXMLError.libvirtNetworkMissing) { try Self.build(spec) }
    }

    @Test(arguments: ["127.0.0.1", ":0", "host:x", "host:-1", "host:60000"])
    func badVNCAddresses(vnc: String) {
        var spec = Fixtures.base("vnc")
        spec.display.kind = .std
        spec.display.vnc = vnc
        #expect(throws: DomainXMLError.badVNCAddress(vnc)) { try Self.build(spec) }
    }

    @Test func vncOnIPv6() throws {
        #expect(try DomainXMLBuilder.vncListen("[::1]:2") == ("::1", 5902))
    }

    @Test func vendorIDLimits() {
        var spec = Fixtures.base("hv")
        spec.windows.hvVendorID = "thirteen-char"
        #expect(throws: DomainXMLError.badHyperVVendorID("thirteen-char")) { try Self.build(spec) }
        spec.windows.hvVendorID = "a,b"
        #expect(throws: DomainXMLError.badHyperVVendorID("a,b")) { try Self.build(spec) }
    }

    @Test func gpuRefusals() {
        var spec = Fixtures.base("gpu")
        spec.gpus = [GPUPassthrough(slot: PCISlot("0000:05:00"), functions: [])]
        #expect(throws: DomainXMLError.gpuWithoutFunctions(index: 0)) { try Self.build(spec) }

        spec.gpus = [GPUPassthrough(slot: nil, functions: [PCIAddress("0000:05:00.0")!, PCIAddress("0000:06:00.1")!])]
        #expect(throws: DomainXMLError.gpuFunctionsOnSeveralSlots(index: 0)) { try Self.build(spec) }

        var standIn = Fixtures.gpu("0000:05:00", functions: [0])
        standIn.device = .standIn
        spec.gpus = [standIn]
        #expect(throws: DomainXMLError.gpuDriverNotHostdev(index: 0, driver: "stand-in")) { try Self.build(spec) }

        var hot = Fixtures.gpu("0000:05:00", functions: [0])
        hot.plug = .hot
        hot.xVGA = true
        spec.gpus = [hot]
        #expect(throws: DomainXMLError.xVGAOnHotGPU(index: 0)) { try Self.build(spec) }
    }

    @Test func rootBusCapacity() {
        var spec = Fixtures.base("big")
        spec.spareRootPorts = 27
        #expect(throws: DomainXMLError.tooManyPCIDevices(needed: 30, available: 29)) { try Self.build(spec) }
        spec.spareRootPorts = 26
        #expect(throws: Never.self) { try Self.build(spec) }
    }

    @Test func sataPortLimit() {
        var spec = Fixtures.base("sata")
        spec.cdroms = (0..<6).map { CDROMSpec(path: "/isos/\($0).iso") }
        spec.disks[0].bus = .sata
        #expect(throws: DomainXMLError.tooManySATADevices(count: 7)) { try Self.build(spec) }
    }

    @Test func controlCharactersAreRefused() {
        var spec = Fixtures.base("ctl")
        spec.kernelBoot = KernelBoot(kernel: "/boot/vmlinuz", append: "console=ttyS0\u{1}")
        #expect(throws: DomainXMLError.controlCharacter(field: "append")) { try Self.build(spec) }
    }

    /// Hot-plug order: functions other than 0 first, function 0 (multifunction) last, all on the
    /// GPU's own root port, with the aliases detach uses.
    @Test func hotplugOrderAndAddresses() throws {
        var spec = Fixtures.hotGPU
        spec.gpus[0].functions = [PCIAddress("0000:05:00.0")!, PCIAddress("0000:05:00.1")!, PCIAddress("0000:05:00.2")!]
        let builder = DomainXMLBuilder(spec: spec, paths: Fixtures.paths)
        let devices = try builder.hotplugDevices(forGPU: 0)
        #expect(devices.map(\.guestFunction) == [1, 2, 0])
        #expect(devices.map(\.alias) == ["ua-gpu0-fn1", "ua-gpu0-fn2", "ua-gpu0-fn0"])
        #expect(try builder.rootPortIndex(forGPU: 0) == 1)
        #expect(devices[2].xml.contains("bus='0x01' slot='0x00' function='0x0' multifunction='on'"))
        #expect(!devices[0].xml.contains("multifunction"))
        #expect(devices[0].xml.contains("<address domain='0x0000' bus='0x05' slot='0x00' function='0x1'/>"))
        #expect(!(try builder.domainXML()).contains("<hostdev"))
    }

    /// Without a host function 0 the guest could not see the slot: functions are renumbered
    /// from 0, the display function first.
    @Test func renumbersWhenFunctionZeroIsMissing() throws {
        var spec = Fixtures.base("renumber")
        var gpu = GPUPassthrough(slot: nil, functions: [PCIAddress("0000:05:00.1")!, PCIAddress("0000:05:00.2")!])
        gpu.displayFunction = PCIAddress("0000:05:00.2")!
        gpu.romFile = "/roms/gpu.rom"
        spec.gpus = [gpu]
        let devices = try DomainXMLBuilder(spec: spec, paths: Fixtures.paths).hotplugDevices(forGPU: 0)
        #expect(devices.map(\.hostFunction.description) == ["0000:05:00.1", "0000:05:00.2"])
        #expect(devices.map(\.guestFunction) == [1, 0])
        #expect(devices[1].xml.contains("<rom file='/roms/gpu.rom'/>"))
        #expect(!devices[0].xml.contains("<rom"))
    }

    @Test func driveLetters() {
        #expect([0, 1, 25, 26, 27, 701, 702].map(DomainXMLBuilder.driveLetters) == ["a", "b", "z", "aa", "ab", "zz", "aaa"])
    }

    @Test func nicModelNames() {
        #expect(DomainXMLBuilder.libvirtNICModel("virtio-net-pci") == "virtio")
        #expect(DomainXMLBuilder.libvirtNICModel("e1000e") == "e1000e")
    }

    @Test func escaping() {
        #expect(XMLEscape.text("a<b>&'\"") == "a&lt;b&gt;&amp;'\"")
        #expect(XMLEscape.attribute("a<b>&'\"") == "a&lt;b&gt;&amp;&apos;&quot;")
        #expect(XMLTag("x", [("k", "'")], text: "<").rendered() == "<x k='&apos;'>&lt;</x>\n")
    }
}

/// The define bookkeeping, as pure functions.
@Suite struct DefineBookkeepingTests {
    @Test func fingerprintIsStableAndParsedBack() {
        let fingerprint = DomainFingerprint(xml: "<domain/>")
        #expect(fingerprint == DomainFingerprint(xml: "<domain/>"))
        #expect(fingerprint != DomainFingerprint(xml: "<domain />"))
        #expect(fingerprint.description.count == 16)
        let stored = "<vm:definition xmlns:vm=\"urn:x-vm:definition:1\" fingerprint=\"\(fingerprint)\"/>"
        #expect(DomainFingerprint.parse(metadata: stored) == fingerprint.description)
        #expect(DomainFingerprint.parse(metadata: "<other/>") == nil)
    }

    @Test func uuidGoesAfterTheName() {
        let uuid = "3a3be269-9526-490e-ac9d-890582d329e2"
        #expect(LibvirtConnection.insertingUUID(uuid, into: "<domain>\n  <name>a</name>\n</domain>")
            == "<domain>\n  <name>a</name><uuid>\(uuid)</uuid>\n</domain>")
        let withUUID = "<domain><name>a</name><uuid>x</uuid></domain>"
        #expect(LibvirtConnection.insertingUUID(uuid, into: withUUID) == withUUID)
    }
}
