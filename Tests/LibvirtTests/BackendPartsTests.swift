import Testing
import VMCore
@testable import Libvirt
@testable import LibvirtXML

/// Pure parts of the libvirt backend: URI reading, backend selection, state mapping, QMP replies.
@Suite struct BackendPartsTests {
    @Test(arguments: [
        ("qemu:///system", true, "qemu", nil, "", "/system"),
        ("qemu:///session", true, "qemu", nil, "", "/session"),
        ("qemu+unix:///system?socket=/run/x.sock", true, "qemu", "unix", "", "/system"),
        ("test:///default", true, "test", nil, "", "/default"),
        ("qemu+ssh://root@gpu-host/system", false, "qemu", "ssh", "gpu-host", "/system"),
        ("qemu+tls://gpu-host:16514/system", false, "qemu", "tls", "gpu-host", "/system"),
        ("qemu://[fd00::1]/system", false, "qemu", nil, "fd00::1", "/system"),
    ] as [(String, Bool, String, String?, String, String)])
    func uriParts(text: String, local: Bool, driver: String, transport: String?, host: String, path: String) {
        let uri = LibvirtURI(text)
        #expect(uri.isLocal == local)
        #expect(uri.driver == driver)
        #expect(uri.transport == transport)
        #expect(uri.host == host)
        #expect(uri.path == path)
    }

