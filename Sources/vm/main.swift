import Commands
import Logging

/// The `vm` executable: logs go to stderr; everything else lives in the `Commands` module.
@main
enum VMMain {
    static func main() async {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        await RootCommand.main()
    }
}
