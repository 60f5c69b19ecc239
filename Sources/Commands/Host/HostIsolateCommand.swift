import ArgumentParser
import HostLinux
import VMCore

/// `vm host isolate SLOT`: keep the host drivers off a GPU from the next boot on (plan, apply, undo).
public struct HostIsolateCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "isolate",
        abstract: "Plan (default), apply or undo the boot-time isolation of a GPU slot from the host drivers.",
        discussion: """
        Without --apply the plan is only shown as a diff. --apply backs up every file it changes and records them in \
        /var/lib/vm/host-isolation.json; --undo restores them exactly. Boot commands (update-grub, update-initramfs) \
        run only when the host root is /.

        EXAMPLES:
          vm host isolate 0000:05:00
          sudo vm host isolate 0000:05:00 --apply
          sudo vm host isolate --undo
        """
    )

    @Argument(help: "The GPU slot, e.g. 0000:05:00 or 05:00.", completion: Completions.gpuSlots)
    var slot: String?

    @Flag(help: "Write the plan (otherwise a dry run).")
    var apply = false

    @Flag(help: "Restore the files changed by the last --apply.")
    var undo = false

    @Flag(help: "Isolate even a group with the boot disk, the network card in use, the only display or other devices.")
    var force = false

    @OptionGroup var options: HostOptions

    public init() {}

    public func validate() throws {
        if undo && (apply || slot != nil) { throw ValidationError("--undo takes no slot and no --apply") }
        if !undo && slot == nil { throw ValidationError("give the GPU slot to isolate (see `vm gpu list`)") }
        if let slot, PCISlot(slot) == nil { throw ValidationError("not a PCI slot: \(slot) (expected 0000:05:00)") }
    }

    public func run() throws {
        let fileSystem = options.fileSystem()
        let applier = IsolationApplier(fileSystem: fileSystem)
        if undo {
            let manifest = try applier.undo()
            if options.json { try HostOutput.printJSON(manifest) }
            else { print("restored \(manifest.entries.map(\.path).joined(separator: ", "))") }
            try HostOutput.runAfterwards(manifest.commands, root: fileSystem.root)
            return
        }
        let planner = IsolationPlanner(templates: try TemplateDirectory.locate())
        let plan: IsolationPlan
        do {
            plan = try planner.plan(try IsolationInputs.read(fileSystem, slot: PCISlot(slot!)!), force: force)
        } catch let refusal as IsolationRefusal where refusal.overridable {
            throw HostCommandError("\(refusal)\n(--force goes on anyway)")
        }
        if options.json {
            try HostOutput.printJSON(plan)
        } else {
            print("Isolating \(plan.slot) (\(plan.functions.map(\.description).joined(separator: ", "))) with \(plan.method.rawValue)")
            for refusal in plan.overriddenRefusals { print("forced past: \(refusal)") }
            if !plan.kernelArguments.isEmpty { print("kernel arguments: \(plan.kernelArguments.joined(separator: " "))") }
            print(plan.diff, terminator: "")
            for command in plan.commands { print("then: \(command.joined(separator: " "))") }
            for note in plan.notes { print("note: \(note)") }
        }
        guard apply else {
            if !options.json { print(plan.changes.isEmpty ? "nothing to change" : "dry run: nothing written (add --apply)") }
            return
        }
        guard !plan.changes.isEmpty else { return }
        try applier.apply(plan)
        if !options.json { print("written; undo with: vm host isolate --undo") }
        try HostOutput.runAfterwards(plan.commands, root: fileSystem.root)
    }
}
