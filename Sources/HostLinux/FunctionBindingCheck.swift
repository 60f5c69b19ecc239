import VMCore

extension FunctionBinding {
    /// Why `bindings` read back from a file (a swap journal, a `vm host bind` record) cannot be
    /// trusted to move `functions`, or nil when they can: they must name exactly those functions,
    /// each once, with driver names as sysfs spells them. A file naming any other device (the
    /// host's display card, say) is refused before anything is written.
    public static func problem(in bindings: [FunctionBinding], expected functions: [PCIAddress]) -> String? {
        let expected = Set(functions)
        if let foreign = bindings.first(where: { !expected.contains($0.address) }) {
            return "it names \(foreign.address), which is not one of \(functions.map(\.description).joined(separator: ", "))"
        }
        let named = bindings.map(\.address)
        if Set(named).count != named.count { return "it names a function twice" }
        if let missing = functions.first(where: { !named.contains($0) }) { return "it does not name \(missing)" }
        for binding in bindings {
            for name in [binding.originalDriver, binding.originalOverride].compactMap({ $0 }) where !isDriverName(name) {
                return "'\(name)' (for \(binding.address)) is not a driver name"
            }
        }
        return nil
    }

    /// A kernel driver name: 1 to 64 letters, digits, `_`, `-` or `.`, and not `.` or `..`.
    static func isDriverName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count) && name != "." && name != ".."
            && name.utf8.allSatisfy { $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }
}

private extension UInt8 {
    var isASCIIAlphanumeric: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}
