import Testing
import VMCore
@testable import QEMU

/// `vm up --install`'s command line: the CD-ROMs boot first, and a headless definition gets VGA over VNC.
@Test func installingPutsTheCDROMsFirstInTheBootOrder() throws {
    let spec = try GoldenDefinitions.spec("windows11", toml: try #require(GoldenDefinitions.cases.first { $0.name == "windows11" }).toml)
    let normal = try QEMUCommandLine.arguments(for: spec, paths: GoldenDefinitions.paths)
    #expect(normal.contains("ide-hd,drive=disk0,bus=ide.0,bootindex=1") && normal.contains("ide-cd,drive=cd0,bus=ide.1,bootindex=2"))
    var headless = spec
    headless.display = DisplaySpec()
    let installing = try QEMUCommandLine.arguments(for: headless.forInstallation(), paths: GoldenDefinitions.paths)
    #expect(installing.contains("ide-hd,drive=disk0,bus=ide.0,bootindex=2") && installing.contains("ide-cd,drive=cd0,bus=ide.1,bootindex=1"))
    #expect(installing.contains("VGA") && installing.contains("-vnc") && installing.contains(DisplaySpec.defaultVNC))
}
