import ArgumentParser
import QEMU

/// `vm gpu release-plan NAME`
struct GPUReleasePlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release-plan",
        abstract: "Print, in order, how `vm up` (or `vm gpu attach`, plug = \"hot\") would take a host = \"release\" GPU from the host, and the way back; change nothing.",
        discussion: """
        The plan is read from the host as it is now: the display manager (display-manager.service or the definition's), \
        the virtual consoles on a framebuffer, the firmware framebuffer on the boot display, the NVIDIA modules \
        (unload_nvidia = true) and the functions' drivers.

        EXAMPLES:
          vm gpu release-plan win11
        """)

    @Argument(help: VMNames.help, completion: VMNames.completion)
    var name: String

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let machine = try CommandSupport.machine(CommandSupport.loadResolved(name), logger: CommandSupport.logger(debug: global.debug))
        guard let plan = try machine.releasePlan() else {
            throw CommandFailure("\(machine.spec.name) has no GPU the host gives up; add host = \"release\" to the [[gpu]] that drives the desktop")
        }
        if global.json { return try CommandSupport.printJSON(plan.lines) }
        for line in plan.lines { print(line) }
    }
}
