import FoundationEssentials
import Glibc
import VMCore

/// Why a VM could not be exported or imported.
public enum VMArchiveError: Error, Equatable, CustomStringConvertible {
    /// The archive file is there already.
    case archiveExists(String)
    /// `tar` failed; what it said.
    case tarFailed(String)
    /// The archive is not one `vm export` wrote.
    case notAnExport(String)
    /// A VM of this name has a definition or state here already.
    case vmExists(name: String, place: String)
    /// A disk the archive carries would overwrite a file here.
    case diskExists(String)
    /// A disk the definition names is not a regular file to put in the archive.
    case diskMissing(String)

    public var description: String {
        switch self {
        case .archiveExists(let path):
            return "\(path) exists and is not overwritten; name another file or remove it"
        case .tarFailed(let message):
            return "tar failed: \(message)"
        case .notAnExport(let why):
            return "not an archive of `vm export`: \(why)"
        case .vmExists(let name, let place):
            return "a VM named \(name) exists here already (\(place)); `vm rm \(name)` it first, or import on another host"
        case .diskExists(let path):
            return "the archive's disk would overwrite \(path); move that file away first (nothing was imported)"
        case .diskMissing(let path):
            return "the disk \(path) is not a regular file; export without --with-disk, or fix the definition"
        }
    }
}

/// `vm export` / `vm import`: a VM's identity in one tar file, so that it keeps its Secure Boot
/// variables and its TPM (BitLocker keys, Windows activation) on a new host. The archive holds
/// `NAME.toml` (the definition as written), `OVMF_VARS.fd` (the VM's copy of the UEFI variables)
/// and `tpm/tpm2-00.permall` (swtpm's state), the latter two when the VM has them; with the disks,
/// also `disks/N` for the definition's `[[disk]]` number N, restored at the path the definition
/// names. Without them, disks stay where they are and are copied by whoever moves the VM.
public struct VMArchive: Sendable {
    public let runner: any HostCommandRunner

    public init(runner: any HostCommandRunner) {
        self.runner = runner
    }

    /// The state files an archive carries, relative to the VM's state folder.
    public static let stateMembers = ["OVMF_VARS.fd", "tpm/tpm2-00.permall"]

    /// Writes the archive of the VM `name` (its definition `definitionFile`, its state in
    /// `paths`, and the files of `disks`, the definition's disks in order, when given) to `file`,
    /// which must not exist. The VM should be stopped.
    public func export(name: VMName, definitionFile: String, paths: VMPaths, disks: [String] = [], to file: String) throws {
        var status = stat()
        guard lstat(file, &status) != 0 else { throw VMArchiveError.archiveExists(file) }
        for disk in disks where !Self.isRegularFile(disk) { throw VMArchiveError.diskMissing(disk) }
        // The definition under its VM's name, whatever the file is called; each disk as disks/N.
        let staging = try PrivateTemporaryDirectory(purpose: "archive")
        defer { staging.remove() }
        try FileAccess.write(try FileAccess.read(definitionFile), to: "\(staging.path)/\(name).toml", permissions: 0o600)
        var arguments = ["tar", "-cf", file, "--sparse", "-C", staging.path, "\(name).toml"]
        let present = Self.stateMembers.filter { Self.isRegularFile("\(paths.stateDirectory)/\($0)") }
        if !present.isEmpty { arguments += ["-C", paths.stateDirectory] + present }
        for (index, disk) in disks.enumerated() {
            arguments += ["--transform", "s|^\(Self.escapedForSed(String(disk.dropFirst())))$|disks/\(index)|", "-C", "/", String(disk.dropFirst())]
        }
        do {
            try tar(arguments, timeout: disks.isEmpty ? .seconds(600) : .seconds(24 * 3600))
        } catch {
            unlink(file)
            throw error
        }
    }

    /// What ``importArchive(_:layout:)`` put where.
    public struct Imported: Sendable, Equatable {
        public var name: VMName
        public var definitionFile: String
        /// The state files restored, relative to the VM's state folder.
        public var stateFiles: [String]
        /// The disks restored, where the definition names them.
        public var disks: [String] = []
    }

