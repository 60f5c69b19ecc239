import Commands
import Logging

/// The `vm` executable: logs go to stderr; everything else lives in the `Commands` module. It does
/// not link libvirt: a command that needs the libvirt backend continues in `vm-libvirt`. It starts
/// on the main actor, as ``RootCommand/main()`` does, so no thread hop comes before the parse.
@main
enum VMMain {
    @MainActor static func main() async {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        await RootCommand.main()
    }
}
