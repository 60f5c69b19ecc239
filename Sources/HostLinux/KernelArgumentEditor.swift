/// Adds kernel arguments to boot configuration files. Pure.
public enum KernelArgumentEditor {
    /// The GRUB variable `vm` edits.
    public static let grubVariable = "GRUB_CMDLINE_LINUX_DEFAULT"

    /// `existing` with `additions` merged in: a `key=value` replaces the same key, except `vfio-pci.ids`, whose ids
    /// are united (existing first); arguments already present are kept once.
    public static func merge(_ existing: [String], adding additions: [String]) -> [String] {
        var result = existing
        for addition in additions {
            let key = addition.split(separator: "=", maxSplits: 1).first.map(String.init) ?? addition
            let index = result.firstIndex { $0 == key || $0.hasPrefix(key + "=") }
            guard let index else {
                result.append(addition)
                continue
            }
            if key == "vfio-pci.ids" {
                let old = result[index].dropFirst(key.count + 1).split(separator: ",").map(String.init)
                let new = addition.dropFirst(key.count + 1).split(separator: ",").map(String.init)
                result[index] = key + "=" + (old + new.filter { !old.contains($0) }).joined(separator: ",")
            } else {
                result[index] = addition
            }
        }
        return result
    }

    /// `/etc/default/grub` text with `additions` merged into the last `GRUB_CMDLINE_LINUX_DEFAULT=` line (appended
    /// when absent). The value is rewritten in double quotes; everything else is kept byte for byte.
    public static func updateGrubDefaults(_ text: String, adding additions: [String]) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let prefix = grubVariable + "="
        if let index = lines.lastIndex(where: { $0.trimmingLeadingBlanks().hasPrefix(prefix) }) {
            let line = lines[index]
            let indent = String(line.prefix(while: { $0 == " " || $0 == "\t" }))
            var value = line.trimmingLeadingBlanks().dropFirst(prefix.count)
            var trailing = ""
            if let quote = value.first, quote == "\"" || quote == "'" {
                value = value.dropFirst()
                if let end = value.lastIndex(of: quote) {
                    trailing = String(value[value.index(after: end)...])
                    value = value[..<end]
                }
            }
            let merged = merge(KernelCommandLine.parse(String(value)).arguments, adding: additions)
            lines[index] = indent + prefix + "\"" + merged.joined(separator: " ") + "\"" + trailing
        } else {
            let insertAt = lines.last == "" ? lines.count - 1 : lines.count
            lines.insert(prefix + "\"" + additions.joined(separator: " ") + "\"", at: insertAt)
        }
        var result = lines.joined(separator: "\n")
        if !result.hasSuffix("\n") { result += "\n" }
        return result
    }

    /// `/etc/kernel/cmdline` text (one line of arguments) with `additions` merged in.
    public static func updateKernelCmdline(_ text: String, adding additions: [String]) -> String {
        merge(KernelCommandLine.parse(text).arguments, adding: additions).joined(separator: " ") + "\n"
    }
}

extension String {
    func trimmingLeadingBlanks() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }))
    }
}
