import Foundation
import Testing
@testable import Extras

@Suite("Extras scripts and plan")
struct ExtrasPlanTests {
    /// Compares `text` with Golden/NAME (VM_UPDATE_GOLDEN=1 rewrites it).
    func expectGolden(_ name: String, _ text: String?) throws {
        let text = try #require(text)
        let file = "\(Repository.golden)/\(name)"
        if ProcessInfo.processInfo.environment["VM_UPDATE_GOLDEN"] == "1" {
            try text.write(toFile: file, atomically: true, encoding: .utf8)
        }
        #expect(text == (try String(contentsOfFile: file, encoding: .utf8)), "golden \(name)")
    }

    @Test("usbmmidd: install, logon task, uninstall, primary display at 3840x2160")
    func usbmmiddScripts() throws {
        let drivers = try DriverFolder()
        let inventory = try DriverInventory.scan(driverDirectory: drivers.path)
        #expect(inventory.usbmmidd == drivers.path + "/usbmmidd_v2")
        let plan = try ExtrasPlan.make(vm: "win11", resolution: .uhd, inventory: inventory, templates: Repository.templates)
        try expectGolden("usbmmidd/install.cmd", plan.text("install.cmd"))
        try expectGolden("usbmmidd/usbmmidd-install.cmd", plan.text("usbmmidd-install.cmd"))
        try expectGolden("usbmmidd/usbmmidd-uninstall.cmd", plan.text("usbmmidd-uninstall.cmd"))
        try expectGolden("usbmmidd/set-display.ps1", plan.text("set-display.ps1"))
        try expectGolden("usbmmidd/MISSING.txt", plan.text("MISSING.txt"))
        let install = try #require(plan.text("usbmmidd-install.cmd"))
        #expect(install.contains("deviceinstaller64 install usbmmidd.inf usbmmidd"))
        #expect(install.contains("deviceinstaller64 enableidd 1"))
        #expect(install.contains("schtasks /Create /F /TN \"vm\\usbmmidd enableidd\" /SC ONLOGON"))
        #expect(plan.text("usbmmidd-uninstall.cmd")?.contains("deviceinstaller64 enableidd 0") == true)
        // usbmmidd wins over IddCx when both are there; the IddCx files stay off the disc.
        #expect(!plan.files.contains { $0.path.hasPrefix("iddcx") })
    }

    @Test("IddCx alternative with its hardware id and tool, at a chosen resolution")
    func iddcxScripts() throws {
        let drivers = try DriverFolder(usbmmidd: false)
        let inventory = try DriverInventory.scan(driverDirectory: drivers.path)
        #expect(inventory.iddcx?.hardwareID == "Root\\MttVDD")
        let plan = try ExtrasPlan.make(vm: "win11", resolution: try Resolution(parsing: "2560x1440"), inventory: inventory,
                                       templates: Repository.templates)
        try expectGolden("iddcx/install.cmd", plan.text("install.cmd"))
        try expectGolden("iddcx/iddcx-install.cmd", plan.text("iddcx-install.cmd"))
        try expectGolden("iddcx/MISSING.txt", plan.text("MISSING.txt")?.replacingOccurrences(of: drivers.path, with: "DRIVERS"))
        #expect(plan.text("set-display.ps1")?.contains("[int]$Width = 2560, [int]$Height = 1440") == true)
    }

    @Test("the Looking Glass host application, when the driver folder has its installer: staged and installed silently")
    func lookingGlassHost() throws {
        let drivers = try DriverFolder(usbmmidd: false, iddcx: false)
        try drivers.write("README.txt", "downloads")
        #expect(try DriverInventory.scan(driverDirectory: drivers.path).lookingGlassHost == nil)
        try drivers.write("LookingGlass/looking-glass-host-setup.exe", "exe")
        let inventory = try DriverInventory.scan(driverDirectory: drivers.path)
        #expect(inventory.lookingGlassHost == drivers.path + "/LookingGlass/looking-glass-host-setup.exe")
        let plan = try ExtrasPlan.make(vm: "win11", resolution: .uhd, inventory: inventory, templates: Repository.templates)
        #expect(plan.files.contains(StagedFile(path: "looking-glass/looking-glass-host-setup.exe", content: .copy(drivers.path + "/LookingGlass/looking-glass-host-setup.exe"))))
        let install = try #require(plan.text("install.cmd"))
        #expect(install.contains("\"%EXTRAS%looking-glass\\looking-glass-host-setup.exe\" /S || set RESULT=1"), "\(install)")
        #expect(plan.text("README.txt")?.contains("Looking Glass host application") == true)
    }

    @Test("nothing provided: the disc says what is missing")
    func nothingProvided() throws {
        let plan = try ExtrasPlan.make(vm: "win11", resolution: .uhd, inventory: try DriverInventory.scan(driverDirectory: nil),
                                       templates: Repository.templates)
        try expectGolden("empty/install.cmd", plan.text("install.cmd"))
        #expect(plan.missing.count == 2)
        let drivers = try DriverFolder(usbmmidd: false, iddcx: true, iddcxTool: false)
        let inventory = try DriverInventory.scan(driverDirectory: drivers.path)
        #expect(inventory.iddcx == nil)
        #expect(inventory.missing.contains { $0.contains("devcon.exe or nefconc.exe is needed") })
    }

    @Test func resolutions() throws {
        #expect(try Resolution(parsing: "1920X1080") == Resolution(width: 1920, height: 1080))
        #expect(throws: ExtrasError.badResolution("4k")) { try Resolution(parsing: "4k") }
        #expect(ExtrasInstaller.parseDrive("E\r\n") == "E")
        #expect(ExtrasInstaller.parseDrive("") == nil)
        #expect(ExtrasStager.crlf("a\nb\r\n") == "a\r\nb\r\n")
    }
}
