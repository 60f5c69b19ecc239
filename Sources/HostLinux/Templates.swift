import FoundationEssentials
import Glibc
import VMCore

/// Errors from finding or rendering templates.
public enum TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No template directory was found; lists the places searched.
    case directoryNotFound([String])
    /// A `{{NAME}}` placeholder had no value.
    case unresolved(template: String, placeholder: String)

    public var description: String {
        switch self {
        case let .directoryNotFound(places): return "no templates directory found (looked in \(places.joined(separator: ", "))); set VM_TEMPLATES"
        case let .unresolved(template, placeholder): return "template \(template): no value for {{\(placeholder)}}"
        }
    }
}

/// The directory holding the files `vm` renders (`host/`, `guest/` ...).
///
/// Found from `VM_TEMPLATES`, next to the executable's source tree (`<exe dir>/../../templates`, also one level
/// further up for SwiftPM's triple-named build folder), an install prefix (`<exe dir>/../share/vm/templates`)
/// or `/usr/share/vm/templates`. Templates are files of this machine, not of the ``HostRoot``.
public struct TemplateDirectory: Sendable, Hashable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// The places searched, in order.
    public static func candidates(environment: [String: String] = ProcessEnvironment.current,
                                  executablePath: String? = RunningExecutable.path) -> [String] {
        var places: [String] = []
        if let value = environment["VM_TEMPLATES"], !value.isEmpty { places.append(value) }
        if let executablePath {
            let directory = URL(fileURLWithPath: executablePath).deletingLastPathComponent()
            for relative in ["../../templates", "../../../templates", "../share/vm/templates"] {
                places.append(directory.appendingPathComponent(relative).standardizedFileURL.path)
            }
        }
        places.append("/usr/share/vm/templates")
        return places
    }

    /// The first candidate that is a directory.
    public static func locate(environment: [String: String] = ProcessEnvironment.current,
                              executablePath: String? = RunningExecutable.path) throws -> TemplateDirectory {
        let places = candidates(environment: environment, executablePath: executablePath)
        var isDirectory = false
        guard let found = places.first(where: { FileManager.default.fileExists(atPath: $0, isDirectory: &isDirectory) && isDirectory }) else {
            throw TemplateError.directoryNotFound(places)
        }
        return TemplateDirectory(path: found)
    }

    /// The text of `relative` (e.g. `host/vm-vfio.conf`).
    public func load(_ relative: String) throws -> String {
        let file = path + "/" + relative
        return String(decoding: try FileAccess.read(file), as: UTF8.self)
    }

    /// Loads and renders `relative` with `values`.
    public func render(_ relative: String, _ values: [String: String]) throws -> String {
        try Template.render(try load(relative), values, name: relative)
    }
}

/// `{{NAME}}` substitution. Pure.
public enum Template {
    /// Replaces every `{{NAME}}` with `values[NAME]`; a placeholder without a value is an error.
    public static func render(_ text: String, _ values: [String: String], name: String = "template") throws -> String {
        var output = ""
        var rest = text[...]
        while let open = rest.firstRange(of: "{{") {
            output += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstRange(of: "}}") else {
                rest = rest[open.lowerBound...]
                break
            }
            let key = String(rest[open.upperBound..<close.lowerBound])
            guard let value = values[key] else { throw TemplateError.unresolved(template: name, placeholder: key) }
            output += value
            rest = rest[close.upperBound...]
        }
        return output + rest
    }
}
