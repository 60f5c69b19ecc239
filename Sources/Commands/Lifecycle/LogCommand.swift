import ArgumentParser
import Foundation

/// `vm log NAME`
struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log", abstract: "Show a VM's serial console output (or QEMU's own messages).")

    @Argument(help: "The VM name or a path to its definition.")
    var name: String

    @Flag(help: "Show QEMU's messages instead of the guest's serial console.")
    var qemu = false

    @Flag(name: .shortAndLong, help: "Keep printing what is appended, until Ctrl-C.")
    var follow = false

    func run() async throws {
        let loaded = try CommandSupport.loader.load(name)
        let path = qemu ? loaded.paths.qemuLog : loaded.paths.serialLog
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ValidationError("no log at \(path) yet; `vm up \(loaded.spec.name)` creates it")
        }
        defer { try? handle.close() }
        FileHandle.standardOutput.write(handle.readDataToEndOfFile())
        while follow {
            try await Task.sleep(for: .milliseconds(200))
            let more = handle.readDataToEndOfFile()
            if !more.isEmpty { FileHandle.standardOutput.write(more) }
        }
    }
}
