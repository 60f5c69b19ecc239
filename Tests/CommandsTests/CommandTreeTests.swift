import Foundation
import ArgumentParser
import Testing
@testable import Commands
import QMP
import VMCore

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
    (["gpu", "release-plan", "w"], "release-plan"), (["up", "w", "--force"], "up"),
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
    #expect(try QMPInvocation.parse(words: ["win11", "query-status"], socket: nil, execute: nil, events: false)
        == QMPInvocation(target: .vm("win11"), command: .init(name: "query-status", arguments: nil)))
    let add = try QMPInvocation.parse(words: ["device_add", "driver=ES1370", "id=a", "multifunction=true"], socket: "/s", execute: nil, events: false)
    #expect(add.target == .socket("/s"))
    #expect(add.command?.arguments == ["driver": "ES1370", "id": "a", "multifunction": true])
    #expect(try QMPInvocation.parse(words: ["w"], socket: nil, execute: #"{"execute":"stop"}"#, events: false).command?.name == "stop")
    #expect(try QMPInvocation.parse(words: ["w"], socket: nil, execute: nil, events: true).command == nil)
    #expect(throws: QMPInvocation.Problem.noTarget) { try QMPInvocation.parse(words: [], socket: nil, execute: nil, events: false) }
    #expect(throws: QMPInvocation.Problem.nothingToDo) { try QMPInvocation.parse(words: ["w"], socket: nil, execute: nil, events: false) }
    #expect(throws: QMPInvocation.Problem.objectAsCommand) {
        try QMPInvocation.parse(words: [#"{"execute":"stop"}"#], socket: "/s", execute: nil, events: false)
    }
    #expect(throws: QMPInvocation.Problem.jsonAndWords) { try QMPInvocation.parse(words: ["w", "stop"], socket: nil, execute: "{}", events: false) }
    #expect(throws: QMPInvocation.Problem.badJSON("expected an object with \"execute\"")) {
        try QMPInvocation.parse(words: ["w"], socket: nil, execute: #"{"run":"stop"}"#, events: false)
    }
}

/// The example lines of a command's help: the indented lines after "EXAMPLES:", without their
/// `# comments`.
private func examples(of command: any ParsableCommand.Type) -> [String] {
    let discussion = command.configuration.discussion
    guard let start = discussion.range(of: "EXAMPLES:\n") else { return [] }
    return discussion[start.upperBound...].split(separator: "\n").prefix { $0.hasPrefix("  ") }
        .map { line in (line.range(of: " # ").map { line[..<$0.lowerBound] } ?? line).trimmingCharacters(in: .whitespaces) }
}

/// Shell words of a simple command line: spaces separate, single quotes group.
private func shellWords(_ line: Substring) -> [String] {
    var words: [String] = [], word = "", quoted = false, started = false
    for character in line {
        if character == "'" { quoted.toggle(); started = true; continue }
        if character == " ", !quoted {
            if started { words.append(word) }
            word = ""
            started = false
            continue
        }
        word.append(character)
        started = true
    }
    if started { words.append(word) }
    return words
}

@Test func everyCommandShowsExamplesThatParse() throws {
    for (path, command) in allCommands() {
        let lines = examples(of: command)
        let name = path.joined(separator: " ")
        #expect(!lines.isEmpty, "\(name) has no EXAMPLES: in its help")
        for line in lines {
            guard let start = line.range(of: "vm ") else {
                Issue.record("\(name): example \(line) does not run vm")
                continue
            }
            let invocation = line[start.lowerBound...]
            #expect(invocation.hasPrefix(name), "\(name): example \(line) is of another command")
            let words = shellWords(invocation).dropFirst()
            #expect(throws: Never.self, "\(name): example \(line)") { _ = try RootCommand.parseAsRoot(Array(words)) }
        }
    }
}

@Test func theExitCodesAreDocumented() throws {
    let help = RootCommand.configuration.discussion
    let readme = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("README.md"), encoding: .utf8)
    for phrase in ["0 success", "1 a run-time failure", "64 a wrong command line", "`vm down` 3, 4 or 5"] {
        #expect(help.contains(phrase), "vm --help lacks \(phrase)")
        #expect(readme.contains(phrase), "README.md lacks \(phrase)")
    }
}

@Test func misspeltVerbsGetTheClosestOne() {
    #expect(UnknownCommand.find(in: ["stauts"])?.contains("Did you mean 'status'?") == true)
    #expect(UnknownCommand.find(in: ["gpu", "lst", "--json"])?.contains("Did you mean 'list'?") == true)
    #expect(UnknownCommand.find(in: ["help", "foo"])?.hasPrefix("Unknown help topic 'foo'") == true)
    #expect(UnknownCommand.find(in: ["status", "anything"]) == nil)
    #expect(UnknownCommand.find(in: ["gpu", "list", "extra"]) == nil)
    #expect(UnknownCommand.find(in: ["--version"]) == nil)
    #expect(UnknownCommand.find(in: ["gpu", "help"]) == nil)
    #expect(UnknownCommand.find(in: []) == nil)
    #expect(UnknownCommand.find(in: [""]) == "Unknown command ''. `vm --help` lists the commands.")
    #expect(UnknownCommand.find(in: ["help", "help"]) == nil)
}

@Test func vmRmKeepsReadOnlySharedAndDeviceDisks() throws {
    let layout = StateLayout(definitionDirectories: ["/defs"], runtimeRoot: "/run/vm", stateRoot: "/state")
    let spec = try DefinitionParser(file: "/defs/w.toml", fileExists: { _ in true }).parse("""
        accelerator = "tcg"
        [firmware]
        type = "bios"
        [[disk]]
        path = "/img/own.qcow2"
        [[disk]]
        path = "/img/base.qcow2"
        readonly = true
        [[disk]]
        path = "/img/shared.qcow2"
        [[disk]]
        path = "/dev/sdb"
        format = "raw"
        """)
    let loaded = LoadedDefinition(file: "/defs/w.toml", spec: spec, paths: layout.paths(for: spec.name))
    let plan = RemovalPlan.make(loaded, keepDisks: false, otherDisks: ["/img/shared.qcow2"], isRegularFile: { $0.hasPrefix("/img/") })
    #expect(plan.paths == ["/img/own.qcow2", "/state/w", "/run/vm/w", "/defs/w.toml"])
    #expect(plan.keptDisks.map(\.reason) == ["read-only in the definition", "another definition uses it", "not a regular file (a device, or missing)"])
    let keeping = RemovalPlan.make(loaded, keepDisks: true, otherDisks: [], isRegularFile: { _ in true })
    #expect(keeping.paths == ["/state/w", "/run/vm/w", "/defs/w.toml"] && keeping.keptDisks.count == 4)
}
