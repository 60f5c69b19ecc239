/// What the second-level guest printed on its serial console during one step of Guest/nested-passthrough.sh (its
/// `VMTEST-` lines, relayed as the step's `RK-OUT` lines). Pure.
struct SecondLevelReport: Sendable {
    /// A PCI function as the second-level guest's `VMTEST-PCI` / `VMTEST-PCI-ADD` line shows it.
    struct Function: Sendable, Equatable {
        var address: String
        /// `vendor:device`, e.g. `1234:1111`.
        var id: String
        /// `0x038000`.
        var pciClass: String

        /// The bus part of the address (`01` in `0000:01:00.0`).
        var bus: String { String(address.split(separator: ":").dropFirst().first ?? "") }
        /// The address without its function (`0000:01:00`).
        var slot: String { String(address.prefix { $0 != "." }) }
    }

    let lines: [String]

    init(_ text: String) {
        lines = text.split(separator: "\n").map(String.init)
    }

    /// The functions listed at boot (`VMTEST-PCI`).
    var bootList: [Function] { functions("VMTEST-PCI ") }
    /// The functions the hot-plug watcher saw arrive (`VMTEST-PCI-ADD`).
    var added: [Function] { functions("VMTEST-PCI-ADD ") }
    /// The addresses the watcher saw leave (`VMTEST-PCI-REMOVE`).
    var removed: [String] { words("VMTEST-PCI-REMOVE ").compactMap(\.first) }
    /// The functions with an expansion ROM BAR (`VMTEST-PCI-ROM`).
    var withROM: [String] { words("VMTEST-PCI-ROM ").compactMap(\.first) }
    /// `VMTEST-READY` was printed.
    var ready: Bool { lines.contains("VMTEST-READY") }
    /// The guest powered off through its ACPI power button (`VMTEST-POWEROFF acpi`): a polite shutdown.
    var poweredOffByButton: Bool { lines.contains("VMTEST-POWEROFF acpi") }

    private func words(_ prefix: String) -> [[String]] {
        lines.filter { $0.hasPrefix(prefix) }.map { $0.dropFirst(prefix.count).split(separator: " ").map(String.init) }
    }

    private func functions(_ prefix: String) -> [Function] {
        words(prefix).compactMap { words in
            guard words.count == 3, words[2].hasPrefix("class=") else { return nil }
            return Function(address: words[0], id: words[1], pciClass: String(words[2].dropFirst("class=".count)))
        }
    }
}
