/// Huge-page reservation from `/proc/meminfo`.
public struct HugePages: Sendable, Hashable, Codable {
    public var total: Int
    public var free: Int
    /// Default huge-page size in KiB.
    public var pageSizeKiB: Int

    public init(total: Int, free: Int, pageSizeKiB: Int) {
        self.total = total
        self.free = free
        self.pageSizeKiB = pageSizeKiB
    }

    /// Parses the `HugePages_Total`, `HugePages_Free` and `Hugepagesize` lines; nil when absent.
    public static func parse(meminfo: String) -> HugePages? {
        var values: [String: Int] = [:]
        for line in meminfo.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == ":" || $0 == " " })
            if parts.count >= 2, let value = Int(parts[1]) { values[String(parts[0])] = value }
        }
        guard let total = values["HugePages_Total"], let size = values["Hugepagesize"] else { return nil }
        return HugePages(total: total, free: values["HugePages_Free"] ?? 0, pageSizeKiB: size)
    }

    /// Reads `/proc/meminfo`.
    public static func read(_ fileSystem: any HostFileSystem) -> HugePages? {
        fileSystem.readTextIfPresent("/proc/meminfo").flatMap { parse(meminfo: $0) }
    }
}
