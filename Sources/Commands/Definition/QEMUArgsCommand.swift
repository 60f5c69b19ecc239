import ArgumentParser
import QEMU

/// `vm qemu-args NAME`
struct QEMUArgsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qemu-args", abstract: "Print the QEMU command line `vm up` would run, one argument per line.",
        discussion: """
        EXAMPLES:
          vm qemu-args win11
          vm qemu-args win11 --shell
          vm qemu-args win11 --install
        """)

    @Argument(help: VMNames.help, completion: VMNames.completion)
    var name: String

    @Flag(help: "Print one copy-pasteable, shell-quoted line instead.")
    var shell = false

    @Flag(help: "The command line of `vm up --install`.")
    var install = false

    func run() async throws {
        var loaded = try CommandSupport.loadResolved(name)
        if install { loaded = try UpCommand.installation(loaded) }
        let arguments = [QEMUCommandLine.executable] + (try QEMUCommandLine.arguments(for: loaded.spec, paths: loaded.paths))
        print(shell ? arguments.map(Self.shellQuoted).joined(separator: " ") : arguments.joined(separator: "\n"))
    }

    /// POSIX shell quoting: bare when safe, else single quotes with `'` written as `'\''`.
    static func shellQuoted(_ word: String) -> String {
        let safe = word.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0)) }
        if safe, !word.isEmpty { return word }
        return "'" + word.replacing("'", with: "'\\''") + "'"
    }
}
