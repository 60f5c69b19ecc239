/// The kernel's CPU list format (`0-3,8,10-11`), as in `online`, `thread_siblings_list`,
/// `shared_cpu_list`, `isolated`, a NUMA node's `cpulist` and the `isolcpus=` argument.
public enum CPUList {
    /// The CPUs of `text`, ascending and without repeats; nil when it is not a CPU list. An empty
    /// (or blank) list is an empty set: `isolated` holds an empty line when nothing is isolated.
    public static func parse(_ text: some StringProtocol) -> [Int]? {
        var cpus = Set<Int>()
        let trimmed = text.split(whereSeparator: \.isWhitespace).joined()
        guard !trimmed.isEmpty else { return [] }
        for item in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = Int(bounds[0]), let high = Int(bounds[bounds.count - 1]),
                  low >= 0, low <= high, high - low < 65_536 else { return nil }
            cpus.formUnion(low...high)
        }
        return cpus.sorted()
    }

    /// `cpus` in the kernel's format, runs folded (`[0, 1, 2, 5]` -> `0-2,5`).
    public static func format(_ cpus: [Int]) -> String {
        var runs: [String] = []
        var sorted = Array(Set(cpus)).sorted()[...]
        while let first = sorted.popFirst() {
            var last = first
            while sorted.first == last + 1 { last = sorted.removeFirst() }
            runs.append(first == last ? "\(first)" : "\(first)-\(last)")
        }
        return runs.joined(separator: ",")
    }
}
