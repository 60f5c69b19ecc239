import Foundation
import HostLinux
import HostLinuxFakes
import Testing
import VMCore

/// Host CPU isolation with cpusets (cgroup v2, and v1's cpuset hierarchy), on a fake kernel that moves processes between
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

    @Test("cgroup v1's cpuset hierarchy: the new cpusets get CPUs and memory nodes before processes; all undone")
    func isolateAndRestoreOnCgroupV1() throws {
        let kernel = FakeKernel(tree: try FakeHostTree())
        let v1 = CgroupHierarchy.cpusetV1.root
        try kernel.cpusetV1Tree(processes: [1, 2, 300, 777], children: ["machine.slice": [400]], cpus: "0-31")
        let isolator = CPUIsolator(fileSystem: kernel)
        #expect(try isolator.hierarchy() == .cpusetV1)
        let isolation = try isolator.isolate(vm: "win11", qemuPID: 777, hostCPUs: [0, 16])
        #expect(isolation.hostCgroup == "\(v1)/vm-host" && isolation.vmCgroup == "\(v1)/vm-win11" && !isolation.enabledCpuset)
        #expect(try kernel.processes(in: "\(v1)/vm-win11") == [777])
        #expect(try kernel.processes(in: "\(v1)/vm-host") == [1, 2, 300])
        #expect(try kernel.readTrimmed("\(v1)/vm-host/cpuset.cpus") == "0,16" && kernel.readTrimmed("\(v1)/vm-host/cpuset.mems") == "0")
        #expect(try kernel.readTrimmed("\(v1)/vm-win11/cpuset.cpus") == "0-31", "QEMU's own cpuset keeps every CPU")
        #expect(try kernel.readTrimmed("\(v1)/machine.slice/cpuset.cpus") == "0,16")
        #expect(try kernel.processes(in: "\(v1)/machine.slice") == [400])

        try isolator.restore(isolation)
        #expect(!kernel.exists("\(v1)/vm-host") && !kernel.exists("\(v1)/vm-win11"))
        #expect(try kernel.processes(in: v1).sorted() == [1, 2, 300, 777])
        #expect(try kernel.readTrimmed("\(v1)/machine.slice/cpuset.cpus") == "0-31")
        #expect(!kernel.writes.contains { $0.contains("subtree_control") }, "v1 has no subtree_control")
    }

    @Test("without a cpuset hierarchy (v2 or v1) nothing is changed and the message says what is needed")
    func unsupported() throws {
        let kernel = FakeKernel(tree: try FakeHostTree())
        #expect(throws: CPUIsolationError.self) { try CPUIsolator(fileSystem: kernel).isolate(vm: "w", qemuPID: 1, hostCPUs: [0]) }
        #expect(kernel.writes.isEmpty)
    }

    @Test("a record naming other cgroups is refused and nothing is written")
    func tamperedRecord() throws {
        let kernel = try kernel()
        let bad = [
            CPUIsolation(vmCgroup: "/sys/fs/cgroup/system.slice", hostCgroup: CgroupHierarchy.unified.hostCgroup, narrowed: [], enabledCpuset: false),
            CPUIsolation(vmCgroup: "/sys/fs/cgroup/vm-w", hostCgroup: CgroupHierarchy.unified.hostCgroup,
                         narrowed: [.init(cgroup: "/sys/fs/cgroup/../../etc", previous: "")], enabledCpuset: false),
            CPUIsolation(vmCgroup: "/sys/fs/cgroup/vm-w", hostCgroup: CgroupHierarchy.unified.hostCgroup,
                         narrowed: [.init(cgroup: "/sys/fs/cgroup/user.slice", previous: "0; rm -rf /")], enabledCpuset: false),
            CPUIsolation(vmCgroup: "/sys/fs/cgroup/vm-w", hostCgroup: CgroupHierarchy.cpusetV1.hostCgroup, narrowed: [], enabledCpuset: false),
            CPUIsolation(vmCgroup: "/sys/fs/cgroup/vm-w", hostCgroup: "/sys/fs/cgroup/system.slice", narrowed: [], enabledCpuset: false),
        ]
        for record in bad {
            #expect(throws: CPUIsolationError.self) { try CPUIsolator(fileSystem: kernel).restore(record) }
        }
        #expect(kernel.writes.isEmpty)
    }
}
