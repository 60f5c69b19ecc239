import Foundation
import HostLinux

/// A temporary folder with a user's driver downloads laid out as they unzip.
final class DriverFolder: @unchecked Sendable {
    let path: String
    init(usbmmidd: Bool = true, iddcx: Bool = true, iddcxTool: Bool = true) throws {
        path = NSTemporaryDirectory() + "vmdrv-" + UUID().uuidString
        if usbmmidd {
            try write("usbmmidd_v2/usbmmidd.inf", "[Version]\nSignature=\"$Windows NT$\"\n")
            try write("usbmmidd_v2/usbmmIdd.dll", "dll")
            try write("usbmmidd_v2/deviceinstaller64.exe", "exe")
        }
        if iddcx {
            try write("VirtualDisplayDriver/MttVDD.inf", "[Version]\nClass=Display\n; IddCx 1.10\n[Standard.NTamd64]\n%DeviceName%=MyDevice_Install, Root\\MttVDD\n")
            try write("VirtualDisplayDriver/MttVDD.dll", "dll")
            if iddcxTool { try write("VirtualDisplayDriver/nefconc.exe", "exe") }
        }
    }
    func write(_ relative: String, _ text: String) throws {
        let file = "\(path)/\(relative)"
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

enum Repository {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static var templates: TemplateDirectory { TemplateDirectory(path: root + "/templates") }
    static let golden = root + "/Tests/ExtrasTests/Golden"
}
