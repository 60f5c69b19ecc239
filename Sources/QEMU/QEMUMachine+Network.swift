import FoundationEssentials
import Glibc
import Network
import VMCore

extension QEMUMachine {
    /// Refuses a start that QEMU's bridge helper would fail (no `allow BRIDGE` in
    /// `/etc/qemu/bridge.conf`, no helper), with the fix, before QEMU is launched: otherwise QEMU
    /// ends at once with the helper's raw message.
    func checkNetworkCanAttach() throws {
        guard spec.network.mode == .bridge else { return }
        let facts = NetworkFactsReader(fileSystem: hostFileSystem).read(for: spec.network, uid: getuid())
        let problems = NetworkCheck.bridgeHelperProblems(spec.network, facts)
        guard problems.isEmpty else { throw StartRefusal.networkNotReady(problems.map { "\($0.problem); fix: \($0.fix)" }) }
    }
}
