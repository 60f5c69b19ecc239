import ArgumentParser

/// `vm version`
struct VersionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version", abstract: "Print the version of vm.",
        discussion: """
            `vm --version` prints the same version alone.

            EXAMPLES:
              vm version
              vm version --json
            """)

    @Flag(name: .long, help: "Print machine-readable JSON.")
    var json = false

    func run() async throws {
        if json { return try CommandSupport.printJSON(["name": "vm", "version": VMVersion.current]) }
        print("vm \(VMVersion.current)")
    }
}
