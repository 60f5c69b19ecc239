import QMP

extension GuestAgentClient {
    /// `guest-ping`: succeeds when the agent answers.
    public func ping(timeout: Duration? = nil) async throws(GuestAgentError) {
        _ = try await execute("guest-ping", timeout: timeout)
    }

    /// The agent version and enabled commands, plus the OS and network interfaces where the
    /// agent supports those commands (a failure there is a note, not an error).
    public func info() async throws(GuestAgentError) -> GuestInfo {
        let reply = try await execute("guest-info")
        guard var info = GuestInfo.parse(guestInfo: reply) else {
            throw .unexpectedReply(command: "guest-info", reply: reply.description)
        }
        if info.enabledCommands.contains("guest-get-osinfo") {
            do {
                info.os = GuestOSInfo.parse(try await execute("guest-get-osinfo"))
            } catch {
                info.notes.append("guest-get-osinfo: \(error)")
            }
        }
        if info.enabledCommands.contains("guest-network-get-interfaces") {
            do {
                let reply = try await execute("guest-network-get-interfaces")
                info.interfaces = GuestInterface.parse(list: reply)
                if info.interfaces == nil { info.notes.append("guest-network-get-interfaces: unexpected reply") }
            } catch {
                info.notes.append("guest-network-get-interfaces: \(error)")
            }
        }
        return info
    }

    /// Starts `path` with `arguments` in the guest (`guest-exec`), then polls `guest-exec-status`
    /// until it ends or `timeout` passes (``GuestAgentError/execTimedOut(pid:seconds:)``).
    /// With `captureOutput`, stdout and stderr come back decoded.
    public func exec(path: String, arguments: [String] = [], captureOutput: Bool = true,
                     timeout: Duration = .seconds(60), pollInterval: Duration = .milliseconds(100)) async throws(GuestAgentError) -> GuestExecResult {
        let started = try await execute("guest-exec", arguments: [
            "path": .string(path), "arg": .array(arguments.map(JSONValue.string)), "capture-output": .bool(captureOutput),
        ])
        guard let pid = started["pid"]?.intValue else {
            throw .unexpectedReply(command: "guest-exec", reply: started.description)
        }
        let deadline = ContinuousClock.now + timeout
        while true {
            let status = try await execute("guest-exec-status", arguments: ["pid": .int(pid)])
            if let result = try GuestExecResult.parse(status: status, pid: pid) { return result }
            guard ContinuousClock.now < deadline else { throw .execTimedOut(pid: pid, seconds: seconds(timeout)) }
            do {
                try await Task.sleep(for: pollInterval)
            } catch {
                throw .closed
            }
        }
    }
}
