import ArgumentParser
import Handover
import VMCore

/// The VM of `vm gpu attach|detach|recover`, found wherever it runs.
struct GPUVMOptions: ParsableArguments {
    @Argument(help: VMNames.help, completion: VMNames.completion)
    var name: String

    @OptionGroup var global: GlobalOptions

    @OptionGroup var backendOptions: BackendOptions

    /// The VM on the backend `--backend`/`--connect` chose, else wherever it runs
    /// (``BackendOptions/locate(_:logger:)``); says so when that is not where its definition says.
    func backend() throws -> any GPUSwapping {
        let (location, machine) = try backendOptions.locate(CommandSupport.loadResolved(name), logger: CommandSupport.logger(debug: global.debug))
        if let note = location.note, !global.json { Swift.print("\(name) \(note)") }
        return machine
    }
}

/// Flags shared by `vm gpu attach|detach`.
struct GPUSwapOptions: ParsableArguments {
    @OptionGroup var vm: GPUVMOptions

    @Option(help: "Which [[gpu]] of the definition (0 is the first).")
    var gpu: Int = 0

    func print(_ report: SwapReport, verb: String) throws {
        if vm.global.json { return try CommandSupport.printJSON(report) }
        for step in report.steps { Swift.print("  \(step)") }
        Swift.print("gpu[\(report.gpu)] \(verb): \(report.devices.joined(separator: ", "))")
        Swift.print(PrintfFormat.string("  own work %.1f ms, waiting on the hypervisor and the guest %.1f ms",
                           report.ownWorkMilliseconds, report.waitingMilliseconds))
    }
}

/// `vm gpu attach NAME`
struct GPUAttachCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Hand a GPU (every function of it) from the host to the running guest.",
        discussion: """
        QEMU backend: binds each function to vfio-pci, then device_add (function 0 last); every step is journaled and `vm gpu recover` finishes or rolls back an interrupted swap. A GPU with host = "release" (the host's display) is released from the host first: the desktop stopped, its processes waited for, the framebuffer consoles and firmware framebuffer unbound, the NVIDIA modules unloaded when asked; `vm gpu detach`, the end of the VM or `vm gpu recover` give it back. libvirt backend (--backend libvirt / --connect URI): libvirt switches the drivers (managed hostdevs, one root port per function); a failed attach is undone at once.

        EXAMPLES:
          vm gpu attach win11
          vm gpu attach win11 --gpu 1 --json
        """)

    @OptionGroup var options: GPUSwapOptions

    @Flag(help: "Continue although host processes hold the card (host = \"release\": end them with SIGTERM, then SIGKILL).")
    var force = false

    @Flag(help: "Print the plan; change nothing.")
    var dryRun = false

    func run() async throws {
        let machine = try options.vm.backend()
        if dryRun {
            for line in try machine.plan(attach: options.gpu) { print(line) }
            return
        }
        try options.print(try await machine.attach(gpu: options.gpu, force: force), verb: "is in the guest")
    }
}

/// `vm gpu detach NAME`
struct GPUDetachCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detach",
        abstract: "Take a GPU back from the running guest and return it to its host drivers.",
        discussion: """
        A GPU with host = "release" then goes back to the host as it was: its drivers, the modules, the \
        firmware framebuffer, the virtual consoles and the desktop.

        EXAMPLES:
          vm gpu detach win11
        """)

    @OptionGroup var options: GPUSwapOptions

    @Flag(help: "Print the plan; change nothing.")
    var dryRun = false

    func run() async throws {
        let machine = try options.vm.backend()
        if dryRun {
            for line in try machine.plan(detach: options.gpu) { print(line) }
            return
        }
        try options.print(try await machine.detach(gpu: options.gpu), verb: "is back on the host")
    }
}

/// `vm gpu recover NAME`
struct GPURecoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recover",
        abstract: "Finish or roll back an interrupted GPU swap so that no function is left without its driver.",
        discussion: """
        QEMU backend: from the swap journal. libvirt backend: libvirt gives managed hostdevs back \
        itself; for a shut-off domain, any GPU function left on vfio-pci is re-attached to its host \
        driver (virNodeDeviceReAttach).

        EXAMPLES:
          vm gpu recover win11
        """)

    @OptionGroup var options: GPUVMOptions

    func run() async throws {
        let done = try await options.backend().recover()
        if options.global.json { return try CommandSupport.printJSON(done) }
        for line in done { print(line) }
    }
}
