import FoundationEssentials
import Glibc

/// The durable record of a VM's last run, kept in its state folder (`run.json`) by the VM's
/// supervisor: what started, the events that matter, and how it ended. `vm status` and `vm list`
/// read it to say why a VM stopped; `vm down` reads it to report what ended QEMU.
public struct RunRecord: Codable, Sendable, Equatable {
    /// One event worth keeping (QEMU's SHUTDOWN, POWERDOWN, GUEST_PANICKED, RESET, DEVICE_DELETED,
    /// or the supervisor's own, such as an adoption).
    public struct Event: Codable, Sendable, Equatable {
        public var name: String
        public var at: Date
        /// The event's data as compact JSON, or a sentence.
        public var detail: String?

        public init(name: String, at: Date, detail: String? = nil) {
            self.name = name
            self.at = at
            self.detail = detail
        }
    }

    /// How QEMU ended.
    public enum Cause: String, Codable, Sendable {
        /// The guest powered itself off (QEMU's SHUTDOWN reason `guest-shutdown`).
        case guestPoweredOff = "guest-powered-off"
        /// The guest panicked and QEMU exited.
        case guestPanicked = "guest-panicked"
        /// A QMP `quit` ended QEMU.
        case quit
        /// QEMU caught SIGTERM/SIGINT/SIGHUP and shut down (SHUTDOWN reason `host-signal`).
        case hostSignal = "host-signal"
        /// A signal killed QEMU (``End/signal``).
        case killed
        /// QEMU exited on its own (``End/exitStatus``), e.g. a start failure.
        case exited
        /// QEMU ended while a supervisor that did not start it watched: no exit status.
        case unknown
        /// The TPM emulator (`swtpm`) ended while QEMU ran, and the supervisor ended QEMU: a
        /// guest whose TPM vanished must not run on.
        case tpmEmulatorEnded = "tpm-emulator-ended"
    }

    /// Who asked for the end, when someone did.
    public enum Requester: String, Codable, Sendable {
        /// `vm down`, with the step it had reached.
        case downPowerButton = "vm down: power button"
        case downQuit = "vm down: quit"
        case downTerminate = "vm down: SIGTERM"
        case downKill = "vm down: SIGKILL"
    }

    /// The end of the run.
    public struct End: Codable, Sendable, Equatable {
        public var at: Date
        public var cause: Cause
        public var exitStatus: Int32?
        public var signal: Int32?
        /// The `vm down` step that was under way, if any.
        public var requestedBy: Requester?
        /// What went wrong while tearing down (a GPU not given back, a link not removed).
        public var teardownProblems: [String]

        public init(at: Date, cause: Cause, exitStatus: Int32? = nil, signal: Int32? = nil,
                    requestedBy: Requester? = nil, teardownProblems: [String] = []) {
            self.at = at
            self.cause = cause
            self.exitStatus = exitStatus
            self.signal = signal
            self.requestedBy = requestedBy
            self.teardownProblems = teardownProblems
        }

        /// One line: "guest powered off at 12:03", "QEMU killed by signal 9 at 12:04 (not by vm down)".
        public var summary: String {
            let time = Self.localTime(at)
            let what: String
            switch cause {
            case .guestPoweredOff: what = requestedBy == .downPowerButton ? "vm down: power button; guest powered off" : "guest powered off"
            case .guestPanicked: what = "guest panicked"
            case .quit: what = requestedBy == .downQuit ? "vm down: QMP quit" : "QMP quit (not from vm down)"
            case .hostSignal: what = requestedBy == .downTerminate ? "vm down: SIGTERM" : "QEMU shut down on a signal (not from vm down)"
            case .killed:
                let by = requestedBy == .downKill && signal == SIGKILL ? "vm down: SIGKILL" : "not by vm down"
                what = "QEMU killed by signal \(signal.map(String.init) ?? "?") (\(by))"
            case .exited: what = "QEMU exited with status \(exitStatus.map(String.init) ?? "?")"
            case .unknown: what = "QEMU ended (exit status unknown: its supervisor had been restarted)"
            case .tpmEmulatorEnded: what = "the TPM emulator (swtpm) ended, so QEMU was stopped; its log is swtpm.log in the state folder"
            }
            let problems = teardownProblems.isEmpty ? "" : "; teardown problems: " + teardownProblems.joined(separator: "; ")
            return "\(what) at \(time)\(problems)"
        }

        /// `date` as `yyyy-MM-dd HH:mm:ss` in the local time zone.
        private static func localTime(_ date: Date) -> String {
            var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
            var parts = tm()
            localtime_r(&seconds, &parts)
            var text = [CChar](repeating: 0, count: 32)
            let length = strftime(&text, text.count, "%Y-%m-%d %H:%M:%S", &parts)
            return String(decoding: text[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    public var vm: String
    /// `qemu` (the supervisor records QEMU-backend runs).
    public var backend: String
    public var qemuPID: Int32
    /// The supervisor that watches this run now (a new one after an adoption).
    public var supervisorPID: Int32
    /// The VM's TPM emulator (`swtpm`), when it has one.
    public var swtpmPID: Int32?
    public var startedAt: Date
    /// ``DefinitionFingerprint`` of the definition file as started.
    public var fingerprint: String
    public var events: [Event]
    public var end: End?

    public init(vm: String, backend: String, qemuPID: Int32, supervisorPID: Int32, swtpmPID: Int32? = nil, startedAt: Date,
                fingerprint: String, events: [Event] = [], end: End? = nil) {
        self.vm = vm
        self.backend = backend
        self.qemuPID = qemuPID
        self.supervisorPID = supervisorPID
        self.swtpmPID = swtpmPID
        self.startedAt = startedAt
        self.fingerprint = fingerprint
        self.events = events
        self.end = end
    }

    /// At most this many events are kept (the oldest go first).
    public static let eventLimit = 200

    /// Appends `event`, dropping the oldest beyond ``eventLimit``.
    public mutating func append(_ event: Event) {
        events.append(event)
        if events.count > Self.eventLimit { events.removeFirst(events.count - Self.eventLimit) }
    }
}

/// Reads and writes a VM's ``RunRecord`` (``DurableFile``). A record that does not parse or
/// names another VM is never trusted: reading it says why instead.
public struct RunRecordStore: Sendable {
    public let path: String
    public let vm: String

    public init(path: String, vm: String) {
        self.path = path
        self.vm = vm
    }

    /// What the record file holds.
    public enum Reading: Sendable, Equatable {
        case none
        case valid(RunRecord)
        /// The file is there but unusable; the string says why and where.
        case invalid(String)

        /// The record when it is valid.
        public var record: RunRecord? {
            if case .valid(let record) = self { return record }
            return nil
        }
    }

    public func read() -> Reading {
        guard let data = FileManager.default.contents(atPath: path) else { return .none }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let record = try? decoder.decode(RunRecord.self, from: data) else {
            return .invalid("ignoring the run record \(path): not a run record; the next `vm up` replaces it")
        }
        guard record.vm == vm else {
            return .invalid("ignoring the run record \(path): it is for VM \(record.vm), not \(vm); the next `vm up` replaces it")
        }
        return .valid(record)
    }

    public func write(_ record: RunRecord) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        try DurableFile.write(try encoder.encode(record), to: path)
    }
}

/// A short, stable digest of text (64-bit FNV-1a, hex): detects that a definition changed.
/// Not a security measure.
public struct DefinitionFingerprint: Equatable, Sendable, CustomStringConvertible {
    public let value: UInt64

    public init(text: String) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        value = hash
    }

    public var description: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
