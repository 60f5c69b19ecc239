import ArgumentParser
import Testing
@testable import Commands
import QMP

/// Every command in the tree, with its path from the root.
private func allCommands(_ command: any ParsableCommand.Type = RootCommand.self, path: [String] = []) -> [([String], any ParsableCommand.Type)] {
    let name = command.configuration.commandName ?? "?"
    let here = path + [name]
    return [(here, command)] + command.configuration.subcommands.flatMap { allCommands($0, path: here) }
}

@Test func everyCommandHasANameAndAnAbstractAndUniqueSiblings() {
    for (path, command) in allCommands() {
        let configuration = command.configuration
        let name = configuration.commandName ?? ""
        let abstract = configuration.abstract
        let names = configuration.subcommands.map { $0.configuration.commandName ?? "" }
        #expect(!name.isEmpty, "\(path)")
        #expect(!abstract.isEmpty, "\(path.joined(separator: " ")) has no abstract")
        #expect(Set(names).count == names.count, "duplicate subcommand under \(path)")
    }
}

@Test func everyCommandRendersItsHelp() {
    for (path, command) in allCommands() {
        let help = RootCommand.helpMessage(for: command, columns: 100)
        #expect(help.contains("USAGE: \(path.joined(separator: " "))"), "\(path)")
    }
}

@Test(arguments: [
    (["up", "win11", "--paused"], "up"), (["down", "win11", "--timeout", "5", "--force"], "down"),
    (["status", "win11", "--json"], "status"), (["list"], "list"), (["qemu-args", "w", "--shell"], "qemu-args"),
    (["gpu", "attach", "w", "--gpu", "1", "--dry-run"], "attach"), (["gpu", "recover", "w"], "recover"),
    (["session", "run", "s.toml", "--json"], "run"), (["config", "check", "w"], "check"),
])
func commandLinesParseToTheirCommand(arguments: [String], expected: String) throws {
    let command = try RootCommand.parseAsRoot(arguments)
    let name = type(of: command).configuration.commandName
    #expect(name == expected)
}

@Test(arguments: [["up"], ["down", "w", "--timeout", "soon"], ["gpu", "attach", "w", "--gpu", "x"], ["init", "bad/name"], ["init", "w", "--gpu", "5:00"]])
func badCommandLinesAreRefused(arguments: [String]) {
    #expect(throws: (any Error).self) { _ = try RootCommand.parseAsRoot(arguments) }
}

@Test func shellQuotingIsCopyPasteable() {
    #expect(QEMUArgsCommand.shellQuoted("-machine") == "-machine")
    #expect(QEMUArgsCommand.shellQuoted("console=ttyS0 quiet") == "'console=ttyS0 quiet'")
    #expect(QEMUArgsCommand.shellQuoted("it's") == #"'it'\''s'"#)
    #expect(QEMUArgsCommand.shellQuoted("") == "''")
}

@Test func qmpInvocationsReadLikeQMPShell() throws {
    #expect(try QMPInvocation.parse(words: ["win11", "query-status"], socket: nil, json: nil, events: false)
        == QMPInvocation(target: .vm("win11"), command: .init(name: "query-status", arguments: nil)))
    let add = try QMPInvocation.parse(words: ["device_add", "driver=ES1370", "id=a", "multifunction=true"], socket: "/s", json: nil, events: false)
    #expect(add.target == .socket("/s"))
    #expect(add.command?.arguments == ["driver": "ES1370", "id": "a", "multifunction": true])
    #expect(try QMPInvocation.parse(words: ["w"], socket: nil, json: #"{"execute":"stop"}"#, events: false).command?.name == "stop")
    #expect(try QMPInvocation.parse(words: ["w"], socket: nil, json: nil, events: true).command == nil)
    #expect(throws: QMPInvocation.Problem.noTarget) { try QMPInvocation.parse(words: [], socket: nil, json: nil, events: false) }
    #expect(throws: QMPInvocation.Problem.nothingToDo) { try QMPInvocation.parse(words: ["w"], socket: nil, json: nil, events: false) }
    #expect(throws: QMPInvocation.Problem.jsonAndWords) { try QMPInvocation.parse(words: ["w", "stop"], socket: nil, json: "{}", events: false) }
    #expect(throws: QMPInvocation.Problem.badJSON("expected an object with \"execute\"")) {
        try QMPInvocation.parse(words: ["w"], socket: nil, json: #"{"run":"stop"}"#, events: false)
    }
}
