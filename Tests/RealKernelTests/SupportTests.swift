import Testing

/// The pure parts of the harness: the serial transcript parser and the QEMU command line.
@Suite("Real-kernel harness: transcript parsing and QEMU arguments")
struct SupportTests {
    @Test("RK- and VMTEST- lines parse; CR line ends, kernel noise and output spacing are handled")
    func transcript() {
        let serial = """
        VMTEST-PCI 0000:00:03.0 1234:1111 class=0x038000\r
        VMTEST-READY\r
        VMTEST-RUN-BEGIN\r
        RK-OUT list-before [\r
        RK-OUT list-before   {"slot" : "0000:00:03"}\r
        RK-OUT list-before \r
        RK-OUT list-before ]\r
        RK-EXIT list-before rc=0 seconds=0.42\r
        [   12.5] some kernel line\r
        RK-FN 0000:00:03/before addr=0000:00:03.0 driver=bochs-drm override=(null) group=1\r
        RK-FN 0000:00:03/before addr=0000:00:03.1 driver=none override=(null) group=1\r
        RK-VFIO 0000:00:03/1/vfio group=1 node=char\r
        RK-VFIO 0000:00:03/1/host group=1 node=absent\r
        RK-HOLDER 0000:00:03/held-drm pid=321 node=/dev/dri/card0 comm=sleep\r
        RK-HOLDER 0000:00:03/held-snd none\r
        RK-ERR 0000:00:03/held-drm Error: processes hold the card: 321 sleep (/dev/dri/card0); stop them or use --force\r
        RK-EXIT 0000:00:03/held-drm rc=1\r
        RK-DONE\r
        VMTEST-RUN-END rc=0\r
        """
        let transcript = GuestTranscript(serial: serial)
        #expect(transcript.ready)
        #expect(transcript.done)
        #expect(transcript.unpackFailures.isEmpty)
        #expect(transcript.runExitStatus == 0)
        #expect(transcript.standardOutput("list-before") == "[\n  {\"slot\" : \"0000:00:03\"}\n\n]")
        #expect(transcript.exitStatus("list-before") == 0)
        #expect(transcript.seconds("list-before") == 0.42)
        #expect(transcript.exitStatus("nothing") == nil)
        #expect(transcript.functions("0000:00:03/before") == [
            .init(address: "0000:00:03.0", driver: "bochs-drm", override: "(null)", group: 1),
            .init(address: "0000:00:03.1", driver: nil, override: "(null)", group: 1),
        ])
        #expect(transcript.vfioNode("0000:00:03/1/vfio") == .init(group: 1, present: true))
        #expect(transcript.vfioNode("0000:00:03/1/host") == .init(group: 1, present: false))
        #expect(transcript.holder("0000:00:03/held-drm") == .some(.init(pid: 321, node: "/dev/dri/card0", command: "sleep")))
        #expect(transcript.holder("0000:00:03/held-snd") == .some(nil))
        #expect(transcript.holder("0000:00:04/held-drm") == nil)
        #expect(transcript.standardError("0000:00:03/held-drm").hasPrefix("Error: processes hold the card: 321 sleep"))
        #expect(transcript.exitStatus("0000:00:03/held-drm") == 1)
        #expect(transcript.seconds("0000:00:03/held-drm") == nil)
    }

    @Test("a guest that never got to its script")
    func emptyTranscript() {
        let transcript = GuestTranscript(serial: """
        [    0.0] Linux version 6.1\r
        [    2.4] Initramfs unpacking failed: invalid magic at start of compressed archive\r
        Kernel panic - not syncing\r
        """)
        #expect(transcript.unpackFailures == ["[    2.4] Initramfs unpacking failed: invalid magic at start of compressed archive"])
        #expect(!transcript.ready)
        #expect(!transcript.done)
        #expect(transcript.runExitStatus == nil)
    }

    @Test("QEMU arguments: virtual IOMMU before the pairs, function 0 multifunction, VFIO kernel parameters")
    func machineArguments() {
        let machine = GuestMachine(kernel: "/k", initrd: "/i", baseCmdline: "console=ttyS0",
                                   pairs: [.bochsHDA, .secondaryVGAES1370], scriptParameters: ["rktest.cycles=2"],
                                   serialLog: "/s/serial.log")
        let arguments = machine.arguments
        let devices = arguments.indices.filter { arguments[$0] == "-device" }.map { arguments[$0 + 1] }
        #expect(devices == [
            "intel-iommu,intremap=on,caching-mode=on",
            "bochs-display,id=gpu3,bus=pcie.0,addr=3.0,multifunction=on",
            "ich9-intel-hda,id=gpu3-audio,bus=pcie.0,addr=3.1",
            "secondary-vga,id=gpu4,bus=pcie.0,addr=4.0,multifunction=on",
            "ES1370,id=gpu4-audio,bus=pcie.0,addr=4.1,audiodev=noaudio",
        ])
        #expect(arguments.contains("q35,accel=tcg,kernel-irqchip=split"))
        #expect(arguments.contains("-no-reboot"))
        #expect(machine.cmdline == "console=ttyS0 intel_iommu=on vmtest.vfio=1 vmtest.run=/usr/share/vmtest/run.sh rktest.cycles=2")
        #expect(StandInPair.secondaryVGAES1370.slot == "0000:00:04")
        #expect(StandInPair.bochsHDA.functions == ["0000:00:03.0", "0000:00:03.1"])
    }

    @Test("second-level report: boot list, hot-plug events, ROM BARs and the ACPI power-off parse; malformed lines are skipped")
    func secondLevelReport() {
        let report = SecondLevelReport("""
        VMTEST-PCI 0000:00:01.0 1b36:000c class=0x060400
        VMTEST-PCI 0000:01:00.0 1234:1111 class=0x038000
        VMTEST-PCI-ROM 0000:01:00.0
        VMTEST-PCI 0000:01:00.1 8086:293e
        VMTEST-READY
        VMTEST-PCI-ADD 0000:02:00.1 1274:5000 class=0x040100
        VMTEST-PCI-REMOVE 0000:02:00.1
        VMTEST-POWEROFF acpi
        """)
        #expect(report.bootList == [.init(address: "0000:00:01.0", id: "1b36:000c", pciClass: "0x060400"),
                                    .init(address: "0000:01:00.0", id: "1234:1111", pciClass: "0x038000")])
        #expect(report.bootList.map(\.bus) == ["00", "01"])
        #expect(report.bootList[1].slot == "0000:01:00")
        #expect(report.added == [.init(address: "0000:02:00.1", id: "1274:5000", pciClass: "0x040100")])
        #expect(report.removed == ["0000:02:00.1"])
        #expect(report.withROM == ["0000:01:00.0"])
        #expect(report.ready)
        #expect(report.poweredOffByButton)
        #expect(!SecondLevelReport("VMTEST-POWEROFF\nVMTEST-READY-NOT").ready)
    }
}
