import ArgumentParser
import VMCore

/// `vm config check NAME`
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Work with VM definition files.",
        discussion: """
        EXAMPLES:
          vm config check win11
        """,
        subcommands: [Check.self])

    /// `vm config check NAME`
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check", abstract: "Validate a definition; every problem is shown with file, line, key and fix.",
            discussion: """
            EXAMPLES:
              vm config check win11
              vm config check ./vms/linux.toml
            """)

        @Argument(help: VMNames.help, completion: VMNames.completion)
        var name: String

        func run() async throws {
            let loaded = try CommandSupport.loader.load(name)
            let spec = CommandSupport.resolve(loaded.spec)
            print("\(loaded.file): ok (\(spec.name): \(spec.cpu.count) vCPUs, \(spec.memoryMiB) MiB, \(spec.gpus.count) GPU(s), network \(spec.network.mode.rawValue))")
            for (index, gpu) in spec.gpus.enumerated() where gpu.functions.isEmpty {
                print("warning: gpu[\(index)] slot \(gpu.slot.map(\.description) ?? "?") has no functions on this host")
            }
            if spec.firmware.kind == .ovmf, spec.firmware.code == nil {
                print("warning: no OVMF firmware found on this host; install the `ovmf` package or set [firmware] code")
            }
        }
    }
}
