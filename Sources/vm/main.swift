import Commands

/// The `vm` executable: everything lives in the `Commands` module.
@main
enum VMMain {
    static func main() async {
        await RootCommand.main()
    }
}
