import FoundationEssentials
import Glibc
import VMCore

/// What a VM's supervisor (``VMSupervisor``, the `vm-supervisor` executable) is told: the
/// definition, the folders, and which QEMU to watch. `vm up` writes the command line
/// (``arguments(qemuPID:adopt:tapDescriptor:resume:swtpmPID:)``) and `vm-supervisor` reads it
/// back (``Request``).
public struct SupervisorInvocation: Sendable, Equatable {
    /// The `vm-supervisor` executable.
    public var executable: String
    /// The definition file, as `vm up` loaded it.
    public var definitionFile: String
    public var paths: VMPaths

    public init(executable: String, definitionFile: String, paths: VMPaths) {
        self.executable = executable
        self.definitionFile = definitionFile
        self.paths = paths
    }

    /// The supervisor's executable name, which `vm` and `vm-libvirt` look for next to themselves.
    public static let executableName = "vm-supervisor"

    /// `vm-supervisor DEFINITION --runtime-dir R --state-dir S --qemu-pid PID [--adopt]
    /// [--tap-fd N [--resume]] [--swtpm-pid PID]`.
    public func arguments(qemuPID: String, adopt: Bool = false, tapDescriptor: Int32? = nil, resume: Bool = false,
                          swtpmPID: Int32? = nil) -> [String] {
        var arguments = [executable, definitionFile, "--runtime-dir", paths.runtimeDirectory,
                         "--state-dir", paths.stateDirectory, "--qemu-pid", qemuPID]
        if adopt { arguments.append("--adopt") }
        if let tapDescriptor { arguments += ["--tap-fd", String(tapDescriptor)] }
        if resume { arguments.append("--resume") }
        if let swtpmPID { arguments += ["--swtpm-pid", String(swtpmPID)] }
        return arguments
    }

    /// Where ``arguments(qemuPID:adopt:tapDescriptor:resume:swtpmPID:)`` puts the QEMU pid.
    static let pidSlot = 7

    /// `vm-supervisor` in the folder of the running executable (`vm` and `vm-libvirt` are
    /// installed next to it).
    public static var currentExecutable: String {
        RunningExecutable.folder + "/" + executableName
    }

    /// A supervisor's command line, read back by `vm-supervisor`.
    public struct Request: Sendable, Equatable {
        public var definitionFile: String
        public var runtimeDirectory: String
        public var stateDirectory: String
        public var qemuPID: Int32
        /// QEMU runs already and is not the supervisor's child.
        public var adopt = false
        /// A macvtap device to hand to QEMU.
        public var tapDescriptor: Int32?
        /// Start the vCPUs after the macvtap hand-over.
        public var resume = false
        /// The VM's TPM emulator (swtpm) to watch and stop.
        public var swtpmPID: Int32?

        /// Reads `arguments` (without the executable), as
        /// ``SupervisorInvocation/arguments(qemuPID:adopt:tapDescriptor:resume:swtpmPID:)`` writes them.
        public init(arguments: [String]) throws(RequestError) {
            var definition: String?
            var runtime: String?
            var state: String?
            var pid: Int32?
            var rest = arguments[...]
            func value(of option: String) throws(RequestError) -> String {
                guard let next = rest.popFirst() else { throw RequestError("\(option) needs a value") }
                return next
            }
            func number(of option: String) throws(RequestError) -> Int32 {
                let text = try value(of: option)
                guard let number = Int32(text), number >= 0 else { throw RequestError("\(option) takes a number, not '\(text)'") }
                return number
            }
            while let argument = rest.popFirst() {
                switch argument {
                case "--runtime-dir": runtime = try value(of: argument)
                case "--state-dir": state = try value(of: argument)
                case "--qemu-pid": pid = try number(of: argument)
                case "--adopt": adopt = true
                case "--tap-fd": tapDescriptor = try number(of: argument)
                case "--resume": resume = true
                case "--swtpm-pid": swtpmPID = try number(of: argument)
                default:
                    guard !argument.hasPrefix("-"), definition == nil else { throw RequestError("unknown argument '\(argument)'") }
                    definition = argument
                }
            }
            guard let definition else { throw RequestError("the definition file is missing") }
            guard let runtime else { throw RequestError("--runtime-dir is missing") }
            guard let state else { throw RequestError("--state-dir is missing") }
            guard let pid, pid > 0 else { throw RequestError("--qemu-pid is missing") }
            definitionFile = definition
            runtimeDirectory = runtime
            stateDirectory = state
            qemuPID = pid
        }
    }

    /// A `vm-supervisor` command line that cannot be read.
    public struct RequestError: Error, Equatable, CustomStringConvertible {
        public let problem: String

        public init(_ problem: String) { self.problem = problem }

        public var description: String {
            "\(problem); vm-supervisor is started by `vm up` (and by any vm command that finds a VM without its supervisor), not by hand"
        }
    }
}
