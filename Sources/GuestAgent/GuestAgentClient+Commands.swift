import QMP

/// Where agent commands go: a connection to the agent's socket (``GuestAgentClient``), or a
/// hypervisor that forwards them (libvirt's `virDomainQemuAgentCommand`). The typed commands
/// below work over either.
public protocol GuestAgentChannel: Sendable {
    /// Runs an agent command and returns its `return` value; a nil `timeout` is the channel's own.
    func agentCommand(_ command: String, arguments: [String: JSONValue]?, timeout: Duration?) async throws(GuestAgentError) -> JSONValue
}

extension GuestAgentClient: GuestAgentChannel {
    public func agentCommand(_ command: String, arguments: [String: JSONValue]?, timeout: Duration?) async throws(GuestAgentError) -> JSONValue {
        try await execute(command, arguments: arguments, timeout: timeout)
    }
}

extension GuestAgentChannel {
    /// `guest-ping`: succeeds when the agent answers.
    public func ping(timeout: Duration? = nil) async throws(GuestAgentError) {
        _ = try await agentCommand("guest-ping", arguments: nil, timeout: timeout)
    }

    /// The agent version and enabled commands, plus the OS and network interfaces where the
    /// agent supports those commands (a failure there is a note, not an error).
    public func info() async throws(GuestAgentError) -> GuestInfo {
        let reply = try await agentCommand("guest-info", arguments: nil, timeout: nil)
        guard var info = GuestInfo.parse(guestInfo: reply) else {
            throw .unexpectedReply(command: "guest-info", reply: reply.description)
        }
        if info.enabledCommands.contains("guest-get-osinfo") {
            do {
                info.os = GuestOSInfo.parse(try await agentCommand("guest-get-osinfo", arguments: nil, timeout: nil))
            } catch {
                info.notes.append("guest-get-osinfo: \(error)")
            }
        }
        if info.enabledCommands.contains("guest-network-get-interfaces") {
            do {
                let reply = try await agentCommand("guest-network-get-interfaces", arguments: nil, timeout: nil)
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
        let started = try await agentCommand("guest-exec", arguments: [
            "path": .string(path), "arg": .array(arguments.map(JSONValue.string)), "capture-output": .bool(captureOutput),
        ], timeout: nil)
        guard let pid = started["pid"]?.intValue else {
            throw .unexpectedReply(command: "guest-exec", reply: started.description)
        }
        let deadline = ContinuousClock.now + timeout
        while true {
            let status = try await agentCommand("guest-exec-status", arguments: ["pid": .int(pid)], timeout: nil)
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
