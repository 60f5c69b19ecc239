import Foundation
import HostLinux
import VMCore

/// A fake host (sysfs, procfs, /dev, /etc) in a temporary directory, built with a small DSL.
/// Devices live at `/sys/devices/<parent>/<address>` with the same relative symlinks the kernel makes.
public final class FakeHostTree: @unchecked Sendable {
    public let rootPath: String
    public let root: HostRoot
    public let fileSystem: RootedFileSystem
    /// The driver each function gets from its id table when probed without an override.
    private(set) var nativeDrivers: [PCIAddress: String] = [:]
    private var parents: [PCIAddress: String] = [:]

    public init() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("vm-host-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        rootPath = base.path
        root = HostRoot(rootPath)
        fileSystem = RootedFileSystem(root: root)
        try directory("/sys/bus/pci/devices")
        try directory("/sys/bus/pci/drivers")
        try file("/sys/bus/pci/drivers_probe", "")
        try directory("/proc")
    }

    deinit {
        try? FileManager.default.removeItem(atPath: rootPath)
    }

    // MARK: primitives

    public func directory(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: rootPath + path, withIntermediateDirectories: true)
    }

    public func file(_ path: String, _ text: String, mode: Int = 0o644) throws {
        try directory(parent(path))
        try? FileManager.default.removeItem(atPath: rootPath + path)
        guard FileManager.default.createFile(atPath: rootPath + path, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: rootPath + path])
        }
    }

    /// A relative symlink at `path` pointing at the host path `target`.
    public func symlink(_ path: String, to target: String) throws {
        try directory(parent(path))
        try? FileManager.default.removeItem(atPath: rootPath + path)
        try FileManager.default.createSymbolicLink(atPath: rootPath + path, withDestinationPath: relative(from: parent(path), to: target))
    }

    /// A symlink whose raw target is `target` as given (e.g. `/proc/PID/fd/N -> /dev/nvidia0`).
    public func rawSymlink(_ path: String, to target: String) throws {
        try directory(parent(path))
        try FileManager.default.createSymbolicLink(atPath: rootPath + path, withDestinationPath: target)
    }

    public func remove(_ path: String) throws {
        try FileManager.default.removeItem(atPath: rootPath + path)
    }

    // MARK: host pieces

    public enum Vendor: String { case intel = "GenuineIntel", amd = "AuthenticAMD" }

    public func cpu(_ vendor: Vendor, flags: [String], processors: Int = 2) throws {
        var text = ""
        for index in 0..<processors {
            text += "processor\t: \(index)\nvendor_id\t: \(vendor.rawValue)\ncpu family\t: 6\nmodel name\t: Fake CPU\nflags\t\t: \(flags.joined(separator: " "))\n\n"
        }
        try file("/proc/cpuinfo", text)
    }

    public func cmdline(_ text: String) throws { try file("/proc/cmdline", text + "\n") }

    public func grub(_ linuxDefault: String = "quiet splash") throws {
        try file("/etc/default/grub", """
        # If you change this file, run 'update-grub' afterwards to update
        # /boot/grub/grub.cfg.

        GRUB_DEFAULT=0
        GRUB_TIMEOUT=5
        GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`
        GRUB_CMDLINE_LINUX_DEFAULT="\(linuxDefault)"
        GRUB_CMDLINE_LINUX=""

        """)
    }

    public func kernelRelease(_ release: String = "6.1.0-28-amd64", builtin: [String] = [], modules: [String] = []) throws {
        try file("/proc/sys/kernel/osrelease", release + "\n")
        try file("/lib/modules/\(release)/modules.builtin", builtin.map { "kernel/\($0).ko\n" }.joined())
        try file("/lib/modules/\(release)/modules.dep", modules.map { "kernel/\($0).ko.xz:\n" }.joined())
    }

    public func loadedModule(_ name: String) throws { try directory("/sys/module/" + name) }

    public func driver(_ name: String) throws {
        let dir = "/sys/bus/pci/drivers/" + name
        for attribute in ["bind", "unbind", "new_id", "remove_id"] where !FileManager.default.fileExists(atPath: rootPath + dir + "/" + attribute) {
            try file(dir + "/" + attribute, "", mode: 0o200)
        }
    }

    /// A PCI function, its sysfs attributes, driver link (driver directory created) and IOMMU group membership.
    public func device(_ address: String, vendor: UInt16, device: UInt16, classCode: UInt32, subsystem: (UInt16, UInt16)? = nil,
                driver: String? = nil, group: Int? = nil, bootVGA: Bool? = nil, parent: String = "pci0000:00") throws {
        let pci = PCIAddress(address)!
        let real = "/sys/devices/\(parent)/\(address)"
        try directory(real)
        parents[pci] = real
        func hex(_ value: UInt32, _ width: Int) -> String {
            let digits = String(value, radix: 16)
            return "0x" + String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        try file(real + "/vendor", hex(UInt32(vendor), 4) + "\n", mode: 0o444)
        try file(real + "/device", hex(UInt32(device), 4) + "\n", mode: 0o444)
        try file(real + "/class", hex(classCode, 6) + "\n", mode: 0o444)
        if let subsystem {
            try file(real + "/subsystem_vendor", hex(UInt32(subsystem.0), 4) + "\n", mode: 0o444)
            try file(real + "/subsystem_device", hex(UInt32(subsystem.1), 4) + "\n", mode: 0o444)
        }
        try file(real + "/driver_override", "(null)\n")
        if let bootVGA { try file(real + "/boot_vga", bootVGA ? "1\n" : "0\n", mode: 0o444) }
        try symlink("/sys/bus/pci/devices/" + address, to: real)
        if let group {
            try directory("/sys/kernel/iommu_groups/\(group)/devices")
            try symlink(real + "/iommu_group", to: "/sys/kernel/iommu_groups/\(group)")
            try symlink("/sys/kernel/iommu_groups/\(group)/devices/\(address)", to: real)
        }
        if let driver {
            nativeDrivers[pci] = driver
            try self.driver(driver)
            try bind(pci, to: driver)
        }
    }

    /// The driver a function would get from its id table (for functions created without one).
    public func setNativeDriver(_ address: String, _ driver: String) throws {
        nativeDrivers[PCIAddress(address)!] = driver
        try self.driver(driver)
    }

    /// Kernel-side bind: the `driver` link and the driver's link back.
    public func bind(_ address: PCIAddress, to driver: String) throws {
        guard let real = parents[address] else { return }
        try symlink(real + "/driver", to: "/sys/bus/pci/drivers/" + driver)
        try symlink("/sys/bus/pci/drivers/\(driver)/\(address)", to: real)
    }

    /// Kernel-side unbind.
    public func unbind(_ address: PCIAddress) throws {
        guard let real = parents[address] else { return }
        if let driver = fileSystem.linkBasename(real + "/driver") {
            try? remove("/sys/bus/pci/drivers/\(driver)/\(address)")
        }
        try? remove(real + "/driver")
    }

    public func drmNodes(_ address: String, card: Int, render: Int) throws {
        let real = parents[PCIAddress(address)!]!
        try directory("\(real)/drm/card\(card)")
        try directory("\(real)/drm/renderD\(render)")
    }

    public func soundCard(_ address: String, card: Int) throws {
        try directory("\(parents[PCIAddress(address)!]!)/sound/card\(card)")
    }

    public func process(_ pid: Int, command: String, openFiles: [String]) throws {
        try file("/proc/\(pid)/comm", command + "\n")
        try directory("/proc/\(pid)/fd")
        for (index, target) in openFiles.enumerated() { try rawSymlink("/proc/\(pid)/fd/\(index + 3)", to: target) }
    }

    // MARK: whole-tree snapshot

    /// Every file (content + mode), directory and symlink under the root, for byte-for-byte comparisons.
    public func snapshot() throws -> [String: String] {
        var result: [String: String] = [:]
        let manager = FileManager.default
        guard let walker = manager.enumerator(atPath: rootPath) else { return result }
        while let relative = walker.nextObject() as? String {
            let full = rootPath + "/" + relative
            let attributes = try manager.attributesOfItem(atPath: full)
            let mode = (attributes[.posixPermissions] as? Int).map { String($0, radix: 8) } ?? "?"
            switch attributes[.type] as? FileAttributeType {
            case .typeSymbolicLink?: result[relative] = "link " + (try manager.destinationOfSymbolicLink(atPath: full))
            case .typeDirectory?: result[relative] = "dir " + mode
            default:
                let data = manager.contents(atPath: full) ?? Data()
                result[relative] = "file \(mode) " + data.base64EncodedString()
            }
        }
        return result
    }

    // MARK: helpers

    private func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    private func relative(from directory: String, to target: String) -> String {
        let from = directory.split(separator: "/"), to = target.split(separator: "/")
        var common = 0
        while common < from.count && common < to.count && from[common] == to[common] { common += 1 }
        let ups = Array(repeating: "..", count: from.count - common)
        return (ups + to[common...].map(String.init)).joined(separator: "/")
    }
}
