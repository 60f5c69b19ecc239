import FoundationEssentials
import Glibc
import HostLinux
import VMCore

/// `vm extras stage`: scans the user's driver folder and virtio-win ISO, renders the scripts and
/// writes the extras ISO into the VM's state folder. Downloads nothing.
public struct ExtrasStager: Sendable {
    public let templates: TemplateDirectory
    public let xorriso: Xorriso

    public init(templates: TemplateDirectory, xorriso: Xorriso = Xorriso()) {
        self.templates = templates
        self.xorriso = xorriso
    }

    /// What was staged.
    public struct Result: Sendable, Equatable, Encodable {
        public var iso: String
        /// Paths on the disc.
        public var files: [String]
        public var missing: [String]
    }

    /// Builds `paths.extrasISO` (atomically: a half-written ISO never replaces a good one).
    public func stage(vm: VMName, paths: VMPaths, driverDirectory: String?, virtioWinISO: String?,
                      resolution: Resolution) throws -> Result {
        let scratch = try PrivateTemporaryDirectory(purpose: "extras")
        defer { scratch.remove() }
        let work = scratch.path
        var inventory = try DriverInventory.scan(driverDirectory: driverDirectory)
        try takeVirtioInstallers(from: virtioWinISO, into: "\(work)/virtio-src", inventory: &inventory)
        let plan = try ExtrasPlan.make(vm: vm.rawValue, resolution: resolution, inventory: inventory, templates: templates)
        let disc = "\(work)/disc"
        try Self.write(plan, to: disc)
        try PrivateDirectory.make(paths.stateDirectory)
        let partial = paths.extrasISO + ".partial"
        try? FileManager.default.removeItem(atPath: partial)
        try xorriso.buildISO(from: disc, to: partial, volumeID: ExtrasPlan.volumeID)
        if FileManager.default.fileExists(atPath: paths.extrasISO) { try FileManager.default.removeItem(atPath: paths.extrasISO) }
        try FileManager.default.moveItem(atPath: partial, toPath: paths.extrasISO)
        return Result(iso: paths.extrasISO, files: plan.files.map(\.path).sorted(), missing: plan.missing)
    }

    func takeVirtioInstallers(from iso: String?, into folder: String, inventory: inout DriverInventory) throws {
        guard let iso else {
            for (_, _, what) in VirtioInstallers.wanted { inventory.missing.append("\(what): no --virtio-win ISO given") }
            return
        }
        guard FileManager.default.fileExists(atPath: iso) else { throw ExtrasError.virtioISOMissing(iso) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (source, name, what) in VirtioInstallers.wanted {
            let destination = "\(folder)/\(name)"
            if try xorriso.extract(source, from: iso, to: destination) {
                inventory.virtioInstallers[name] = destination
            } else {
                inventory.missing.append("\(what): \(source) is not in \(iso)")
            }
        }
    }

    /// Lays the plan out as files under `folder`; text gets CRLF line ends.
    static func write(_ plan: ExtrasPlan, to folder: String) throws {
        for file in plan.files {
            let target = "\(folder)/\(file.path)"
            try FileManager.default.createDirectory(atPath: PathName.folder(of: target), withIntermediateDirectories: true)
            switch file.content {
            case .text(let text):
                try Data(crlf(text).utf8).write(to: URL(fileURLWithPath: target))
            case .copy(let source):
                try FileManager.default.copyItem(atPath: source, toPath: target)
            }
        }
    }

    /// `\n` -> `\r\n` (existing `\r\n` kept).
    public static func crlf(_ text: String) -> String {
        text.replacing("\r\n", with: "\n").replacing("\n", with: "\r\n")
    }
}
