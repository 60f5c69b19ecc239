import ArgumentParser
import FoundationEssentials
import Glibc
import VMCore

/// `vm rm NAME`
struct RmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Delete a stopped VM: its definition, state folder and disk images.",
        discussion: """
            Lists what it deletes and asks first (--yes does not ask). Refused while the VM runs \
            and while an interrupted GPU swap waits for `vm gpu recover`. Disk images are deleted \
            unless --keep-disk; a read-only image, one another definition uses, and a block device \
            are always kept. CD images are never deleted. A libvirt-backed VM's domain is undefined.

            EXAMPLES:
              vm rm old-vm
              vm rm old-vm --keep-disk
              vm rm old-vm --yes
            """)

    @Argument(help: VMNames.help, completion: VMNames.completion)
    var name: String

    @Flag(name: .shortAndLong, help: "Do not ask for confirmation.")
    var yes = false

    @Flag(help: "Keep the disk images.")
    var keepDisk = false

    @OptionGroup var backendOptions: BackendOptions

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let loaded = try CommandSupport.loader.load(name)
        let vm = loaded.spec.name.rawValue
        let backend = try await backendOptions.stoppedBackend(of: loaded, debug: global.debug, for: "vm rm \(vm)")
        if FileManager.default.fileExists(atPath: loaded.paths.journalFile) {
            throw CommandFailure("\(vm) has an interrupted GPU swap (\(loaded.paths.journalFile)); `vm gpu recover \(vm)` first")
        }
        let plan = RemovalPlan.make(loaded, keepDisks: keepDisk, otherDisks: otherDisks(than: loaded.file), isRegularFile: Self.isRegularFile)
        let existing = plan.paths.filter { FileManager.default.fileExists(atPath: $0) }
        if !yes {
            print("vm rm \(vm) deletes:")
            for path in existing { print("  \(path)") }
            for disk in plan.keptDisks { print("and keeps \(disk.path) (\(disk.reason))") }
            if case .libvirt(let uri) = backend { print("and undefines the libvirt domain \(vm) at \(uri)") }
            print("Delete? [y/N] ", terminator: "")
            fflush(nil)
            guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else {
                print("nothing deleted")
                return
            }
        }
        if case .libvirt(let uri) = backend { try LibvirtLink.provider().undefine(uri: uri, domain: vm) }
        for path in existing {
            do {
                try FileManager.default.removeItem(atPath: path)
            } catch {
                throw CommandFailure("could not delete \(path): \(FileAccessError.reason(of: error)); fix its permissions and run `vm rm \(vm)` again")
            }
        }
        if global.json {
            return try CommandSupport.printJSON(RemovedJSON(name: vm, deleted: existing, kept: plan.keptDisks.map(\.path)))
        }
        print("removed \(vm)" + (plan.keptDisks.isEmpty ? "" : "; kept \(plan.keptDisks.map(\.path).joined(separator: ", "))"))
    }

    /// Disk paths of every definition but `file`.
    private func otherDisks(than file: String) -> Set<String> {
        let loader = CommandSupport.loader
        let others = loader.definitionFiles().filter { $0 != file }.compactMap { try? loader.load($0) }
        return Set(others.flatMap { $0.spec.disks.map(\.path) })
    }

    private static func isRegularFile(_ path: String) -> Bool {
        (try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType) == .typeRegular
    }
}

/// `vm rm --yes --json`
struct RemovedJSON: Encodable {
    var name: String
    var deleted: [String]
    var kept: [String]
}
