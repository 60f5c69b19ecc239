import ArgumentParser

/// Flags every VM command takes.
struct GlobalOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON.")
    var json = false

    @Flag(name: .long, help: "Log debug details (QMP wire log, QEMU command line) to stderr.")
    var debug = false
}
