import ArgumentParser
import FoundationEssentials
import Glibc
import VMCore

/// What `vm snapshot NAME ACTION` does.
enum SnapshotAction: String, ExpressibleByArgument, CaseIterable {
    case create, list, revert, delete
}

/// `vm snapshot NAME create|list|revert|delete [SNAPSHOT]`
struct SnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot", abstract: "Create, list, revert to or delete snapshots of a stopped VM's qcow2 disks.",
        discussion: """
            Internal qcow2 snapshots (`qemu-img snapshot`) of every writable [[disk]] under one \
            name, taken while the VM is stopped: disk contents only, no memory. Revert puts every \
            disk back as it was and needs the snapshot on all of them. Refused while the VM runs \
            (`vm down` first); with a passed-through GPU QEMU cannot snapshot a running VM at all, \
            because the GPU's state cannot be saved. Raw images hold no snapshots: convert them to \
            qcow2. Without a name, create uses the date and time.

            EXAMPLES:
              vm snapshot win11 create before-driver-update
              vm snapshot win11 list
              vm snapshot win11 revert before-driver-update
              vm snapshot win11 delete before-driver-update
            """)

    @Argument(help: VMNames.help, completion: VMNames.completion)
    var name: String

    @Argument(help: ArgumentHelp("What to do.", valueName: "create|list|revert|delete"))
    var action: SnapshotAction

    @Argument(help: ArgumentHelp("The snapshot's name (letters, digits, '.', '_', '-'; not only digits).", valueName: "snapshot"))
    var snapshot: String?

    @OptionGroup var backendOptions: BackendOptions

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        switch (action, snapshot) {
        case (.list, .some): throw ValidationError("list takes no snapshot name")
        case (.revert, nil), (.delete, nil): throw ValidationError("\(action.rawValue) needs the snapshot's name (see `vm snapshot \(name) list`)")
        default: break
        }
        if let snapshot, let problem = Self.problem(withName: snapshot) { throw ValidationError(problem) }
    }

    func run() async throws {
        let loaded = try CommandSupport.loadResolved(name)
        let vm = loaded.spec.name.rawValue
        let (backend, state) = try await backendOptions.state(of: loaded, debug: global.debug)
        switch try Self.store(vm: vm, state: state, backend: backend, passesThroughGPUs: !loaded.spec.gpus.isEmpty) {
        case .disks:
            try await perform(on: try DiskSnapshots(loaded.spec), vm: vm)
        case .runningMachine:
            let live = try await LiveSnapshots.connect(loaded)
            defer { live.close() }
            try await perform(on: live, vm: vm)
        }
    }

    /// Where snapshots of a VM are taken.
    enum Store: Equatable {
        /// The disk images of a stopped VM (`qemu-img snapshot`).
        case disks
        /// The running QEMU (savevm/loadvm/delvm).
        case runningMachine
    }

    /// Where a VM in `state` on `backend` is snapshotted; refuses a running VM that passes a GPU
    /// through (QEMU cannot save its state), one on libvirt, and one between states.
    static func store(vm: String, state: VMState, backend: Backend, passesThroughGPUs: Bool) throws -> Store {
        if state == .stopped { return .disks }
        if passesThroughGPUs {
            throw CommandFailure("\(vm) is \(state.rawValue) with a passed-through GPU, whose state QEMU cannot save; "
                + "`vm down \(vm)` first, then snapshot its disks")
        }
        guard state == .running || state == .paused, backend == .qemu else {
            throw CommandFailure("\(vm) is \(state.rawValue) on \(backend.label); snapshots are taken of a stopped VM "
                + "(or a running one on the QEMU backend): `vm down \(vm)` first")
        }
        return .runningMachine
    }

    private func perform(on snapshots: some SnapshotStore, vm: String) async throws {
        switch action {
        case .list:
            let entries = try await snapshots.list()
            if global.json { return try CommandSupport.printJSON(entries) }
            if entries.isEmpty { return print("\(vm) has no snapshots; `vm snapshot \(vm) create NAME` takes one") }
            for entry in entries { print(Self.describe(entry, diskCount: snapshots.disks.count)) }
        case .create:
            let tag = snapshot ?? Self.defaultName(Date())
            try await snapshots.create(tag)
            print("\(vm): snapshot \(tag) of \(snapshots.disks.count) disk(s)")
        case .revert:
            try await snapshots.revert(snapshot ?? "")
            print("\(vm): back at snapshot \(snapshot ?? "")")
        case .delete:
            try await snapshots.delete(snapshot ?? "")
            print("\(vm): deleted snapshot \(snapshot ?? "")")
        }
    }

    /// Why `name` cannot name a snapshot, or nil. qemu-img takes an all-digit name for an ID.
    static func problem(withName name: String) -> String? {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-".unicodeScalars)
        if name.isEmpty || name.unicodeScalars.contains(where: { !allowed.contains($0) }) {
            return "snapshot name '\(name)': use letters, digits, '.', '_' and '-'"
        }
        if name.allSatisfy(\.isNumber) { return "snapshot name '\(name)' is only digits, which qemu-img reads as a snapshot ID; add a letter" }
        return nil
    }

    /// `snap-YYYYMMDDTHHMMSSZ` for `date`.
    static func defaultName(_ date: Date) -> String {
        "snap-" + date.formatted(Date.ISO8601FormatStyle(dateSeparator: .omitted, timeSeparator: .omitted))
    }

    /// One line of `list`: name, UTC date, and the disks when not all have it.
    static func describe(_ entry: SnapshotEntry, diskCount: Int) -> String {
        let date = Date(timeIntervalSince1970: TimeInterval(entry.date)).formatted(.iso8601)
        let disks = entry.disks.count == diskCount ? "" : "  (only on \(entry.disks.joined(separator: ", ")))"
        return "\(entry.name)  \(date)\(entry.machineState ? "  with the running machine" : "")\(disks)"
    }
}
