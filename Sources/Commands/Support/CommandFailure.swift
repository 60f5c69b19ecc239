/// A run-time failure of a command whose command line was right: the root prints it as one line,
/// `vm: MESSAGE`, and exits with 1 (a `ValidationError` is for a wrong command line: usage and 64).
struct CommandFailure: Error, CustomStringConvertible {
    /// What went wrong, where, and the fix.
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
