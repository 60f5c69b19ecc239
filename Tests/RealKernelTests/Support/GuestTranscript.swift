/// What the guest script (Guest/bind-cycle.sh) reported on the serial console, parsed from its `RK-` lines and
/// the test bed's `VMTEST-` lines. Pure: built from the serial log's text.
struct GuestTranscript: Sendable {
    /// One PCI function as the guest kernel showed it at a step (`RK-FN`).
    struct Function: Sendable, Equatable {
        var address: String
        /// nil when unbound (`none`).
        var driver: String?
        /// The `driver_override` text; the kernel shows `(null)` when unset.
        var override: String
        /// nil without an IOMMU group.
        var group: Int?
    }

    /// The group's `/dev/vfio/N` at a step (`RK-VFIO`).
    struct VFIONode: Sendable, Equatable {
        var group: Int
        /// True when `/dev/vfio/N` is a character device.
        var present: Bool
    }

    /// A process the script started to hold one of the card's device nodes (`RK-HOLDER`).
    struct Holder: Sendable, Equatable {
        var pid: Int
        var node: String
        var command: String
    }

    /// `VMTEST-READY` was seen.
    private(set) var ready = false
    /// The script's exit status (`VMTEST-RUN-END rc=N`).
    private(set) var runExitStatus: Int?
    /// `RK-DONE`: the script reached its end.
    private(set) var done = false
    /// `VMTEST-WARN` lines.
    private(set) var warnings: [String] = []
    /// Kernel lines saying the initramfs was not (fully) unpacked: the overlays are then missing.
    private(set) var unpackFailures: [String] = []
    private var output: [String: [String]] = [:]
    private var errors: [String: [String]] = [:]
    private var exits: [String: Int] = [:]
    private var durations: [String: Double] = [:]
    private var functionsByStep: [String: [Function]] = [:]
    private var nodes: [String: VFIONode] = [:]
    private var holders: [String: Holder?] = [:]

    init(serial: String) {
        // A serial console ends lines with CR LF, which Swift reads as one Character ("\r\n").
        for raw in serial.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            var line = raw
            while line.last == "\r" { line = line.dropLast() }
            parse(line)
        }
    }

    /// What a step's command printed on stdout, lines joined with newlines.
    func standardOutput(_ step: String) -> String { (output[step] ?? []).joined(separator: "\n") }
    /// What a step's command printed on stderr.
    func standardError(_ step: String) -> String { (errors[step] ?? []).joined(separator: "\n") }
    /// A step's exit status, nil when it never ran.
    func exitStatus(_ step: String) -> Int? { exits[step] }
    /// How long a step's command ran, in seconds of guest time (0.01 s resolution).
    func seconds(_ step: String) -> Double? { durations[step] }
    /// The functions reported at a step, in address order.
    func functions(_ step: String) -> [Function] { functionsByStep[step] ?? [] }
    /// The drivers of a step's functions, in address order.
    func drivers(_ step: String) -> [String?] { functions(step).map(\.driver) }
    /// The `/dev/vfio` node reported at a step.
    func vfioNode(_ step: String) -> VFIONode? { nodes[step] }
    /// The holder started at a step: `.some(nil)` when the function had no such node, nil when not reported.
    func holder(_ step: String) -> Holder?? { holders[step] }

    private mutating func parse(_ line: Substring) {
        if line.contains("Initramfs unpacking failed") { unpackFailures.append(String(line)); return }
        if line == "VMTEST-READY" { ready = true; return }
        if line == "RK-DONE" { done = true; return }
        if line.hasPrefix("VMTEST-WARN ") { warnings.append(String(line.dropFirst("VMTEST-WARN ".count))); return }
        if line.hasPrefix("VMTEST-RUN-END rc="), let rc = Int(line.dropFirst("VMTEST-RUN-END rc=".count)) {
            runExitStatus = rc
            return
        }
        // RK-OUT/RK-ERR keep the rest of the line verbatim (after exactly one space).
        for (prefix, isError) in [("RK-OUT ", false), ("RK-ERR ", true)] where line.hasPrefix(prefix) {
            let rest = line.dropFirst(prefix.count)
            let step = String(rest.prefix { $0 != " " })
            let text = String(rest.dropFirst(step.count).dropFirst())
            if isError { errors[step, default: []].append(text) } else { output[step, default: []].append(text) }
            return
        }
        let words = line.split(separator: " ")
        guard words.count >= 2 else { return }
        let step = String(words[1])
        var fields: [String: String] = [:]
        for word in words.dropFirst(2) {
            guard let equals = word.firstIndex(of: "=") else { continue }
            fields[String(word[..<equals])] = String(word[word.index(after: equals)...])
        }
        switch words[0] {
        case "RK-EXIT":
            if let rc = fields["rc"].flatMap({ Int($0) }) { exits[step] = rc }
            if let seconds = fields["seconds"].flatMap({ Double($0) }) { durations[step] = seconds }
        case "RK-FN":
            guard let address = fields["addr"] else { return }
            let driver = fields["driver"].flatMap { $0 == "none" ? nil : $0 }
            functionsByStep[step, default: []].append(
                Function(address: address, driver: driver, override: fields["override"] ?? "", group: fields["group"].flatMap { Int($0) }))
        case "RK-VFIO":
            if let group = fields["group"].flatMap({ Int($0) }) { nodes[step] = VFIONode(group: group, present: fields["node"] == "char") }
        case "RK-HOLDER":
            if words.count == 3, words[2] == "none" {
                holders[step] = .some(nil)
            } else if let pid = fields["pid"].flatMap({ Int($0) }), let node = fields["node"] {
                holders[step] = Holder(pid: pid, node: node, command: fields["comm"] ?? "")
            }
        default:
            return
        }
    }
}
