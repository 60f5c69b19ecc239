import Foundation
import HostLinux
import HostLinuxFakes
import Testing
import VMCore

/// Huge pages reserved for a VM and given back, on a fake kernel whose pools grow only so far.
@Suite struct HugePageTests {
    static let pool2M = "/sys/kernel/mm/hugepages/hugepages-2048kB"

    func kernel(total: Int = 0, inUse: Int = 0, limit: Int) throws -> FakeKernel {
        let kernel = FakeKernel(tree: try FakeHostTree())
        try kernel.tree.file("/proc/sys/vm/compact_memory", "")
        try kernel.hugePagePool(Self.pool2M, total: total, inUse: inUse, limit: limit)
        return kernel
    }

    @Test("what is missing is added after compacting memory, and exactly that is given back")
    func reserveAndRelease() throws {
        let kernel = try kernel(total: 10, inUse: 4, limit: 1000)
        let reserver = HugePageReserver(fileSystem: kernel)
        let reservation = try reserver.reserve(HugePageSize.twoMiB.pages(for: 1024), of: .twoMiB)
        #expect(reservation == HugePageReservation(pool: Self.pool2M + "/nr_hugepages", added: 506))
        #expect(kernel.writes == ["/proc/sys/vm/compact_memory <- 1", Self.pool2M + "/nr_hugepages <- 516"])
        #expect(try kernel.readTrimmed(Self.pool2M + "/free_hugepages") == "512")
        try reserver.release(reservation)
        #expect(try kernel.readTrimmed(Self.pool2M + "/nr_hugepages") == "10")
    }

    @Test("enough free pages: nothing is written, nothing to give back")
    func enoughFree() throws {
        let kernel = try kernel(total: 600, limit: 600)
        let reservation = try HugePageReserver(fileSystem: kernel).reserve(512, of: .twoMiB)
        #expect(reservation.added == 0)
        #expect(kernel.writes.isEmpty)
    }

    @Test("a shortfall puts the pool back and says how many pages could be had and what to do")
    func shortfall() throws {
        let kernel = try kernel(total: 2, limit: 300)
        #expect(throws: HugePageError.shortfall(size: .twoMiB, needed: 512, available: 300)) {
            try HugePageReserver(fileSystem: kernel).reserve(512, of: .twoMiB)
        }
        #expect(try kernel.readTrimmed(Self.pool2M + "/nr_hugepages") == "2")
        #expect(HugePageError.shortfall(size: .oneGiB, needed: 16, available: 3).description.contains("hugepagesz=1G hugepages=16"))
    }

    @Test("a kernel without 1G pages says so")
    func missingPool() throws {
        let kernel = try kernel(limit: 10)
        #expect(throws: HugePageError.noPool(size: .oneGiB, path: "/sys/kernel/mm/hugepages/hugepages-1048576kB")) {
            try HugePageReserver(fileSystem: kernel).reserve(4, of: .oneGiB)
        }
    }

    @Test("a record naming anything but a pool is refused and nothing is written")
    func tamperedRecord() throws {
        let kernel = try kernel(total: 10, limit: 100)
        for pool in ["/sys/bus/pci/drivers/nvidia/unbind", "/sys/kernel/mm/hugepages/../../../etc/passwd/nr_hugepages"] {
            #expect(throws: HugePageError.self) { try HugePageReserver(fileSystem: kernel).release(HugePageReservation(pool: pool, added: 1)) }
        }
        #expect(throws: HugePageError.self) {
            try HugePageReserver(fileSystem: kernel).release(HugePageReservation(pool: Self.pool2M + "/nr_hugepages", added: -3))
        }
        #expect(kernel.writes.isEmpty)
        try HugePageReserver(fileSystem: kernel).release(HugePageReservation(
            pool: "/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages", added: 0))
    }
}
