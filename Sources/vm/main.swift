import Commands
import Logging

/// The `vm` executable: logs go to stderr; everything else lives in the `Commands` module. It does
/// not link libvirt: a command that needs the libvirt backend continues in `vm-libvirt`.
@main
enum VMMain {
    static func main() async {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        await RootCommand.main()
    }
}
