import GuestSupport
import Foundation
import VMCore
@testable import Libvirt

/// One test's VM for the libvirt backend: a unique domain name, a private (0700) folder for
/// `vm`'s state under /tmp, and cleanup that destroys and undefines the domain whatever happened.
final class LibvirtScratch: @unchecked Sendable {
    let root: String
    let uri: String
    let name: VMName
    let paths: VMPaths
    /// Held for the test's lifetime: the test driver frees its shared `test:///default` state
    /// when the last connection closes, and `LibvirtMachine` opens one per call.
    let connection: LibvirtConnection

    init(uri: String) throws {
        connection = try LibvirtConnection(uri: uri)
        var template = Array("/tmp/vml-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        root = String(cString: made)
        self.uri = uri
        name = try VMName("vmt-\(UUID().uuidString.prefix(8).lowercased())")
        paths = VMPaths(runtimeDirectory: "\(root)/r/\(name)", stateDirectory: "\(root)/s/\(name)")
    }

    /// The test-bed guest under TCG: direct kernel boot, SeaBIOS, no disk, NIC or display, 1 vCPU.
    func testBedSpec(_ bed: TestBed, extraCmdline: String = "") -> VMSpec {
        var spec = VMSpec(name: name)
        spec.accelerator = .tcg
        spec.memoryMiB = 256
        spec.cpu.cores = 1
        spec.cpu.model = "max"
        spec.firmware.kind = .bios
        spec.kernelBoot = KernelBoot(kernel: bed.kernel, initrd: bed.initrd, append: "\(bed.cmdline) \(extraCmdline)")
        spec.network.mode = .none
        return spec
    }

    func machine(_ spec: VMSpec, redefine: Bool = false) -> LibvirtMachine {
        LibvirtMachine(spec: spec, paths: paths, uri: uri, redefine: redefine)
    }

    /// Waits until the guest's serial log holds `marker`.
    func waitForSerial(_ marker: String, timeout: Duration = .seconds(120)) async throws {
        try await Scratch.waitForSerial(in: paths.serialLog, marker: marker, timeout: timeout)
    }

    deinit {
        if let domain = try? connection.domainIfDefined(named: name.rawValue) {
            try? domain.destroy()
            // The test driver knows no NVRAM flags; `.keep` falls back to none there.
            if (try? domain.undefine(nvram: .remove)) == nil { try? domain.undefine() }
        }
        try? FileManager.default.removeItem(atPath: root)
    }
}