    @Test func pidFiles() {
        #expect(LibvirtURI("qemu:///system").qemuPidFile(domain: "win11", runtimeDirectory: nil) == "/run/libvirt/qemu/win11.pid")
        #expect(LibvirtURI("qemu:///session").qemuPidFile(domain: "win11", runtimeDirectory: "/run/user/1000")
                == "/run/user/1000/libvirt/qemu/run/win11.pid")
        #expect(LibvirtURI("qemu:///session").qemuPidFile(domain: "win11", runtimeDirectory: nil) == nil)
        #expect(LibvirtURI("qemu+ssh://host/system").qemuPidFile(domain: "win11", runtimeDirectory: nil) == nil)
        #expect(LibvirtURI("test:///default").qemuPidFile(domain: "win11", runtimeDirectory: nil) == nil)
    }

    @Test func backendSelection() throws {
        let defined = Backend.libvirt(uri: "qemu+ssh://host/system")
        #expect(try BackendSelection.resolve(definition: .qemu, backend: nil, connect: nil) == .qemu)
        #expect(try BackendSelection.resolve(definition: defined, backend: nil, connect: nil) == defined)
        #expect(try BackendSelection.resolve(definition: .qemu, backend: "libvirt", connect: nil) == .libvirt(uri: "qemu:///system"))
        #expect(try BackendSelection.resolve(definition: defined, backend: "libvirt", connect: nil) == defined)
        #expect(try BackendSelection.resolve(definition: defined, backend: "qemu", connect: nil) == .qemu)
        #expect(try BackendSelection.resolve(definition: .qemu, backend: nil, connect: "test:///default") == .libvirt(uri: "test:///default"))
        #expect(try BackendSelection.resolve(definition: defined, backend: "libvirt", connect: "qemu:///system") == .libvirt(uri: "qemu:///system"))
        #expect(throws: BackendSelection.Problem.connectWithQEMU) {
            try BackendSelection.resolve(definition: .qemu, backend: "qemu", connect: "qemu:///system")
        }
        #expect(throws: BackendSelection.Problem.unknownBackend("xen")) {
            try BackendSelection.resolve(definition: .qemu, backend: "xen", connect: nil)
        }
    }

    /// Where `vm status|list|down|gpu` look without `--backend`, as a function of what runs.
    @Test func locatingAVMWhereverItRuns() throws {
        let defined = Backend.libvirt(uri: "qemu+ssh://host/system")
        var asked: [String] = []
        func libvirt(_ answer: Bool) -> (String) -> Bool { { asked.append($0); return answer } }

        #expect(BackendSelection.locate(name: "w", definition: .qemu, qemuBackendRuns: true, libvirtRuns: libvirt(true))
            == .init(backend: .qemu))
        #expect(asked.isEmpty, "libvirt is not asked about a VM vm's own QEMU runs")
        #expect(BackendSelection.locate(name: "w", definition: .qemu, qemuBackendRuns: false, libvirtRuns: libvirt(false))
            == .init(backend: .qemu))
        let elsewhere = BackendSelection.locate(name: "w", definition: .qemu, qemuBackendRuns: false, libvirtRuns: libvirt(true))
        #expect(elsewhere == .init(backend: .libvirt(uri: "qemu:///system"),
                                   note: "runs as the libvirt domain w at qemu:///system, although its definition says backend = \"qemu\""))
        #expect(asked == ["qemu:///system", "qemu:///system"])

        asked = []
        #expect(BackendSelection.locate(name: "w", definition: defined, qemuBackendRuns: false, libvirtRuns: libvirt(true))
            == .init(backend: defined))
        let onQEMU = BackendSelection.locate(name: "w", definition: defined, qemuBackendRuns: true, libvirtRuns: libvirt(true))
        #expect(onQEMU.backend == .qemu)
        #expect(onQEMU.note == "runs on the QEMU backend (vm's own QEMU), although its definition says backend = \"libvirt\"")
        #expect(asked.isEmpty, "a libvirt definition's domain is asked by its own backend")

        #expect(onQEMU.note(before: "QMP busy") == "\(onQEMU.note!); QMP busy")
        #expect(BackendSelection.Location(backend: .qemu).note(before: nil) == nil)
        #expect(BackendSelection.Location(backend: .qemu).note(before: "x") == "x")
    }

    @Test func domainStatesMapToVMStates() {
        let expected: [DomainState: VMState] = [
            .noState: .running, .running: .running, .blocked: .running, .paused: .paused, .suspended: .paused,
            .shuttingDown: .shuttingDown, .shutOff: .stopped, .crashed: .crashed,
        ]
        for state in DomainState.allCases {
            #expect(state.vmState == expected[state])
        }
    }

    @Test func qmpReplies() {
        #expect(QMPReplyText.status(#"{"return":{"status":"paused","singlestep":false,"running":false},"id":"libvirt-9"}"#) == "paused")
        #expect(QMPReplyText.status(#"{"error":{"class":"GenericError","desc":"x"}}"#) == nil)
        #expect(QMPReplyText.status("not json") == nil)
        #expect(QMPReplyText.kvmEnabled(#"{"return":{"enabled":false,"present":true}}"#) == false)
        let pci = #"""
            {"return":[{"bus":0,"devices":[
              {"bus":0,"slot":2,"function":0,"qdev_id":"pci.1","pci_bridge":{"bus":{"number":1},"devices":[
                {"bus":1,"slot":0,"function":0,"qdev_id":"ua-gpu0-fn0"},
                {"bus":1,"slot":0,"function":1,"qdev_id":"ua-gpu0-fn1"}]}},
              {"bus":0,"slot":31,"function":0,"qdev_id":""}]}]}
            """#
        #expect(QMPReplyText.qdevIDs(pci).sorted() == ["pci.1", "ua-gpu0-fn0", "ua-gpu0-fn1"])
    }

    @Test func passthroughAliasesCoverEveryGPUFunction() {
        let machine = LibvirtMachine(spec: Fixtures.hotGPU, paths: Fixtures.paths, uri: "test:///default")
        #expect(machine.passthroughAliases() == ["ua-gpu0-fn0", "ua-gpu0-fn1"])
    }

    @Test func errorsSayWhatToDo() {
        let running = LibvirtBackendError.definedWithOtherContent(name: "win11", uri: "qemu:///system", running: true)
        #expect(running.description.contains("`vm down win11`"))
        #expect(running.description.contains("--redefine"))
        let off = LibvirtBackendError.definedWithOtherContent(name: "win11", uri: "qemu:///system", running: false)
        #expect(off.description.contains("`vm up win11 --redefine`"))
        #expect(LibvirtBackendError.alreadyRunning(name: "win11", uri: "qemu:///system", pid: 42).description.contains("`vm down win11`"))
    }
}
