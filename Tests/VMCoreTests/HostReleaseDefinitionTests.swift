import Foundation
import Testing
@testable import VMCore

private func parse(_ text: String) throws(DefinitionError) -> VMSpec {
    try DefinitionParser(file: "/vm/defs/solo.toml", fileExists: { _ in true }).parse(text)
}

private func errors(_ text: String) -> [String] {
    do {
        _ = try parse(text)
        return []
    } catch {
        return error.issues.map(\.description)
    }
}

@Test func hostReleaseDefaultsToDetectingTheDisplayManager() throws {
    let spec = try parse("""
        [[gpu]]
        address = "0000:01:00"
        host = "release"
        unload_nvidia = true
        holder_timeout = 3
        """)
    let options = try #require(spec.gpus.first?.hostRelease)
    #expect(options.displayManager == .detect)
    #expect(options.unloadNVIDIA)
    #expect(options.holderTimeout == .seconds(3))
}

@Test func aGPUTheHostKeepsHasNoRelease() throws {
    let spec = try parse("[[gpu]]\naddress = \"0000:01:00\"\nhost = \"keep\"\n")
    #expect(spec.gpus.first?.hostRelease == nil)
}

@Test func hostReleaseTakesAUnitOrTwoCommands() throws {
    let unit = try parse("[[gpu]]\naddress = \"0000:01:00\"\nhost = \"release\"\ndisplay_manager = \"sddm.service\"\n")
    #expect(unit.gpus.first?.hostRelease?.displayManager == .unit("sddm.service"))
    let commands = try parse("""
        [[gpu]]
        address = "0000:01:00"
        host = "release"
        display_manager_stop = ["/usr/local/bin/desktop", "stop"]
        display_manager_start = ["/usr/local/bin/desktop", "start"]
        """)
    #expect(commands.gpus.first?.hostRelease?.displayManager
        == .commands(stop: ["/usr/local/bin/desktop", "stop"], start: ["/usr/local/bin/desktop", "start"]))
}

@Test func aHotGPUCanBeTheHostsDisplay() throws {
    // Released at `vm gpu attach`, given back at `vm gpu detach` or the end of the run.
    let spec = try parse("[[gpu]]\naddress = \"0000:01:00\"\nplug = \"hot\"\nhost = \"release\"\ndisplay_manager = \"gdm.service\"\n")
    #expect(spec.gpus.first?.plug == .hot)
    #expect(spec.gpus.first?.hostRelease?.displayManager == .unit("gdm.service"))
}

@Test func hostReleaseMistakesNameTheLineAndTheFix() {
    let keyWithoutRelease = errors("[[gpu]]\naddress = \"0000:01:00\"\nunload_nvidia = true\n")
    #expect(keyWithoutRelease == ["/vm/defs/solo.toml:3: gpu[0].unload_nvidia: unload_nvidia only applies to a GPU the host gives up (fix: set host = \"release\" on this [[gpu]], or remove unload_nvidia)"])
    let standIn = errors("[[gpu]]\naddress = \"0000:01:00\"\ndevice = \"stand-in\"\nhost = \"release\"\n")
    #expect(standIn.count == 1 && standIn[0].contains("stand-in GPU has no host side"))
    let badUnit = errors("[[gpu]]\naddress = \"0000:01:00\"\nhost = \"release\"\ndisplay_manager = \"gdm\"\n")
    #expect(badUnit.count == 1 && badUnit[0].contains(":4: gpu[0].display_manager: 'gdm' is not a systemd service"))
    let halfCommand = errors("[[gpu]]\naddress = \"0000:01:00\"\nhost = \"release\"\ndisplay_manager_stop = [\"x\"]\n")
    #expect(halfCommand.count == 1 && halfCommand[0].contains("gpu[0].display_manager_start: the desktop needs both"))
    let two = errors("[[gpu]]\naddress = \"0000:01:00\"\nhost = \"release\"\n[[gpu]]\naddress = \"0000:05:00\"\nhost = \"release\"\n")
    #expect(two.count == 1 && two[0].contains(":6: gpu[1].host: only one GPU can be the host's display"))
    let libvirt = errors("backend = \"libvirt\"\n[[gpu]]\naddress = \"0000:01:00\"\nhost = \"release\"\n")
    #expect(libvirt.count == 1 && libvirt[0].contains("QEMU backend only"))
    let unknown = errors("[[gpu]]\naddress = \"0000:01:00\"\nhost = \"give\"\n")
    #expect(unknown.count == 1 && unknown[0].contains("gpu[0].host"))
}
