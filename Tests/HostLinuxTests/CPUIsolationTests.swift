import Foundation
import HostLinux
import HostLinuxFakes
import Testing
import VMCore

/// Host CPU isolation with cgroup v2 cpusets, on a fake kernel that moves processes between
/// cgroups as the real one does (this machine's own cgroups are never touched).
@Suite struct CPUIsolationTests {
    static let root = "/sys/fs/cgroup"

    func kernel() throws -> FakeKernel {
        let kernel = FakeKernel(tree: try FakeHostTree())
        try kernel.cgroupTree(processes: [1, 2, 300], children: ["system.slice": [400, 401], "user.slice": [500, 777]])
        return kernel
    }

    @Test("QEMU gets a cgroup of its own; every other cgroup and the root's processes keep to the host CPUs; all undone")
    func isolateAndRestore() throws {
        let kernel = try kernel()
        let isolator = CPUIsolator(fileSystem: kernel)
        let isolation = try isolator.isolate(vm: "win11", qemuPID: 777, hostCPUs: [0, 16])
        #expect(try kernel.processes(in: "\(Self.root)/vm-win11") == [777])
        #expect(try kernel.processes(in: "\(Self.root)/user.slice") == [500])
        #expect(try kernel.processes(in: "\(Self.root)/vm-host") == [1, 2, 300])
        for cgroup in ["vm-host", "system.slice", "user.slice"] {
            #expect(try kernel.readTrimmed("\(Self.root)/\(cgroup)/cpuset.cpus") == "0,16", "\(cgroup)")
        }
        #expect(try kernel.readTrimmed("\(Self.root)/vm-win11/cpuset.cpus") == "", "QEMU's own cgroup keeps every CPU")
        #expect(isolation.enabledCpuset)
        #expect(isolation.narrowed.map(\.cgroup) == ["\(Self.root)/system.slice", "\(Self.root)/user.slice"])

        #expect(throws: CPUIsolationError.busy("\(Self.root)/vm-host")) {
            try isolator.isolate(vm: "other", qemuPID: 900, hostCPUs: [0])
        }

        try isolator.restore(isolation)
        #expect(!kernel.exists("\(Self.root)/vm-host") && !kernel.exists("\(Self.root)/vm-win11"))
        #expect(try kernel.processes(in: Self.root).sorted() == [1, 2, 300, 777])
        #expect(try kernel.readTrimmed("\(Self.root)/system.slice/cpuset.cpus") == "")
        #expect(try kernel.readTrimmed("\(Self.root)/cgroup.subtree_control") == "-cpuset")
    }

    @Test("without cgroup v2's cpuset nothing is changed and the message says what is needed")
    func unsupported() throws {
        let kernel = FakeKernel(tree: try FakeHostTree())
        #expect(throws: CPUIsolationError.self) { try CPUIsolator(fileSystem: kernel).isolate(vm: "w", qemuPID: 1, hostCPUs: [0]) }
        #expect(kernel.writes.isEmpty)
    }

    @Test("a record naming other cgroups is refused and nothing is written")
    func tamperedRecord() throws {
        let kernel = try kernel()
        let bad = [
            CPUIsolation(vmCgroup: "/sys/fs/cgroup/system.slice", hostCgroup: CPUIsolator.hostCgroup, narrowed: [], enabledCpuset: false),
            CPUIsolation(vmCgroup: "/sys/fs/cgroup/vm-w", hostCgroup: CPUIsolator.hostCgroup,
                         narrowed: [.init(cgroup: "/sys/fs/cgroup/../../etc", previous: "")], enabledCpuset: false),
            CPUIsolation(vmCgroup: "/sys/fs/cgroup/vm-w", hostCgroup: CPUIsolator.hostCgroup,
                         narrowed: [.init(cgroup: "/sys/fs/cgroup/user.slice", previous: "0; rm -rf /")], enabledCpuset: false),
        ]
        for record in bad {
            #expect(throws: CPUIsolationError.self) { try CPUIsolator(fileSystem: kernel).restore(record) }
        }
        #expect(kernel.writes.isEmpty)
    }
}
