import Foundation
import Testing
@testable import VMCore

@Test func pciAddressesRoundTrip() throws {
    let address = try #require(PCIAddress("0000:05:00.1"))
    #expect(address.description == "0000:05:00.1")
    #expect(address.pciSlot == PCISlot("0000:05:00"))
    #expect(PCIAddress("05:00.1") == address)
    #expect(PCIAddress("0000:0a:1f.7")?.description == "0000:0a:1f.7")
}

@Test(arguments: ["", "0000:05:00", "0000:05:00.8", "0000:05:20.0", "000:05:00.0", "0000:5:00.0", "zz:00.0", "0000:05:00.01"])
func badPCIAddresses(text: String) {
    #expect(PCIAddress(text) == nil)
}

@Test(arguments: ["win11", "gaming_rig-2", "A"])
func goodNames(name: String) throws {
    #expect(try VMName(name).rawValue == name)
}

@Test(arguments: ["", "a/b", "../etc", "-x", "_x", "a b", "ü", String(repeating: "a", count: 65)])
func badNames(name: String) {
    #expect(throws: VMNameError.self) { try VMName(name) }
}

@Test func derivedMACIsStableLocalAndUnicast() throws {
    let first = MACAddress.derived(from: try VMName("win11"))
    #expect(first == MACAddress.derived(from: try VMName("win11")))
    #expect(first != MACAddress.derived(from: try VMName("win10")))
    #expect(first.description.hasPrefix("52:54:00:"))
    #expect(!first.isMulticast)
}

@Test func didYouMean() {
    #expect(closestMatch(to: "memroy", among: ["memory", "machine"]) == "memory")
    #expect(closestMatch(to: "zzzzzz", among: ["memory", "machine"]) == nil)
}

@Test func keyLinesFollowTablesAndArrays() throws {
    let lines = try TOMLDocument(parsing: """
        name = "a"
        # comment
        [cpu]
        cores = 2
        [[gpu]]
        functions = [
          "0000:05:00.0",
        ]
        rom = "x"
        [[gpu]]
        "address" = "0000:06:00"
        """).lines
    #expect(lines["name"] == 1)
    #expect(lines["cpu"] == 3 && lines["cpu.cores"] == 4)
    #expect(lines["gpu[0].functions"] == 6 && lines["gpu[0].rom"] == 9)
    #expect(lines["gpu[1].address"] == 11)
}

@Test func layoutFollowsEnvironment() throws {
    let user = StateLayout(environment: ["HOME": "/home/u", "XDG_RUNTIME_DIR": "/run/user/1000"], uid: 1000)
    #expect(user.definitionDirectories == ["/home/u/.config/vm"])
    #expect(user.runtimeRoot == "/run/user/1000/vm")
    #expect(user.stateRoot == "/home/u/.local/state/vm")
    let root = StateLayout(environment: ["HOME": "/root"], uid: 0)
    #expect(root.definitionDirectories == ["/root/.config/vm", "/etc/vm"])
    #expect(root.runtimeRoot == "/run/vm" && root.stateRoot == "/var/lib/vm")
    let custom = StateLayout(environment: ["VM_HOME": "/d", "VM_RUNTIME_DIR": "/r", "VM_STATE_DIR": "/s"], uid: 0)
    let paths = custom.paths(for: try VMName("x"))
    #expect(paths.qmpSocket == "/r/x/qmp.sock" && paths.varsFile == "/s/x/OVMF_VARS.fd")
}

@Test func pidfileTextGivesItsPid() {
    #expect(QEMUPidFile.pid(in: "4242\n") == 4242)
    #expect(QEMUPidFile.pid(in: "4242") == 4242)
}

@Test(arguments: ["", "\n", "abc\n", "12 34\n", "0\n", "-5\n", "99999999999\n"])
func badPidfileTextGivesNoPid(text: String) {
    #expect(QEMUPidFile.pid(in: text) == nil)
}

/// A pidfile read from disk: its pid, or nil when it is missing, a folder or holds no pid.
@Test func pidfileOnDiskGivesItsPid() throws {
    let folder = NSTemporaryDirectory() + "pidfile-\(UUID().uuidString)"
    try FileAccess.createFolders(folder)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = folder + "/qemu.pid"
    #expect(QEMUPidFile.pid(at: path) == nil)
    try FileAccess.write("4242\n", to: path)
    #expect(QEMUPidFile.pid(at: path) == 4242)
    try FileAccess.write("not a pid\n", to: path)
    #expect(QEMUPidFile.pid(at: path) == nil)
    #expect(QEMUPidFile.pid(at: folder) == nil)
}
