import Synchronization
import VMCore

/// The definition that `vm up NAME` names, read and resolved on the host by a task of its own
/// while swift-argument-parser parses the command line: on `vm up`'s way to starting QEMU the parse
/// takes about 2 ms of reflection and the definition about 0.5 ms, and the second CPU is free
/// meanwhile. `vm up` then takes it from here. Reading has no side effects; a command line that
/// turns out to be something else only wasted the read.
enum DefinitionPrefetch {
    private static let started = Mutex<(name: String, read: Task<Result<LoadedDefinition, any Error>, Never>)?>(nil)

    /// Starts reading when `arguments` (without the program name) begin with `up NAME`.
    static func start(for arguments: [String]) {
        guard arguments.count >= 2, arguments[0] == UpCommand.configuration.commandName, !arguments[1].hasPrefix("-") else { return }
        let name = arguments[1]
        let read = Task.detached { Result { try CommandSupport.loadResolved(name) } }
        started.withLock { $0 = (name, read) }
    }

    /// The name whose definition was last read ahead.
    static var nameReadAhead: String? { started.withLock { $0?.name } }

    /// `name`'s definition, loaded and resolved: the one read ahead when it is that name's, else read now.
    static func loadResolved(_ name: String) async throws -> LoadedDefinition {
        if let ahead = started.withLock({ $0 }), ahead.name == name { return try await ahead.read.value.get() }
        return try CommandSupport.loadResolved(name)
    }
}
