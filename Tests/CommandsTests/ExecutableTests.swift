import Foundation
import GuestSupport
import HostLinuxFakes
import Subprocess
import SystemPackage
import Testing
import VMCore
@testable import Commands

/// What a run of the built `vm` printed and how it ended.
struct VMRun {
    var status: TerminationStatus
    var output: String
    var error: String

    /// Runs the built `vm` with `arguments` against the folders of `scratch`, with `input` on its stdin.
    static func run(_ arguments: [String], in scratch: Scratch, input: String = "") async throws -> VMRun {
        let result = try await Subprocess.run(.path(FilePath(try BuiltExecutable.path("vm"))), arguments: Arguments(arguments),
                                              environment: scratch.environment, input: .string(input),
                                              output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        return VMRun(status: result.terminationStatus, output: result.standardOutput, error: result.standardError)
    }

    /// Runs the built `vm` on a pseudo-terminal (util-linux `script`); its output and errors
    /// both arrive in `output`.
    static func onTerminal(_ arguments: [String], in scratch: Scratch) async throws -> VMRun {
        let line = try ([BuiltExecutable.path("vm")] + arguments).map(QEMUArgsCommand.shellQuoted).joined(separator: " ")
        let result = try await Subprocess.run(.name("script"), arguments: ["-qfec", line, "/dev/null"], environment: scratch.environment,
                                              output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        return VMRun(status: result.terminationStatus, output: result.standardOutput, error: result.standardError)
    }
}

/// A scratch folder with one stopped VM, `demo`.
private func scratchWithDemo() throws -> Scratch {
    let scratch = try Scratch()
    _ = try scratch.define("demo", """
        accelerator = "tcg"
        [firmware]
        type = "bios"
        """)
    return scratch
}

/// Run-time failures: exit 1 and one line that says what and the fix, never the usage.
@Test(arguments: [
    ["init", "demo"],
    ["log", "demo"],
    ["log", "demo", "-n", "3"],
    ["guest", "ping", "demo"],
    ["session", "stop", "demo"],
    ["session", "run", "/nonexistent.toml"],
    ["console", "demo"],
    ["pause", "demo"],
    ["reboot", "demo"],
    ["status", "nosuch"],
])
func runTimeFailuresExitWithOneLine(arguments: [String]) async throws {
    let run = try await VMRun.run(arguments, in: try scratchWithDemo())
    #expect(run.status == .exited(1), "\(arguments): \(run.error)")
    #expect(run.error.hasPrefix("vm: "), "\(run.error)")
    #expect(run.error.split(separator: "\n").count == 1, "\(run.error)")
    #expect(!run.error.contains("USAGE:") && !run.error.contains("Usage:"), "\(run.error)")
}

/// A wrong command line: exit 64, with the closest verb or option.
@Test(arguments: [
    (["stauts"], "Unknown command 'stauts'. Did you mean 'status'?"),
    (["gpu", "lst"], "Unknown command 'lst'. Did you mean 'list'?"),
    (["upp", "demo"], "Unknown command 'upp'. Did you mean 'up'?"),
    (["help", "gpu", "lst"], "Unknown help topic 'lst'. Did you mean 'list'?"),
    (["help", "zzzzzz"], "Unknown help topic 'zzzzzz'."),
    (["status", "demo", "--jsn"], "Did you mean '--json'?"),
    (["log", "demo", "--lines=-1"], "--lines must be 0 or more"),
])
func wrongCommandLinesExit64WithASuggestion(arguments: [String], expected: String) async throws {
    let run = try await VMRun.run(arguments, in: try scratchWithDemo())
    #expect(run.status == .exited(64), "\(arguments): \(run.error)")
    #expect(run.error.contains(expected), "\(run.error)")
}

@Test(arguments: [["help"], ["help", "gpu", "list"], ["--help"], ["gpu"], ["snapshot", "--help"]])
func helpExitsZeroWithTheHelp(arguments: [String]) async throws {
    let run = try await VMRun.run(arguments, in: try Scratch())
    #expect(run.status == .exited(0), "\(arguments): \(run.error)")
    #expect(run.output.contains("USAGE: vm") && run.error.isEmpty, "\(run.output)\(run.error)")
}

@Test func theVersionComesFromOnePlace() async throws {
    let scratch = try Scratch()
    let flag = try await VMRun.run(["--version"], in: scratch)
    let verb = try await VMRun.run(["version"], in: scratch)
    let json = try await VMRun.run(["version", "--json"], in: scratch)
    #expect(flag.status == .exited(0) && verb.status == .exited(0) && json.status == .exited(0))
    let version = flag.output.trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(version.split(separator: ".").count == 3, "\(flag.output)")
    #expect(verb.output == "vm \(version)\n")
    #expect(json.output.contains("\"version\" : \"\(version)\""), "\(json.output)")
}

@Test func vmLogShowsTheLastLines() async throws {
    let scratch = try scratchWithDemo()
    let directory = "\(scratch.root)/s/demo"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try "one\ntwo\nthree\n".write(toFile: "\(directory)/serial.log", atomically: true, encoding: .utf8)
    #expect(try await VMRun.run(["log", "demo", "-n", "2"], in: scratch).output == "two\nthree\n")
    #expect(try await VMRun.run(["log", "demo", "--lines", "0"], in: scratch).output == "")
    #expect(try await VMRun.run(["log", "demo"], in: scratch).output == "one\ntwo\nthree\n")
}

/// The bash completion script `vm` generates completes the VMs of `VM_HOME`.
@Test func bashCompletionListsTheVMsOfVMHome() async throws {
    let scratch = try scratchWithDemo()
    _ = try scratch.define("other", "accelerator = \"tcg\"\n[firmware]\ntype = \"bios\"\n")
    let script = try await VMRun.run(["--generate-completion-script", "bash"], in: scratch)
    #expect(script.status == .exited(0))
    try script.output.write(toFile: "\(scratch.root)/vm.bash", atomically: true, encoding: .utf8)
    let vm = try BuiltExecutable.path("vm")
    func complete(_ words: [String]) async throws -> [String] {
        let line = "vm " + words.joined(separator: " ")
        let program = """
            source "$1"; shift
            COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="\(line)"; COMP_POINT=${#COMP_LINE}
            _vm "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
            printf '%s\\n' "${COMPREPLY[@]}"
            """
        let result = try await Subprocess.run(.name("bash"), arguments: Arguments(["-c", program, "bash", "\(scratch.root)/vm.bash", vm] + words),
                                              environment: scratch.environment, output: .string(limit: 1 << 16), error: .string(limit: 1 << 16))
        #expect(result.terminationStatus == .exited(0), "\(result.standardError)")
        return result.standardOutput.split(separator: "\n").map(String.init).sorted()
    }
    #expect(try await complete(["status", ""]) == ["demo", "other"])
    #expect(try await complete(["console", "ot"]) == ["other"])
    #expect(try await complete(["up", "demo", "--backend", ""]) == ["libvirt", "qemu"])
    #expect(try await complete(["stat"]) == ["status"])
}

/// `vm rm` asks, deletes the definition, state and disk, and keeps what it must.
@Test func vmRmDeletesWhatItListed() async throws {
    let scratch = try Scratch()
    let disk = "\(scratch.root)/gone.img", shared = "\(scratch.root)/shared.img"
    for image in [disk, shared] { _ = FileManager.default.createFile(atPath: image, contents: Data(count: 4096)) }
    let definition = { (images: [String]) in
        "accelerator = \"tcg\"\n[firmware]\ntype = \"bios\"\n" + images.map { "[[disk]]\npath = \"\($0)\"\nformat = \"raw\"\n" }.joined()
    }
    _ = try scratch.define("old", definition([disk, shared]))
    _ = try scratch.define("keeper", definition([shared]))
    try FileManager.default.createDirectory(atPath: "\(scratch.root)/s/old", withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: "\(scratch.root)/s/old/serial.log", contents: Data("boot\n".utf8))

    let declined = try await VMRun.run(["rm", "old"], in: scratch, input: "n\n")
    #expect(declined.status == .exited(0) && declined.output.contains("nothing deleted"), "\(declined.output)\(declined.error)")
    #expect(declined.output.contains("  \(disk)\n") && declined.output.contains("and keeps \(shared) (another definition uses it)"))
    #expect(FileManager.default.fileExists(atPath: "\(scratch.root)/d/old.toml") && FileManager.default.fileExists(atPath: disk))

    let removed = try await VMRun.run(["rm", "old", "--yes"], in: scratch)
    #expect(removed.status == .exited(0), "\(removed.error)")
    for gone in [disk, "\(scratch.root)/s/old", "\(scratch.root)/d/old.toml"] {
        #expect(!FileManager.default.fileExists(atPath: gone), "\(gone)")
    }
    #expect(FileManager.default.fileExists(atPath: shared) && FileManager.default.fileExists(atPath: "\(scratch.root)/d/keeper.toml"))

    let kept = try await VMRun.run(["rm", "keeper", "--yes", "--keep-disk"], in: scratch)
    #expect(kept.status == .exited(0) && kept.output.contains("kept \(shared)"), "\(kept.output)\(kept.error)")
    #expect(FileManager.default.fileExists(atPath: shared) && !FileManager.default.fileExists(atPath: "\(scratch.root)/d/keeper.toml"))
}

/// `vm edit` saves a valid edit, and keeps the definition when the edit does not parse.
@Test func vmEditSavesOnlyAValidDefinition() async throws {
    let scratch = try scratchWithDemo()
    let file = "\(scratch.root)/d/demo.toml"
    let original = try String(contentsOfFile: file, encoding: .utf8)
    func editor(_ name: String, prepending line: String) throws -> String {
        let path = "\(scratch.root)/\(name)"
        // Close-on-exec (FileAccess): no process another test starts keeps it open for writing (ETXTBSY).
        try FileAccess.write("#!/bin/sh\nsed -i '1i \(line)' \"$1\"\n", to: path, permissions: 0o755)
        return path
    }
    let vm = try BuiltExecutable.path("vm")
    func edit(with editor: String, input: String) async throws -> VMRun {
        let result = try await Subprocess.run(.path(FilePath(vm)), arguments: ["edit", "demo"],
                                              environment: scratch.environment.updating(["VISUAL": "", "EDITOR": editor]),
                                              input: .string(input), output: .string(limit: 1 << 16), error: .string(limit: 1 << 16))
        return VMRun(status: result.terminationStatus, output: result.standardOutput, error: result.standardError)
    }

    // What an earlier, interrupted run may have left in /tmp does not count against this one.
    func temporaryCopies() throws -> Set<String> {
        Set(try FileManager.default.contentsOfDirectory(atPath: "/tmp").filter { $0.hasPrefix("vm-edit-demo-") })
    }
    let before = try temporaryCopies()
    let unchanged = try await edit(with: "true", input: "")
    #expect(unchanged.status == .exited(0) && unchanged.output.contains("unchanged"), "\(unchanged.output)\(unchanged.error)")

    let bad = try await edit(with: try editor("bad.sh", prepending: "memroy = \"1G\""), input: "n\n")
    #expect(bad.status == .exited(1), "\(bad.output)\(bad.error)")
    #expect(bad.error.contains("memroy") && bad.output.contains("Edit again?"), "\(bad.output)\(bad.error)")
    #expect(try String(contentsOfFile: file, encoding: .utf8) == original)

    let good = try await edit(with: try editor("good.sh", prepending: "memory = \"1G\""), input: "")
    #expect(good.status == .exited(0) && good.output.contains("saved \(file)"), "\(good.output)\(good.error)")
    #expect(try String(contentsOfFile: file, encoding: .utf8) == "memory = \"1G\"\n" + original)
    let leftovers = try temporaryCopies().subtracting(before)
    #expect(leftovers.isEmpty, "\(leftovers)")
}

@Test func theEditorComesFromVisualThenEditor() {
    #expect(EditCommand.editorCommand(["VISUAL": "code --wait", "EDITOR": "nano"]) == ["code", "--wait"])
    #expect(EditCommand.editorCommand(["VISUAL": " ", "EDITOR": "nano"]) == ["nano"])
    #expect(EditCommand.editorCommand([:]) == ["vi"])
}

/// The completion of GPU slots lists the display devices `vm gpu list` finds (a fake host's sysfs).
@Test func gpuSlotsCompleteFromTheHost() async throws {
    let tree = try Scenarios.twoIdentical3090Ti()
    let result = try await Subprocess.run(.path(FilePath(try BuiltExecutable.path("vm"))),
                                          arguments: ["---completion", "host", "bind", "--", "positional@0", "3", "0"],
                                          environment: .inherit.updating(["VM_HOST_ROOT": tree.rootPath]),
                                          output: .string(limit: 1 << 16), error: .string(limit: 1 << 16))
    #expect(result.standardOutput.split(separator: "\n") == ["0000:01:00", "0000:05:00"], "\(result.standardOutput)\(result.standardError)")
}

/// zsh and fish scripts ask `vm` itself for VM names and GPU slots too, and list the backends.
@Test(arguments: ["zsh", "fish"])
func zshAndFishCompletionAskVMForNames(shell: String) async throws {
    let script = try await VMRun.run(["--generate-completion-script", shell], in: try Scratch())
    #expect(script.status == .exited(0))
    #expect(script.output.contains("---completion status -- positional@0"), "\(shell) asks vm for VM names")
    #expect(script.output.contains("---completion host bind -- positional@0"), "\(shell) asks vm for GPU slots")
    #expect(script.output.contains("qemu") && script.output.contains("libvirt"))
}

/// The built `vm` with `arguments`, on the fake single-GPU desktop `host` (`VM_HOST_ROOT`).
private func vmOnDesktop(_ arguments: [String], scratch: Scratch, host: SingleGPUDesktop) async throws -> VMRun {
    let result = try await Subprocess.run(.path(FilePath(try BuiltExecutable.path("vm"))), arguments: Arguments(arguments),
                                          environment: scratch.environment.updating(["VM_HOST_ROOT": host.tree.rootPath]),
                                          output: .string(limit: 1 << 16), error: .string(limit: 1 << 16))
    return VMRun(status: result.terminationStatus, output: result.standardOutput, error: result.standardError)
}

/// `vm gpu release-plan` reads the host (a fake single-GPU desktop) and prints every step in order, then the way back.
@Test func releasePlanPrintsTheStepsInOrder() async throws {
    let scratch = try Scratch()
    _ = try scratch.define("solo", """
        accelerator = "tcg"
        [firmware]
        type = "bios"
        [[gpu]]
        functions = ["0000:01:00.0", "0000:01:00.1"]
        host = "release"
        unload_nvidia = true
        """)
    let desktop = try SingleGPUDesktop()
    let result = try await vmOnDesktop(["gpu", "release-plan", "solo"], scratch: scratch, host: desktop)
    let lines = result.output.split(separator: "\n").map(String.init)
    #expect(lines.prefix(5) == ["1. stop the desktop: systemctl stop gdm3.service",
                                "2. wait up to 10 s for processes to close the card's device nodes (refuse and name them if they do not)",
                                "3. unbind virtual console vtcon1 from the framebuffer (echo 0 > /sys/class/vtconsole/vtcon1/bind)",
                                "4. unbind the boot framebuffer efi-framebuffer.0 from efi-framebuffer",
                                "5. unload nvidia_drm (modprobe -r nvidia_drm)"], "\(result.output)\(result.error)")
    #expect(lines.count == 11 && lines[9] == "10. bind 0000:01:00.1 to vfio-pci (it is on snd_hda_intel)")
    #expect(lines.last?.hasSuffix("start the desktop: systemctl start gdm3.service") == true)
    #expect(try desktop.facts().functions.map(\.driver) == ["nvidia", "snd_hda_intel"], "nothing changed")
}

