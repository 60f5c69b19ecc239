import Foundation
import GuestSupport
import Testing
import VMCore
@testable import QEMU

/// `[windows] smbios = "host"`: the host's system and board fields, as the guest's firmware reports them.
@Suite(.serialized)
struct SMBIOSTests {
    @Test("the host's DMI files become fields; empty and placeholder values are left out")
    func fieldsFromTheHost() {
        let host = ["sys_vendor": "ASUS\n", "product_name": "System Product Name\n", "product_version": "\n",
                    "board_vendor": "ASUSTeK COMPUTER INC.\n", "board_name": "ROG STRIX X570-E, GAMING\n",
                    "product_family": "To Be Filled By O.E.M.\n"]
        #expect(SMBIOSField.fromHost { host[$0] } == [
            SMBIOSField(type: 1, name: "manufacturer", value: "ASUS"), SMBIOSField(type: 1, name: "product", value: "System Product Name"),
            SMBIOSField(type: 2, name: "manufacturer", value: "ASUSTeK COMPUTER INC."),
            SMBIOSField(type: 2, name: "product", value: "ROG STRIX X570-E, GAMING"),
        ])
        var spec = VMSpec(name: try! VMName("s"))
        spec.firmware.kind = .bios
        spec.windows.smbios = SMBIOSField.fromHost { host[$0] }
        let argv = (try? QEMUCommandLine.arguments(for: spec, paths: VMPaths(runtimeDirectory: "/r", stateDirectory: "/s"))) ?? []
        #expect(argv.contains("type=1,manufacturer=ASUS,product=System Product Name"))
        #expect(argv.contains("type=2,manufacturer=ASUSTeK COMPUTER INC.,product=ROG STRIX X570-E,, GAMING"))
    }

    @Test("the guest's kernel sees the system and board the definition gives")
    func theGuestSeesThem() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let defined = try scratch.define("dmi", bed.definition(extraCmdline: "loglevel=7"))
        var spec = defined.spec
        spec.windows.smbios = [SMBIOSField(type: 1, name: "manufacturer", value: "VMTest Maker"),
                               SMBIOSField(type: 1, name: "product", value: "Gaming Rig"),
                               SMBIOSField(type: 2, name: "product", value: "Board-42")]
        let loaded = LoadedDefinition(file: defined.file, spec: spec, paths: defined.paths)
        let machine = try scratch.machine(loaded)
        _ = try await machine.up()
        try await Scratch.waitForSerial(loaded, marker: "VMTEST-READY")
        let serial = try String(contentsOfFile: loaded.paths.serialLog, encoding: .utf8)
        #expect(serial.contains("DMI: VMTest Maker Gaming Rig/Board-42"), "\(serial.prefix(3000))")
        _ = try await machine.down(timeout: .seconds(5), force: true)
    }
}
