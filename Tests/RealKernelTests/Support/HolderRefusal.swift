import Testing

/// The check of a `vm` command that the guest script ran while a process it started held one of the card's device
/// nodes open (`hold` in Guest/rk-lib.sh): the command exited non-zero, named the holder (pid, program, node) on stderr,
/// and left both functions on `drivers`.
struct HolderRefusal {
    var transcript: GuestTranscript

    /// Checks `step`, whose holder held a node starting with `nodePrefix` (`/dev/dri/card`, `/dev/snd/controlC`).
    func check(_ step: String, nodePrefix: String, drivers: [String], command: String) throws {
        let reported = try #require(transcript.holder(step), "no RK-HOLDER line for \(step)")
        let holder = try #require(reported, "no \(nodePrefix)N node at \(step)")
        #expect(holder.node.hasPrefix(nodePrefix))
        let status = try #require(transcript.exitStatus(step), "\(command) did not run at \(step)")
        #expect(status != 0, "\(command) went ahead although pid \(holder.pid) holds \(holder.node)")
        let message = transcript.standardError(step)
        #expect(message.contains("processes hold the card"), "stderr: \(message)")
        #expect(message.contains("\(holder.pid) \(holder.command) (\(holder.node))"), "stderr: \(message)")
        #expect(transcript.drivers(step) == drivers.map(Optional.some), "\(step): the functions moved")
    }
}
