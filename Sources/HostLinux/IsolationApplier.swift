import FoundationEssentials
import Glibc

/// What `vm host isolate --apply` wrote, so that `--undo` can restore the host exactly.
public struct IsolationManifest: Sendable, Hashable, Codable {
    public struct Entry: Sendable, Hashable, Codable {
        /// Host path of the changed file.
        public var path: String
        /// Host path of the saved original; nil when the file was created.
        public var backup: String?
        /// Permission bits of the original.
        public var originalMode: UInt16?
    }

    public var slot: String
    public var entries: [Entry]
    /// Directories the apply created, outermost first (removed on undo when empty).
    public var createdDirectories: [String]
    /// Commands to run after applying or undoing.
    public var commands: [[String]]
}

/// Errors from applying or undoing an isolation.
public enum IsolationApplyError: Error, Sendable, Equatable, CustomStringConvertible {
    case alreadyApplied(slot: String)
    case nothingToUndo
    /// A file changed since the plan was made.
    case fileChanged(String)
    case host(HostError)

    public var description: String {
        switch self {
        case let .alreadyApplied(slot): return "an isolation of \(slot) is already applied: run `vm host isolate --undo` first"
        case .nothingToUndo: return "no applied isolation recorded (\(IsolationApplier.manifestPath))"
        case let .fileChanged(path): return "\(path) changed since the plan was made: plan again"
        case let .host(error): return error.description
        }
    }
}

/// Writes an ``IsolationPlan`` with backups and a manifest, and undoes it.
public struct IsolationApplier: Sendable {
    /// Where the manifest lives under the host root.
    public static let stateDirectory = "/var/lib/vm"
    public static let manifestPath = stateDirectory + "/host-isolation.json"
    public static let backupDirectory = stateDirectory + "/host-isolation-backup"

    public let fileSystem: any HostFileSystem

    public init(fileSystem: any HostFileSystem) {
        self.fileSystem = fileSystem
    }

    /// The recorded isolation, or nil.
    public func manifest() throws -> IsolationManifest? {
        guard fileSystem.exists(Self.manifestPath) else { return nil }
        return try JSONDecoder().decode(IsolationManifest.self, from: try fileSystem.readData(Self.manifestPath))
    }

    /// Backs up every file the plan changes, records the manifest, then writes the new files.
    /// Returns the manifest (its commands are for the caller to run).
    @discardableResult
    public func apply(_ plan: IsolationPlan) throws -> IsolationManifest {
        do {
            if let existing = try manifest() { throw IsolationApplyError.alreadyApplied(slot: existing.slot) }
            for change in plan.changes where fileSystem.readTextIfPresent(change.path) != change.before {
                throw IsolationApplyError.fileChanged(change.path)
            }
            var created = try fileSystem.createDirectories(Self.backupDirectory)
            var entries: [IsolationManifest.Entry] = []
            for (index, change) in plan.changes.enumerated() {
                if let before = change.before {
                    let backup = Self.backupDirectory + "/\(index)-" + change.path.split(separator: "/").joined(separator: "_")
                    let mode = try fileSystem.permissions(change.path)
                    try fileSystem.writeFile(Data(before.utf8), to: backup, mode: mode)
                    entries.append(.init(path: change.path, backup: backup, originalMode: mode))
                } else {
                    entries.append(.init(path: change.path, backup: nil, originalMode: nil))
                }
            }
            for change in plan.changes {
                let parent = String(change.path[..<(change.path.lastIndex(of: "/") ?? change.path.startIndex)])
                if !parent.isEmpty { created += try fileSystem.createDirectories(parent) }
            }
            let manifest = IsolationManifest(slot: plan.slot, entries: entries, createdDirectories: created, commands: plan.commands)
            try writeManifest(manifest)
            for change in plan.changes {
                try fileSystem.writeFile(Data(change.after.utf8), to: change.path, mode: change.mode)
            }
            return manifest
        } catch let error as HostError {
            throw IsolationApplyError.host(error)
        }
    }

    /// Restores every recorded file, removes created files and directories, the backups and the manifest.
    /// Returns the manifest that was undone (its commands must be run again).
    @discardableResult
    public func undo() throws -> IsolationManifest {
        do {
            guard let manifest = try manifest() else { throw IsolationApplyError.nothingToUndo }
            for entry in manifest.entries.reversed() {
                if let backup = entry.backup {
                    let data = try fileSystem.readData(backup)
                    try fileSystem.writeFile(data, to: entry.path, mode: entry.originalMode ?? 0o644)
                    try fileSystem.removeFile(backup)
                } else if fileSystem.exists(entry.path) {
                    try fileSystem.removeFile(entry.path)
                }
            }
            try fileSystem.removeFile(Self.manifestPath)
            if !manifest.createdDirectories.contains(Self.backupDirectory), fileSystem.isDirectory(Self.backupDirectory),
               (try fileSystem.contentsOfDirectory(Self.backupDirectory)).isEmpty {
                try fileSystem.removeDirectory(Self.backupDirectory)
            }
            for directory in manifest.createdDirectories.reversed() where fileSystem.isDirectory(directory) {
                if try fileSystem.contentsOfDirectory(directory).isEmpty { try fileSystem.removeDirectory(directory) }
            }
            return manifest
        } catch let error as HostError {
            throw IsolationApplyError.host(error)
        }
    }

    private func writeManifest(_ manifest: IsolationManifest) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try fileSystem.writeFile(try encoder.encode(manifest), to: Self.manifestPath, mode: 0o600)
    }
}
