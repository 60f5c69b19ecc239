import QMP
import VMCore

extension QEMUMachine: VMWatching {
    /// Follows the events on the VM's QMP socket (served by its supervisor) until `name` comes;
    /// the socket closing first means QEMU ended.
    public func waitForEvent(named name: String) async throws {
        let client = try await QMPClient.connect(path: qmpSocket)
        defer { client.close() }
        for await _ in client.events(matching: .named(name)) { return }
        try Task.checkCancellation()
        throw VMWaitError.stoppedFirst(name: spec.name.rawValue, event: name)
    }
}
