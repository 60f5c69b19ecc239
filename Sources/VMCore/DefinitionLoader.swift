import FoundationEssentials
import Glibc

/// A definition read from disk, with the files `vm` keeps for it.
public struct LoadedDefinition: Sendable {
    public let file: String
    public let spec: VMSpec
    public let paths: VMPaths

    public init(file: String, spec: VMSpec, paths: VMPaths) {
        self.file = file
        self.spec = spec
        self.paths = paths
    }

    /// Where the VM's QMP socket is (see ``VMSpec/qmpSocket(in:)``).
    public var qmpSocket: String { spec.qmpSocket(in: paths) }
}

/// Why a definition could not be found or read.
public enum DefinitionLookupError: Error, Equatable, CustomStringConvertible {
    case notFound(name: String, searched: [String])
    case file(FileAccessError)
    case badName(VMNameError)

    public var description: String {
        switch self {
        case .notFound(let name, let searched):
            return "no definition '\(name)' (looked for \(name).toml in \(searched.joined(separator: ", "))); create one with `vm init \(name)`"
        case .file(let error):
            return error.description
        case .badName(let error):
            return error.description
        }
    }
}

/// Finds definition files by VM name (or takes a path) and parses them.
public struct DefinitionLoader: Sendable {
    public let layout: StateLayout

    public init(layout: StateLayout) {
        self.layout = layout
    }

    /// The loader for this process's environment and user.
    public static func standard() -> DefinitionLoader {
        DefinitionLoader(layout: StateLayout(environment: ProcessEnvironment.current, uid: getuid()))
    }

    /// A path when the argument contains `/` or ends in `.toml`, else a VM name looked up in the
    /// definition folders.
    public func locate(_ nameOrPath: String) throws(DefinitionLookupError) -> String {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".toml") {
            guard FileManager.default.fileExists(atPath: nameOrPath) else {
                throw .file(FileAccessError(.read, path: nameOrPath, code: ENOENT))
            }
            // Relative paths inside the file are resolved against its folder: make that absolute.
            return URL(fileURLWithPath: nameOrPath).standardizedFileURL.path
        }
        do {
            _ = try VMName(nameOrPath)
        } catch {
            throw .badName(error)
        }
        for directory in layout.definitionDirectories {
            let candidate = "\(directory)/\(nameOrPath).toml"
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        throw .notFound(name: nameOrPath, searched: layout.definitionDirectories)
    }

    /// Locates, reads and validates a definition.
    public func load(_ nameOrPath: String) throws -> LoadedDefinition {
        let file = try locate(nameOrPath)
        let bytes = try FileAccess.read(file)
        let parser = DefinitionParser(file: file)
        let spec = try parser.parse(bytes)
        return LoadedDefinition(file: file, spec: spec, paths: layout.paths(for: spec.name))
    }

    /// Every `*.toml` in the definition folders, first folder winning on duplicate names.
    public func definitionFiles() -> [String] {
        var seen = Set<String>()
        var files: [String] = []
        for directory in layout.definitionDirectories {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for name in names.sorted() where name.hasSuffix(".toml") && seen.insert(name).inserted {
                files.append("\(directory)/\(name)")
            }
        }
        return files
    }
}
