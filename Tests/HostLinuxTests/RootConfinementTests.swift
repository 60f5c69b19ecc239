import Foundation
import HostLinux
import HostLinuxFakes
import Testing
import VMCore

/// `VM_HOST_ROOT`: no symbolic link under the root leads a read or write outside it (issue 17).
@Suite struct RootConfinementTests {
    /// A root folder and a file outside it that nothing may touch.
    struct Rig {
        let root: String
        let outside: String

        init() throws {
            let base = NSTemporaryDirectory() + "root-confinement-\(UUID().uuidString)"
            root = base + "/root"
            outside = base + "/outside.txt"
            try FileManager.default.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
            try "outside".write(toFile: outside, atomically: false, encoding: .utf8)
            try "inside".write(toFile: root + "/etc/target", atomically: false, encoding: .utf8)
        }

        func link(_ path: String, to target: String) throws {
            try FileManager.default.createDirectory(atPath: root + (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: root + path, withDestinationPath: target)
        }

        var outsideText: String { (try? String(contentsOfFile: outside, encoding: .utf8)) ?? "(gone)" }
    }

    @Test func linksResolveInsideTheRoot() throws {
        let rig = try Rig()
        let root = HostRoot(rig.root)
        try rig.link("/a/absolute", to: "/etc")
        try rig.link("/a/climbing", to: "../../../../../../etc")
        try rig.link("/a/escape", to: rig.outside)
        try rig.link("/a/loop", to: "/a/loop")
        #expect(try root.confinedHostPath("/a/absolute/target") == "/etc/target")
        #expect(try root.confinedHostPath("/a/climbing/target") == "/etc/target")
        #expect(try root.confinedHostPath("/../../etc/./target") == "/etc/target")
        #expect(try root.confinedHostPath("/a/escape") == rig.outside)  // re-rooted: root + outside
        #expect(try root.confinedHostPath("/a/escape", followingLastLink: false) == "/a/escape")
        #expect(try root.confinedHostPath("/a/missing/x") == "/a/missing/x")
        #expect(throws: HostError.io(path: "/a/loop", operation: "resolve", errno: ELOOP)) { try root.confinedHostPath("/a/loop") }
    }

    @Test func readsAndWritesStayInsideTheRoot() throws {
        let rig = try Rig()
        let fileSystem = RootedFileSystem(root: HostRoot(rig.root))
        try rig.link("/sys/attribute", to: rig.outside)
        try rig.link("/sys/folder", to: (rig.outside as NSString).deletingLastPathComponent)
        #expect(throws: HostError.self) { try fileSystem.readText("/sys/attribute") }
        #expect(throws: HostError.self) { try fileSystem.writeAttribute("pwned", to: "/sys/attribute") }
        #expect(throws: HostError.self) { try fileSystem.writeFile(Data("pwned".utf8), to: "/sys/folder/outside.txt", mode: 0o644) }
        #expect(!fileSystem.exists("/sys/folder/outside.txt"))
        try fileSystem.removeFile("/sys/attribute")  // removes the link, not its target
        #expect(rig.outsideText == "outside")
        try rig.link("/sys/good", to: "/etc/target")
        #expect(try fileSystem.readText("/sys/good") == "inside")
        #expect(try fileSystem.canonicalPath("/sys/good") == "/etc/target")
    }

    /// `vm host bind` on a tree whose `driver_override` is an absolute link out of the root.
    @Test func hostBindDoesNotWriteOutsideTheRoot() throws {
        let tree = try Scenarios.twoIdentical3090Ti()
        let outside = NSTemporaryDirectory() + "host-bind-outside-\(UUID().uuidString)"
        try "untouched\n".write(toFile: outside, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: outside) }
        let override = PCIDeviceReader.directory(of: PCIAddress("0000:05:00.0")!) + "/driver_override"
        try tree.remove(override)
        try tree.rawSymlink(override, to: outside)
        let binder = DriverBinder(fileSystem: FakeKernel(tree: tree), probeTimeout: .milliseconds(100))
        let verified = try binder.verify(PCISlot("0000:05:00")!)
        #expect(throws: (any Error).self) { try binder.bindSlotToVFIO(verified) }
        #expect(try String(contentsOfFile: outside, encoding: .utf8) == "untouched\n")
    }
}