/// `vm gpu attach --dry-run` of a hot display GPU prints the release, the way back and the hand-over, changing nothing;
/// `--backend libvirt` is refused for it, naming the GPU and why.
@Test func hotReleaseDryRunAndTheLibvirtRefusal() async throws {
    let scratch = try Scratch()
    _ = try scratch.define("solo", """
        accelerator = "tcg"
        [firmware]
        type = "bios"
        [[gpu]]
        functions = ["0000:01:00.0", "0000:01:00.1"]
        plug = "hot"
        host = "release"
        """)
    let desktop = try SingleGPUDesktop()
    func vm(_ arguments: [String]) async throws -> VMRun { try await vmOnDesktop(arguments, scratch: scratch, host: desktop) }
    let plan = try await vm(["gpu", "attach", "solo", "--dry-run"])
    let lines = plan.output.split(separator: "\n").map(String.init)
    #expect(plan.status == .exited(0), "\(plan.error)")
    #expect(lines.prefix(2) == ["release the host's display GPU:", "1. stop the desktop: systemctl stop gdm3.service"], "\(plan.output)")
    #expect(lines.contains { $0.hasPrefix("given back at vm gpu detach or the end of the run: ") && $0.hasSuffix("start the desktop: systemctl start gdm3.service") })
    #expect(lines.contains("then hand it to the guest:") && lines.contains { $0.hasPrefix("device_add vfio-pci,host=0000:01:00.0") })
    let back = try await vm(["gpu", "detach", "solo", "--dry-run"])
    #expect(back.output.split(separator: "\n").last == "start the desktop: systemctl start gdm3.service", "\(back.output)\(back.error)")
    #expect(try desktop.facts().functions.map(\.driver) == ["nvidia", "snd_hda_intel"], "nothing changed")
    #expect(desktop.runner.commands.isEmpty)

    let libvirt = try await vm(["up", "solo", "--backend", "libvirt"])
    #expect(libvirt.status != .exited(0))
    #expect(libvirt.error.contains("gpu[0] of solo has host = \"release\", which the libvirt backend does not do"), "\(libvirt.error)")
}

