import FoundationEssentials
import Glibc
import VMCore

/// Huge pages a VM reserved at `vm up`, kept in its state folder until they are given back: what
/// `vm down`, the end of the VM and a later recovery undo.
public struct HugePageReservation: Sendable, Codable, Equatable {
    /// The pool's `nr_hugepages` file (global, or a NUMA node's).
    public var pool: String
    /// Pages added to the pool for this VM (0 when enough were free).
    public var added: Int

    public init(pool: String, added: Int) {
        self.pool = pool
        self.added = added
    }
}

/// Why huge pages could not be reserved.
public enum HugePageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kernel has no pool of that page size (no `hugepages-NkB` folder).
    case noPool(size: HugePageSize, path: String)
    /// The kernel gave fewer pages than needed, even after compacting memory.
    case shortfall(size: HugePageSize, needed: Int, available: Int)
    /// A reservation record that does not describe a pool of this host.
    case badRecord(path: String, detail: String)

    public var description: String {
        switch self {
        case let .noPool(size, path):
            return "this kernel has no \(size.rawValue) huge pages (\(path) is missing); use hugepages = \"2M\", or enable them at boot with hugepagesz=\(size.rawValue)"
        case let .shortfall(size, needed, available):
            let boot = size == .oneGiB
                ? "reserve them at boot: add hugepagesz=1G hugepages=\(needed) to the kernel command line"
                : "free memory, or reserve them at boot: add hugepages=\(needed) to the kernel command line"
            return "the VM needs \(needed) huge pages of \(size.rawValue) but only \(available) could be had after compacting memory; \(boot)"
        case let .badRecord(path, detail):
            return "\(path): \(detail); the record is not trusted and nothing was changed (remove it once the host's huge pages look right)"
        }
    }
}

/// Reserves the huge pages a VM needs for its lifetime and gives them back: counts the free pages
/// of the size (on the NUMA node of the pinned CPUs when there is one), compacts memory and raises
/// `nr_hugepages` by what is missing, and on release lowers it by what was added. Everything goes
/// through the ``HostFileSystem`` (`VM_HOST_ROOT` in tests).
public struct HugePageReserver: Sendable {
    public let fileSystem: any HostFileSystem

    public init(fileSystem: any HostFileSystem) {
        self.fileSystem = fileSystem
    }

    /// The pool folder of `size`, global or on `node`.
    public static func poolFolder(_ size: HugePageSize, node: Int?) -> String {
        let base = node.map { "/sys/devices/system/node/node\($0)/hugepages" } ?? "/sys/kernel/mm/hugepages"
        return "\(base)/hugepages-\(size.kib)kB"
    }

    /// Makes `pages` pages of `size` free for the VM; returns what to give back later.
    public func reserve(_ pages: Int, of size: HugePageSize, node: Int? = nil) throws -> HugePageReservation {
        let folder = Self.poolFolder(size, node: node)
        guard fileSystem.isDirectory(folder) else { throw HugePageError.noPool(size: size, path: folder) }
        let pool = "\(folder)/nr_hugepages"
        let free = try count("\(folder)/free_hugepages")
        let missing = pages - free
        guard missing > 0 else { return HugePageReservation(pool: pool, added: 0) }
        let before = try count(pool)
        // Compaction makes room for 2M pages at run time; 1G pages rarely come without it.
        if fileSystem.exists("/proc/sys/vm/compact_memory") { try? fileSystem.writeAttribute("1", to: "/proc/sys/vm/compact_memory") }
        try fileSystem.writeAttribute(String(before + missing), to: pool)
        let got = try count(pool) - before
        guard got >= missing else {
            try fileSystem.writeAttribute(String(before), to: pool)
            throw HugePageError.shortfall(size: size, needed: pages, available: free + max(got, 0))
        }
        return HugePageReservation(pool: pool, added: missing)
    }

    /// Gives back what `reservation` added (never below the pages in use: the kernel keeps those).
    public func release(_ reservation: HugePageReservation) throws {
        try check(reservation)
        guard reservation.added > 0 else { return }
        let now = try count(reservation.pool)
        try fileSystem.writeAttribute(String(max(now - reservation.added, 0)), to: reservation.pool)
    }

    /// A record names an `nr_hugepages` file of a pool and a sane count, or it is refused.
    public func check(_ reservation: HugePageReservation) throws {
        let pool = reservation.pool
        let valid = pool.hasSuffix("/nr_hugepages")
            && HugePageSize.allCases.contains { size in
                pool == Self.poolFolder(size, node: nil) + "/nr_hugepages"
                    || (pool.hasPrefix("/sys/devices/system/node/node") && pool.hasSuffix("/hugepages/hugepages-\(size.kib)kB/nr_hugepages"))
            }
            && !pool.contains("..")
        guard valid, (0...1_000_000).contains(reservation.added) else {
            throw HugePageError.badRecord(path: pool, detail: "not a huge page pool, or an impossible count \(reservation.added)")
        }
    }

    private func count(_ path: String) throws -> Int {
        let text = try fileSystem.readTrimmed(path)
        guard let value = Int(text), value >= 0 else { throw HostError.malformed(path: path, detail: "not a page count: \(text)") }
        return value
    }
}
