import ArgumentParser
import FoundationEssentials
import Glibc
import HostLinux
import VMCore

/// `vm edit NAME`
struct EditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edit", abstract: "Edit a definition in $VISUAL or $EDITOR; it is saved only once it is valid.",
        discussion: """
            Like `virsh edit`: the editor gets a copy; when it exits, the copy is checked as \
            `vm config check` does. A valid copy replaces the definition; with a problem, vm shows \
            it and asks whether to edit again (no: the definition stays as it was, exit 1). The \
            editor is $VISUAL, else $EDITOR, else vi; its words are split at spaces (no shell). A \
            running VM sees the change at its next `vm up`.

            EXAMPLES:
              vm edit win11
              EDITOR=nano vm edit win11
            """)

    @Argument(help: VMNames.help, completion: VMNames.completion)
    var name: String

    func run() async throws {
        let file = try CommandSupport.loader.locate(name)
        let original: String
        do {
            original = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw CommandFailure("cannot read \(file): \(FileAccessError.reason(of: error))")
        }
        let copy = try Self.temporaryCopy(of: original, name: DefinitionParser.stem(of: file))
        var keepCopy = false
        defer { if !keepCopy { try? FileManager.default.removeItem(atPath: copy) } }
        let editor = Self.editorCommand(ProcessInfo.processInfo.environment)
        while true {
            try Self.runEditor(editor, on: copy)
            let edited = (try? String(contentsOfFile: copy, encoding: .utf8)) ?? ""
            if edited == original { return print("\(file) unchanged") }
            do {
                _ = try DefinitionParser(file: file, fileExists: { FileManager.default.fileExists(atPath: $0) }).parse(edited)
            } catch {
                StandardStream.error.write("\(error)\n")
                print("Edit again? [Y/n] ", terminator: "")
                fflush(nil)
                guard let answer = readLine(), !["n", "no"].contains(answer.lowercased()) else {
                    throw CommandFailure("\(file) is unchanged; the edit had the problems above")
                }
                continue
            }
            do {
                try edited.write(toFile: file, atomically: true, encoding: .utf8)
            } catch {
                keepCopy = true
                throw CommandFailure("cannot write \(file): \(FileAccessError.reason(of: error)); your edit is in \(copy)")
            }
            return print("saved \(file)")
        }
    }

    /// The editor's words: `$VISUAL`, else `$EDITOR`, else `vi`, split at whitespace.
    static func editorCommand(_ environment: [String: String]) -> [String] {
        for key in ["VISUAL", "EDITOR"] {
            let words = (environment[key] ?? "").split(whereSeparator: \.isWhitespace).map(String.init)
            if !words.isEmpty { return words }
        }
        return ["vi"]
    }

    private static func temporaryCopy(of text: String, name: String) throws -> String {
        let folder = PrivateTemporaryDirectory.base
        var template = Array("\(folder)/vm-edit-\(name)-XXXXXX.toml".utf8CString)
        let descriptor = mkstemps(&template, 5)
        guard descriptor >= 0 else { throw CommandFailure("cannot make a temporary copy in \(folder): \(String(cString: strerror(errno))); set TMPDIR to a writable folder") }
        close(descriptor)
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    private static func runEditor(_ editor: [String], on path: String) throws {
        let child: ChildProcess
        do {
            child = try ChildProcess(["/usr/bin/env"] + editor + [path], standardInput: .inherit, standardOutput: .inherit,
                                     standardError: .inherit, newProcessGroup: false)
        } catch {
            throw CommandFailure("cannot start the editor \(editor.joined(separator: " ")): \(error); set EDITOR")
        }
        let exit = child.waitForExit()
        guard exit == .exited(0) else {
            throw CommandFailure("the editor \(editor[0]) failed (\(exit.map(\.description) ?? "no status")); the definition is unchanged")
        }
    }
}
