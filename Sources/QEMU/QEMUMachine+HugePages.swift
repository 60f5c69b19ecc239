import Foundation
import HostLinux
import VMCore

extension QEMUMachine {
    /// Reserves the huge pages `hugepages = "2M" | "1G"` asks for (on the NUMA node of the first
    /// pinned vCPU when the host has several) and records them in the state folder.
    func reserveHugePages() throws {
        guard let size = spec.hugepages else { return }
        var node: Int?
        if case .explicit(let pins) = spec.cpu.pin, let first = pins.vcpus.first,
           let topology = try? CPUTopologyReader(fileSystem: hostFileSystem).read(), topology.nodes.count > 1 {
            node = topology.cpu(first)?.node
        }
        let reservation = try HugePageReserver(fileSystem: hostFileSystem).reserve(size.pages(for: spec.memoryMiB), of: size, node: node)
        do {
            let data = try JSONEncoder().encode(reservation)
            try data.write(to: URL(fileURLWithPath: paths.hugePagesRecord), options: .atomic)
            chmod(paths.hugePagesRecord, 0o600)
        } catch {
            try? HugePageReserver(fileSystem: hostFileSystem).release(reservation)
            throw error
        }
    }

    /// Gives back the huge pages a run of this VM reserved, when its record says it did. A record
    /// that does not name a huge page pool is refused and left for the user to look at.
    func releaseHugePages() throws {
        guard let data = FileManager.default.contents(atPath: paths.hugePagesRecord) else { return }
        guard let reservation = try? JSONDecoder().decode(HugePageReservation.self, from: data) else {
            throw HugePageError.badRecord(path: paths.hugePagesRecord, detail: "not a huge page record")
        }
        try HugePageReserver(fileSystem: hostFileSystem).release(reservation)
        try FileManager.default.removeItem(atPath: paths.hugePagesRecord)
    }
}
