import Foundation
import GuestSupport
import QMP
import Testing
import VMCore
@testable import QEMU

/// `[looking_glass]` against real QEMU and the test-bed guest: the IVSHMEM device on a shared
/// memory file that `vm up` makes and every end of the run removes.
@Suite(.serialized)
struct LookingGlassTests {
    /// A path of this test's own directly under /dev/shm (as the definition requires).
    let path = "/dev/shm/vmtest-lg-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

    func definition(_ bed: TestBed) -> String {
        bed.definition(extra: "[looking_glass]\nsize = \"16M\"\npath = \"\(path)\"\n")
    }

    /// The size of BAR `index` of the PCI device `id`, from QMP `query-pci`.
    func barSize(_ client: QMPClient, device id: String, bar index: Int64) async throws -> Int64? {
        var devices = try await client.execute("query-pci").arrayValue?.flatMap { $0["devices"]?.arrayValue ?? [] } ?? []
        while let device = devices.popLast() {
            if device["qdev_id"]?.stringValue == id {
                return device["regions"]?.arrayValue?.first { $0["bar"]?.intValue == index }?["size"]?.intValue
            }
            devices += device["pci_bridge"]?["devices"]?.arrayValue ?? []
        }
        return nil
    }

    @Test("vm up makes the shared memory (0660, the size asked), the guest sees the IVSHMEM device with that BAR; vm down removes it")
    func sharedMemoryLivesWithTheRun() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        defer { unlink(path) }
        let loaded = try scratch.define("lg", definition(bed))
        let machine = try scratch.machine(loaded)
        _ = try await machine.up()
        var status = stat()
        #expect(lstat(path, &status) == 0)
        #expect(status.st_mode & S_IFMT == S_IFREG && status.st_mode & 0o777 == 0o660, "mode \(String(status.st_mode, radix: 8))")
        #expect(status.st_size == 16 * 1024 * 1024 && status.st_uid == getuid())

        // A second VM on the same path is refused, and the first one's file stays as it is.
        let other = try scratch.machine(try scratch.define("lgtwo", definition(bed)))
        await #expect { _ = try await other.up() } throws: { "\($0)".contains("uses it (another VM's Looking Glass?)") }
        var after = stat()
        #expect(lstat(path, &after) == 0 && after.st_ino == status.st_ino, "the running VM's shared memory was replaced")

        try await Scratch.waitForSerial(loaded, marker: "VMTEST-READY")
        let serial = try String(contentsOfFile: loaded.paths.serialLog, encoding: .utf8)
        #expect(serial.contains(" 1af4:1110 "), "the guest lists no IVSHMEM device: \(serial)")
        let client = try await QMPClient.connect(path: loaded.qmpSocket)
        #expect(try await barSize(client, device: "looking-glass0", bar: 2) == 16 * 1024 * 1024)
        client.close()

