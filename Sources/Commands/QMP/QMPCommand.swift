import ArgumentParser
import FoundationEssentials
import Glibc
import Logging
import QMP
import VMCore

/// `vm qmp`: send one QMP command to a VM's monitor, or follow its events.
struct QMPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qmp",
        abstract: "Send a QMP command to a VM's QEMU monitor, or follow its events.",
        discussion: """
            Arguments are key=value like qmp-shell: numbers, true/false, JSON objects and arrays, \
            dotted keys for nested objects, anything else a string.

            EXAMPLES:
              vm qmp win11 query-status
              vm qmp win11 device_add driver=virtio-net-pci id=net1 bus=rp1
              vm qmp --socket /run/vm/win11/qmp.sock --execute '{"execute": "query-kvm"}'
              vm qmp win11 query-status --json  # compact JSON, one line
              vm qmp win11 --events --filter DEVICE_DELETED device_del id=gpu0
            """
    )

    @Option(name: .long, help: ArgumentHelp("Talk to this monitor socket instead of a VM's.", valueName: "path"))
    var socket: String?

    @Option(name: .long, help: ArgumentHelp("Send this QMP command object as is.", valueName: "{\"execute\": ...}"))
    var execute: String?

    @Flag(name: .long, help: "Print events (after the command, if one is given) until interrupted.")
    var events = false

    @Option(name: .long, help: ArgumentHelp("With --events: only events of this name (repeatable).", valueName: "name"))
    var filter: [String] = []

    @Option(name: .long, help: ArgumentHelp("With --events: stop after this many events.", valueName: "n"))
    var count: Int?

    @Flag(name: [.long, .customLong("raw")], help: "Print compact JSON, one object per line, instead of pretty output.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Seconds to wait for the reply (default: per command).", valueName: "s"))
    var timeout: Double?

    @Flag(name: .long, help: "Log every QMP message to standard error.")
    var debug = false

    @Flag(name: .long, help: "Print the VM's QMP socket (served by its supervisor, for other QMP tools) and exit.")
    var socketPath = false

    @Argument(help: ArgumentHelp("The VM name (unless --socket), the command and its key=value arguments.",
                                 valueName: "name command key=value"))
    var words: [String] = []

    func validate() throws {
        if socketPath {
            guard words.count == 1, socket == nil, execute == nil, !events else { throw ValidationError("--socket-path takes the VM name and nothing else") }
            return
        }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if let timeout, !(timeout > 0) { throw ValidationError("--timeout must be positive") }
        if !events, !filter.isEmpty || count != nil { throw ValidationError("--filter and --count need --events") }
        do {
            _ = try invocation()
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() async throws {
        if socketPath {
            let loaded = try CommandSupport.loader.load(words[0])
            return print(loaded.qmpSocket)
        }
        let invocation = try invocation()
        var logger = Logger(label: "vm.qmp")
        logger.logLevel = debug ? .debug : .warning
        let path: String
        switch invocation.target {
        case .socket(let socket): path = socket
        case .vm(let name):
            // A definition (by name or path) says where its QMP is; a VM without one is looked
            // up in the runtime folder by name.
            if let loaded = try? CommandSupport.loader.load(name) {
                if case .libvirt(let uri) = loaded.spec.backend {
                    return try runThroughLibvirt(uri: uri, name: loaded.spec.name.rawValue, invocation: invocation)
                }
                path = loaded.qmpSocket
            } else {
                let layout = StateLayout(environment: ProcessEnvironment.current, uid: getuid())
                path = layout.paths(for: try VMName(name)).qmpSocket
            }
        }
        let client = try await QMPClient.connect(
            path: path, options: QMPClient.Options(wireLog: debug ? .standardError : nil), logger: logger)
        defer { client.close() }
        let names = Set(filter)
        let stream = events ? client.events(matching: names.isEmpty ? .all : .named(names)) : nil
        // Whatever the filter, a SHUTDOWN tells a polite end from QEMU dying under the follower.
        let shutdowns = events ? client.events(matching: .named("SHUTDOWN")) : nil
        if let command = invocation.command {
            let reply = try await client.execute(
                command.name, arguments: command.arguments, timeout: timeout.map { .milliseconds(Int64($0 * 1000)) })
            print(json ? JSONWriter.string(reply, sortedKeys: true) : JSONWriter.pretty(reply))
            fflush(nil)
        }
        guard let stream else { return }
        var seen = 0
        for await event in stream {
            print(format(event))
            fflush(nil)
            seen += 1
            if let count, seen >= count { return }
        }
        var shutDown = false
        for await _ in shutdowns ?? AsyncStream(unfolding: { nil }) {
            shutDown = true
            break
        }
        guard shutDown else { throw QMPFollowError(target: invocation.target) }
    }

    /// The monitor closed under `vm qmp --events` without a SHUTDOWN event first: QEMU was killed
    /// or crashed (or its supervisor died).
    struct QMPFollowError: Error, CustomStringConvertible {
        let target: QMPInvocation.Target

        var description: String {
            switch target {
            case .vm(let name):
                return "the monitor of \(name) closed without a SHUTDOWN event: QEMU ended (killed or crashed) or its supervisor died; `vm status \(name)` says which"
            case .socket(let path):
                return "the monitor at \(path) closed without a SHUTDOWN event: QEMU ended (killed or crashed)"
            }
        }
    }

    /// A libvirt-backed VM: one command through libvirt's QMP pass-through (no events).
    private func runThroughLibvirt(uri: String, name: String, invocation: QMPInvocation) throws {
        guard !events, let command = invocation.command else { throw LibvirtQMP.Failure.eventsUnsupported(name: name) }
        let reply = try LibvirtQMP.execute(uri: uri, domain: name, command: command.name, arguments: command.arguments)
        print(json ? JSONWriter.string(reply, sortedKeys: true) : JSONWriter.pretty(reply))
    }

    private func invocation() throws(QMPInvocation.Problem) -> QMPInvocation {
        try QMPInvocation.parse(words: words, socket: socket, execute: execute, events: events)
    }

    private func format(_ event: QMPEvent) -> String {
        if json {
            var object: [String: JSONValue] = ["event": .string(event.name), "data": event.data]
            if event.timestamp >= 0 {
                let seconds = event.timestamp.rounded(.down)
                object["timestamp"] = [
                    "seconds": .int(Int64(seconds)),
                    "microseconds": .int(Int64(((event.timestamp - seconds) * 1_000_000).rounded())),
                ]
            }
            return JSONWriter.string(.object(object), sortedKeys: true)
        }
        let time = event.timestamp >= 0 ? Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(Date(timeIntervalSince1970: event.timestamp)) : "-"
        return event.data == .null ? "\(time) \(event.name)" : "\(time) \(event.name) \(JSONWriter.string(event.data, sortedKeys: true))"
    }
}
