import Commands
import LibvirtBackend
import Logging

/// `vm-libvirt`: the `vm` command tree with the libvirt backend linked in. `vm` runs it in its own
/// place for commands on libvirt-backed VMs; it can also be run directly, like `vm`.
@main
enum VMLibvirtMain {
    static func main() async {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        await LibvirtLink.withProvider(LinkedLibvirt()) {
            await RootCommand.main()
        }
    }
}
