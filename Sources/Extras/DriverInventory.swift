import FoundationEssentials
import Glibc

/// What the user's `--driver-dir` and `--virtio-win` ISO provide.
public struct DriverInventory: Sendable, Equatable {
    /// The folder holding `usbmmidd.inf` (and `deviceinstaller64.exe`).
    public var usbmmidd: String?
    /// An IddCx virtual display driver: its folder, INF, hardware id and install tool.
    public var iddcx: IddCxDriver?
    /// Installers taken out of the virtio-win ISO: name on the extras disc -> host path.
    public var virtioInstallers: [String: String] = [:]
    /// The Looking Glass host application's installer (`looking-glass-host-setup.exe`), when the
    /// driver folder has it.
    public var lookingGlassHost: String?
    /// What was looked for and not found, one line each.
    public var missing: [String] = []

    public init(usbmmidd: String? = nil, iddcx: IddCxDriver? = nil, virtioInstallers: [String: String] = [:], missing: [String] = []) {
        self.usbmmidd = usbmmidd
        self.iddcx = iddcx
        self.virtioInstallers = virtioInstallers
        self.missing = missing
    }
}

/// An IddCx virtual display driver package.
public struct IddCxDriver: Sendable, Equatable {
    public var folder: String
    public var inf: String
    public var hardwareID: String
    /// `devcon.exe` or `nefconc.exe`, which create the root-enumerated device.
    public var tool: String
}

/// The virtio-win installers `vm` takes from the user's ISO.
public enum VirtioInstallers {
    /// Path in the virtio-win ISO -> name on the extras disc.
    public static let wanted: [(source: String, name: String, what: String)] = [
        ("/virtio-win-gt-x64.msi", "virtio-win-gt-x64.msi", "virtio drivers installer"),
        ("/guest-agent/qemu-ga-x86_64.msi", "qemu-ga-x86_64.msi", "QEMU guest agent installer"),
    ]
}

extension DriverInventory {
    /// Scans `driverDirectory` (two levels deep) for usbmmidd, an IddCx driver and the Looking
    /// Glass host application's installer.
    public static func scan(driverDirectory: String?) throws(ExtrasError) -> DriverInventory {
        var inventory = DriverInventory()
        guard let driverDirectory else {
            inventory.missing = [
                "usbmmidd (usbmmidd.inf, deviceinstaller64.exe): no --driver-dir given",
                "IddCx virtual display driver (*.inf, devcon.exe or nefconc.exe): no --driver-dir given",
            ]
            return inventory
        }
        var isDirectory = false
        guard FileManager.default.fileExists(atPath: driverDirectory, isDirectory: &isDirectory), isDirectory else {
            throw .driverDirectoryMissing(driverDirectory)
        }
        let folders = [driverDirectory] + subfolders(driverDirectory) + subfolders(driverDirectory).flatMap(subfolders)
        if let folder = folders.first(where: { files($0).contains { $0.lowercased() == "usbmmidd.inf" } }) {
            if files(folder).contains(where: { $0.lowercased() == "deviceinstaller64.exe" }) {
                inventory.usbmmidd = folder
            } else {
                inventory.missing.append("usbmmidd: deviceinstaller64.exe is not next to \(folder)/usbmmidd.inf")
            }
        } else {
            inventory.missing.append("usbmmidd (usbmmidd.inf, deviceinstaller64.exe): not in \(driverDirectory)")
        }
        inventory.iddcx = findIddCx(in: folders, missing: &inventory.missing, root: driverDirectory)
        inventory.lookingGlassHost = folders.lazy.compactMap { folder in
            files(folder).first { $0.lowercased().hasPrefix("looking-glass-host") && $0.lowercased().hasSuffix(".exe") }.map { "\(folder)/\($0)" }
        }.first
        return inventory
    }

    static func findIddCx(in folders: [String], missing: inout [String], root: String) -> IddCxDriver? {
        for folder in folders {
            let names = files(folder)
            for inf in names where inf.lowercased().hasSuffix(".inf") && inf.lowercased() != "usbmmidd.inf" {
                guard let text = try? String(contentsOfFile: "\(folder)/\(inf)", encoding: .utf8).replacing("\0", with: ""),
                      let hardwareID = hardwareID(inInf: text), text.lowercased().contains("iddcx") else { continue }
                guard let tool = names.first(where: { ["devcon.exe", "nefconc.exe"].contains($0.lowercased()) }) else {
                    missing.append("IddCx driver \(inf): devcon.exe or nefconc.exe is needed next to it to create the device")
                    return nil
                }
                return IddCxDriver(folder: folder, inf: inf, hardwareID: hardwareID, tool: tool)
            }
        }
        missing.append("IddCx virtual display driver (an IddCx *.inf with a Root\\ hardware id, plus devcon.exe or nefconc.exe): not in \(root)")
        return nil
    }

    /// The first root-enumerated hardware id (`Root\MttVDD`) in an INF.
    public static func hardwareID(inInf text: String) -> String? {
        for line in text.split(whereSeparator: \.isNewline) where !line.trimmingBlanks().hasPrefix(";") {
            for field in line.split(separator: ",") {
                let value = field.trimmingBlanks()
                if value.lowercased().hasPrefix("root\\"), value.count > 5, !value.contains(" ") { return value }
            }
        }
        return nil
    }

    static func subfolders(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().compactMap { name in
            var isDirectory = false
            let full = "\(path)/\(name)"
            return FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory) && isDirectory ? full : nil
        }
    }

    static func files(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().filter { name in
            var isDirectory = false
            return FileManager.default.fileExists(atPath: "\(path)/\(name)", isDirectory: &isDirectory) && !isDirectory
        }
    }
}