        _ = try await machine.down(timeout: .seconds(5), force: true)
        #expect(access(path, F_OK) != 0, "the shared memory outlived the run")
    }

    @Test("QEMU killed: the supervisor removes the shared memory; a symlink at the path is replaced, never followed")
    func killedQEMUAndASymlink() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        defer { unlink(path) }
        let target = "\(scratch.root)/not-to-be-touched"
        #expect(FileManager.default.createFile(atPath: target, contents: Data("keep".utf8)))
        #expect(symlink(target, path) == 0)
        let loaded = try scratch.define("lgkill", definition(bed))
        let machine = try scratch.machine(loaded)
        let report = try await machine.up()
        var status = stat()
        #expect(lstat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFREG, "the symlink is still there")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "keep")

        kill(try #require(report.pid), SIGKILL)
        let deadline = ContinuousClock.now + .seconds(60)
        while access(path, F_OK) == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(access(path, F_OK) != 0, "the supervisor left the shared memory")
    }

    @Test("the size follows the resolution as Looking Glass documents it; bad keys name the fix")
    func sizesAndErrors() throws {
        #expect(LookingGlassSpec.sizeMiB(width: 1920, height: 1080) == 32)
        #expect(LookingGlassSpec.sizeMiB(width: 2560, height: 1440) == 64)
        #expect(LookingGlassSpec.sizeMiB(width: 3840, height: 2160) == 128)
        let parser = DefinitionParser(file: "/vm/lg.toml", fileExists: { _ in true })
        #expect(try parser.parse("[looking_glass]\nresolution = \"3840x2160\"").lookingGlass?.sizeMiB == 128)
        #expect(try parser.parse("[looking_glass]\nenabled = false").lookingGlass == nil)
        #expect(try parser.parse("[looking_glass]\npath = \"/dev/kvmfr0\"").lookingGlass?.usesKVMFR == true)
        let keyboard = "[[input]]\npath = \"/dev/input/by-id/usb-Keyboard-event-kbd\"\n"
        #expect(try parser.parse(keyboard).inputBus == .virtio)
        #expect(try parser.parse("input_bus = \"ps2\"\n" + keyboard).inputBus == .ps2)
        #expect(try parser.parse("[[usb_host_controller]]\naddress = \"0000:0a:00.3\"").usbHostControllers
            == [USBHostController(address: try #require(PCIAddress("0000:0a:00.3")))])
        for (text, message) in [
            ("[looking_glass]\nsize = \"48M\"", "/vm/lg.toml:2: looking_glass.size: '48M' is not a power of two"),
            ("[looking_glass]\npath = \"/tmp/lg\"", "/vm/lg.toml:2: looking_glass.path: '/tmp/lg' is neither a file directly under /dev/shm"),
            ("[looking_glass]\nresolution = \"big\"", "/vm/lg.toml:2: looking_glass.resolution: 'big' is not a resolution"),
            ("[[input]]\npath = \"/etc/shadow\"", "/vm/lg.toml:2: input[0].path: '/etc/shadow' is not an input device under /dev/input"),
            ("input_bus = \"virtio\"", "/vm/lg.toml:1: input_bus: input_bus says how [[input]] devices reach the guest, and there is none"),
            ("input_bus = \"usb\"\n[[input]]\npath = \"/dev/input/event3\"", "/vm/lg.toml:1: input_bus: 'usb' is not one of virtio, ps2"),
            ("[[usb]]\ndevice = \"46d:c52b\"", "/vm/lg.toml:2: usb[0].device: '46d:c52b' is not a vendor:product pair"),
            ("[[usb]]\nbus = 1", "/vm/lg.toml:1: usb[0]: a [[usb]] needs device (vendor:product) or bus and port"),
            ("[[usb_host_controller]]\naddress = \"0000:0a:00\"", "/vm/lg.toml:2: usb_host_controller[0].address: '0000:0a:00' is a slot, not a function"),
            ("[[usb_host_controller]]\naddress = \"usb1\"", "/vm/lg.toml:2: usb_host_controller[0].address: 'usb1' is not a PCI function address"),
            ("[[usb_host_controller]]\nbus = 1", "/vm/lg.toml:2: usb_host_controller[0].bus: unknown key 'bus'"),
            ("[[gpu]]\naddress = \"0000:0a:00\"\n[[usb_host_controller]]\naddress = \"0000:0a:00.3\"",
             "/vm/lg.toml:4: usb_host_controller[0].address: 0000:0a:00.3 is already passed through by a [[gpu]]"),
            ("[[usb_host_controller]]\naddress = \"0000:0a:00.3\"\n[[usb_host_controller]]\naddress = \"0000:0a:00.3\"",
             "/vm/lg.toml:4: usb_host_controller[1].address: 0000:0a:00.3 is already passed through by usb_host_controller[0]"),
        ] {
            #expect { _ = try parser.parse(text) } throws: { error in
                "\(error)".hasPrefix(message) || { print("got: \(error)"); return false }()
            }
        }
    }
}