/// `vm gpu list` on a host with one GPU says what holds it and points at host = "release".
@Test func gpuListSaysWhatHoldsTheOnlyGPU() async throws {
    let desktop = try SingleGPUDesktop()
    let result = try await Subprocess.run(.path(FilePath(try BuiltExecutable.path("vm"))), arguments: ["gpu", "list"],
                                          environment: .inherit.updating(["VM_HOST_ROOT": desktop.tree.rootPath]),
                                          output: .string(limit: 1 << 16), error: .string(limit: 1 << 16))
    let last = result.standardOutput.split(separator: "\n").last.map(String.init) ?? ""
    #expect(last == "0000:01:00 is the host's only GPU; the host uses it through the console (vtcon1 on the framebuffer), "
        + "the firmware framebuffer efi-framebuffer.0, the display manager gdm3.service, Xorg (pid 1200, /dev/dri/card0), "
        + "Xorg (pid 1200, /dev/nvidia0), Xorg (pid 1200, /dev/nvidiactl), pipewire (pid 1300, /dev/snd/controlC1), pipewire (pid 1300, /dev/snd/pcmC1D3p). "
        + "To give it to a VM for a run and get the desktop back after: host = \"release\" on its [[gpu]] (`vm gpu release-plan NAME` shows the steps; "
        + "with plug = \"hot\", from `vm gpu attach` to `vm gpu detach`)",
        "\(result.standardOutput)\(result.standardError)")
}

/// `vm host check` on a host with one GPU ends with what holds it.
@Test func hostCheckSaysWhatHoldsTheOnlyGPU() async throws {
    let desktop = try SingleGPUDesktop()
    let result = try await Subprocess.run(.path(FilePath(try BuiltExecutable.path("vm"))), arguments: ["host", "check"],
                                          environment: .inherit.updating(["VM_HOST_ROOT": desktop.tree.rootPath]),
                                          output: .string(limit: 1 << 16), error: .string(limit: 1 << 16))
    let last = result.standardOutput.split(separator: "\n").last.map(String.init) ?? ""
    #expect(last.hasPrefix("info gpu       0000:01:00 is the host's only GPU; the host uses it through the console (vtcon1 on the framebuffer)"),
            "\(result.standardOutput)\(result.standardError)")
}