    /// Unpacks `file` into a private folder and installs the VM: its definition in the first
    /// definition folder, its state files (0600) in its state folder (0700, `tpm/` too). Refuses
    /// when a VM of that name has a definition or a state folder here. Only regular files of
    /// the expected names are taken from the archive; links and anything else are ignored.
    public func importArchive(_ file: String, layout: StateLayout) throws -> Imported {
        let staging = try PrivateTemporaryDirectory(purpose: "archive")
        defer { staging.remove() }
        try tar(["tar", "-xf", file, "-C", staging.path, "--no-same-owner", "--no-same-permissions"])
        let definitions = ((try? FileManager.default.contentsOfDirectory(atPath: staging.path)) ?? []).filter { $0.hasSuffix(".toml") }
        guard definitions.count == 1, let definition = definitions.first, Self.isRegularFile("\(staging.path)/\(definition)") else {
            throw VMArchiveError.notAnExport("it should hold one NAME.toml, and holds \(definitions.isEmpty ? "none" : definitions.joined(separator: ", "))")
        }
        let name: VMName
        do {
            name = try VMName(String(definition.dropLast(".toml".count)))
        } catch {
            throw VMArchiveError.notAnExport("\(error)")
        }
        let target = "\(layout.definitionDirectories[0])/\(name).toml"
        let paths = layout.paths(for: name)
        if FileManager.default.fileExists(atPath: target) { throw VMArchiveError.vmExists(name: name.rawValue, place: target) }
        if FileManager.default.fileExists(atPath: paths.stateDirectory) {
            throw VMArchiveError.vmExists(name: name.rawValue, place: paths.stateDirectory)
        }
        let diskTargets = try Self.diskTargets(of: "\(staging.path)/\(definition)", staging: staging.path, writtenAs: target)
        let restored = Self.stateMembers.filter { Self.isRegularFile("\(staging.path)/\($0)") }
        if !restored.isEmpty { try PrivateDirectory.make(paths.stateDirectory) }
        for member in restored {
            if member.hasPrefix("tpm/") { try PrivateDirectory.make(paths.tpmStateDirectory) }
            try FileAccess.write(try FileAccess.read("\(staging.path)/\(member)"), to: "\(paths.stateDirectory)/\(member)", permissions: 0o600)
        }
        for (member, path) in diskTargets {
            // A rename within one file system, else a copy: disks are large.
            try FileManager.default.createDirectory(atPath: PathName.folder(of: path), withIntermediateDirectories: true)
            try FileManager.default.moveItem(atPath: "\(staging.path)/\(member)", toPath: path)
            chmod(path, 0o600)
        }
        try FileAccess.write(try FileAccess.read("\(staging.path)/\(definition)"), to: target)
        return Imported(name: name, definitionFile: target, stateFiles: restored, disks: diskTargets.map(\.1))
    }

    /// The disks of an archive (`disks/N`) with the paths the definition names for them (its
    /// `[[disk]]` number N, relative paths as seen from where the definition is installed);
    /// refused when one of those paths is taken.
    static func diskTargets(of definition: String, staging: String, writtenAs target: String) throws -> [(String, String)] {
        let members = ((try? FileManager.default.contentsOfDirectory(atPath: "\(staging)/disks")) ?? []).filter { isRegularFile("\(staging)/disks/\($0)") }
        guard !members.isEmpty else { return [] }
        let spec: VMSpec
        do {
            spec = try DefinitionParser(file: target, fileProblem: { _ in nil }).parse(FileAccess.read(definition))
        } catch {
            throw VMArchiveError.notAnExport("its definition does not parse: \(error)")
        }
        return try members.sorted().map { member in
            guard let index = Int(member), spec.disks.indices.contains(index) else {
                throw VMArchiveError.notAnExport("disks/\(member) is no [[disk]] of its definition")
            }
            let path = spec.disks[index].path
            var status = stat()
            if lstat(path, &status) == 0 { throw VMArchiveError.diskExists(path) }
            return ("disks/\(member)", path)
        }
    }

    private static func isRegularFile(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFREG
    }

    /// `path` as a sed pattern (for tar's `--transform`): its special characters escaped.
    static func escapedForSed(_ path: String) -> String {
        path.map { ".[]*^$\\|+?(){}".contains($0) ? "\\\($0)" : String($0) }.joined()
    }

    private func tar(_ arguments: [String], timeout: Duration = .seconds(600)) throws {
        let result: CommandResult
        do {
            result = try runner.run(arguments, timeout: timeout)
        } catch {
            throw VMArchiveError.tarFailed("\(error)")
        }
        guard result.status == 0 else {
            throw VMArchiveError.tarFailed(result.standardError.trimmingWhitespace())
        }
    }
}

/// A new 0700 folder under the temporary folder (`TMPDIR`, else `/tmp`), for one job.
public struct PrivateTemporaryDirectory: Sendable {
    public let path: String

    /// Makes `vm-PURPOSE-XXXXXX` (mkdtemp).
    public init(purpose: String) throws(FileAccessError) {
        let base = Self.base
        var template = Array("\(base)/vm-\(purpose)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw FileAccessError(.createFolder, path: base, code: errno) }
        path = String(cString: made)
    }

    /// The temporary folder: `TMPDIR` when set, else `/tmp`.
    public static var base: String {
        ProcessEnvironment.current["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    }

    /// Removes the folder and everything in it.
    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
