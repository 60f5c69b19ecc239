import Testing

extension GuestTranscript {
    /// Requires `step` to have run and exited 0 (with its stderr in the failure message).
    func requireSucceeded(_ step: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let status = try #require(exitStatus(step), "\(step) did not run", sourceLocation: sourceLocation)
        try #require(status == 0, "\(step) exited \(status): \(standardError(step))", sourceLocation: sourceLocation)
    }
}
