import ArgumentParser
import FoundationEssentials
import Glibc
import QMP
import VMCore

/// `vm console NAME`: the terminal on the VM's serial console.
struct ConsoleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console", abstract: "Attach this terminal to a running VM's serial console; Ctrl-] detaches.",
        discussion: """
            Keys go to the guest as typed (the terminal is in raw mode, so Ctrl-C reaches the guest). \
            Ctrl-] detaches; the VM keeps running. One console client at a time (QEMU's chardev \
            socket); `vm log NAME` shows what the console printed, also while nobody is attached. \
            QEMU backend (for libvirt-run VMs: virsh console NAME). Without a terminal, the end of \
            standard input detaches too.

            EXAMPLES:
              vm console win11
              printf 'uname -a\\n' | vm console linux-vm
            """)

    /// The byte Ctrl-] sends, which detaches (as in telnet and virsh console).
    static let detachKey: UInt8 = 0x1d

    @Argument(help: VMNames.help, completion: VMNames.completion)
    var name: String

    func run() throws {
        let loaded = try CommandSupport.loader.load(name)
        if case .libvirt(let uri) = loaded.spec.backend {
            throw CommandFailure("\(loaded.spec.name) runs on the libvirt backend; attach with `virsh -c \(uri) console \(loaded.spec.name)`")
        }
        let socket = try Self.connect(loaded.paths.consoleSocket, name: loaded.spec.name.rawValue)
        defer { close(socket) }
        let terminal = isatty(STDIN_FILENO) == 1 ? RawTerminal(STDIN_FILENO) : nil
        StandardStream.error.write("Connected to the serial console of \(loaded.spec.name); Ctrl-] detaches.\(terminal == nil ? "" : "\r")\n")
        let ended = withExtendedLifetime(terminal) { Self.relay(socket: socket) }
        let reason = ended == .vmStopped ? "\(loaded.spec.name) stopped" : "detached; \(loaded.spec.name) keeps running"
        StandardStream.error.write("\(terminal == nil ? "" : "\r\n")\(reason)\n")
    }

    /// How a console session ended.
    enum Ending: Equatable {
        case detached
        case vmStopped
    }

    /// Copies standard input to the socket and the socket to standard output until Ctrl-], the end
    /// of standard input, or the VM closing the socket.
    static func relay(socket: Int32) -> Ending {
        var fds = [pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0), pollfd(fd: socket, events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            guard poll(&fds, 2, -1) >= 0 else {
                if errno == EINTR { continue }
                return .detached
            }
            if fds[1].revents != 0 {
                let count = read(socket, &buffer, buffer.count)
                if count <= 0 { return .vmStopped }
                StandardStream.writeAll(STDOUT_FILENO, buffer[..<count])
            }
            if fds[0].revents != 0 {
                let count = read(STDIN_FILENO, &buffer, buffer.count)
                if count <= 0 { return .detached }
                let (forward, detach) = split(buffer[..<count])
                StandardStream.writeAll(socket, forward)
                if detach { return .detached }
            }
        }
    }

    /// The bytes typed before the detach key, and whether it was typed.
    static func split(_ typed: ArraySlice<UInt8>) -> (forward: ArraySlice<UInt8>, detach: Bool) {
        guard let key = typed.firstIndex(of: detachKey) else { return (typed, false) }
        return (typed[..<key], true)
    }


    /// A stream socket connected to the console server at `path`.
    private static func connect(_ path: String, name: String) throws -> Int32 {
        guard let address = UnixSocketAddress(path: path) else { throw CommandFailure("the console socket path \(path) is too long for a Unix socket; set a shorter VM_RUNTIME_DIR") }
        let socket = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw CommandFailure("cannot make a socket: \(String(cString: strerror(errno)))") }
        let result = address.withSockaddr { Glibc.connect(socket, $0, $1) }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            close(socket)
            throw CommandFailure("cannot attach to the console of \(name) at \(path) (\(reason)); is it running? `vm up \(name)` starts it")
        }
        return socket
    }
}

/// Standard input in raw mode (keys pass unprocessed, no echo) while this lives.
final class RawTerminal {
    private let descriptor: Int32
    private var saved = termios()

    init?(_ descriptor: Int32) {
        self.descriptor = descriptor
        guard tcgetattr(descriptor, &saved) == 0 else { return nil }
        var raw = saved
        cfmakeraw(&raw)
        guard tcsetattr(descriptor, TCSANOW, &raw) == 0 else { return nil }
    }

    deinit {
        tcsetattr(descriptor, TCSANOW, &saved)
    }
}
