import ArgumentParser
import FoundationEssentials
import Glibc
import VMCore

/// `vm log NAME`
struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log", abstract: "Show a VM's serial console output (or QEMU's own messages).",
        discussion: """
            EXAMPLES:
              vm log win11
              vm log win11 -n 20 --follow
              vm log win11 --qemu
            """)

    @Argument(help: VMNames.help, completion: VMNames.completion)
    var name: String

    @Flag(help: "Show QEMU's messages instead of the guest's serial console.")
    var qemu = false

    @Flag(name: .shortAndLong, help: "Keep printing what is appended, until Ctrl-C.")
    var follow = false

    @Option(name: [.customShort("n"), .long], help: ArgumentHelp("Show only the last N lines.", valueName: "N"))
    var lines: Int?

    func validate() throws {
        if let lines, lines < 0 { throw ValidationError("--lines must be 0 or more") }
    }

    func run() async throws {
        let loaded = try CommandSupport.loader.load(name)
        let path = qemu ? loaded.paths.qemuLog : loaded.paths.serialLog
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw CommandFailure("no log at \(path) yet; `vm up \(loaded.spec.name)` creates it")
        }
        defer { close(descriptor) }
        let text = Data(try FileAccess.readToEnd(descriptor, path: path))
        StandardStream.output.write(lines.map { Self.lastLines(of: text, count: $0) } ?? text)
        while follow {
            try await Task.sleep(for: .milliseconds(200))
            let more = try FileAccess.readToEnd(descriptor, path: path)
            if !more.isEmpty { StandardStream.output.write(more) }
        }
    }

    /// The last `count` lines of `text` (a last line without its newline counts as a line).
    static func lastLines(of text: Data, count: Int) -> Data {
        guard count > 0 else { return Data() }
        let bytes = [UInt8](text)
        var end = bytes.count
        if end > 0, bytes[end - 1] == UInt8(ascii: "\n") { end -= 1 }
        var seen = 0
        var index = end
        while index > 0 {
            if bytes[index - 1] == UInt8(ascii: "\n") {
                seen += 1
                if seen == count { return Data(bytes[index...]) }
            }
            index -= 1
        }
        return text
    }
}
