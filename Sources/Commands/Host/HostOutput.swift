import ArgumentParser
import FoundationEssentials
import Glibc
import HostLinux

/// Flags shared by the host commands.
struct HostOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    /// The host file system over `VM_HOST_ROOT` (default `/`).
    func fileSystem() -> RootedFileSystem {
        RootedFileSystem(root: HostRoot.fromEnvironment())
    }
}

/// A host command that cannot go on: printed as `Error: ...`, exit status 1, no usage text.
struct HostCommandError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// JSON output for the host commands: pretty, sorted keys, one document on stdout.
enum HostOutput {
    static func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// Runs `commands` on the real host, or prints them when the root is not `/`. Fails on the first non-zero exit.
    static func runAfterwards(_ commands: [[String]], root: HostRoot, runner: any HostCommandRunner = ProcessCommandRunner()) throws {
        for command in commands {
            let line = command.joined(separator: " ")
            guard root.isSystemRoot else {
                print("not run (host root is \(root.path)): \(line)")
                continue
            }
            print("running: \(line)")
            let result = try runner.run(command, timeout: .seconds(600))
            if !result.standardOutput.isEmpty { print(result.standardOutput, terminator: "") }
            guard result.status == 0 else {
                throw HostCommandError("\(line) failed (exit \(result.status)): \(result.standardError)")
            }
        }
    }
}
