import CLibvirt
import Foundation
import GuestAgent
import QMP

/// The QEMU guest agent of a libvirt domain, reached through libvirt
/// (`virDomainQemuAgentCommand`): on that backend libvirtd owns the agent's socket. Each command
/// blocks in libvirt until the agent answers, so it runs on a thread of its own, never on a
/// Swift concurrency thread.
public struct LibvirtGuestAgent: GuestAgentChannel {
    public let uri: String
    public let domain: String

    public init(uri: String, domain: String) {
        self.uri = uri
        self.domain = domain
    }

    public func agentCommand(_ command: String, arguments: [String: JSONValue]?, timeout: Duration?) async throws(GuestAgentError) -> JSONValue {
        var message: [String: JSONValue] = ["execute": .string(command)]
        if let arguments { message["arguments"] = .object(arguments) }
        let json = JSONWriter.string(.object(message))
        // libvirt counts whole seconds; nil is its own default.
        let seconds = timeout.map { Int32(max(1, ($0 + .milliseconds(999)).components.seconds)) } ?? VIR_DOMAIN_QEMU_AGENT_COMMAND_DEFAULT.rawValue
        let (uri, domain) = (uri, domain)
        let outcome: Result<String, any Error> = await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(returning: Result { try LibvirtMachine.domain(named: domain, uri: uri).agentCommand(json, timeoutSeconds: seconds) })
            }
            thread.name = "libvirt-agent"
            thread.start()
        }
        let reply: String
        switch outcome {
        case .success(let text): reply = text
        case .failure(let error): throw Self.agentError(error, command: command)
        }
        guard let value = (try? JSONParser.parse(reply))?["return"] else {
            throw .unexpectedReply(command: command, reply: reply)
        }
        return value
    }

    /// libvirt's refusal with its own words ("Guest agent is not responding: QEMU guest agent is
    /// not connected" while qemu-ga is not up, the agent's error for a failed command).
    static func agentError(_ error: any Error, command: String) -> GuestAgentError {
        guard case LibvirtError.api(_, _, _, let message) = error else {
            return .commandFailed(command: command, errorClass: "libvirt", description: "\(error)")
        }
        return .commandFailed(command: command, errorClass: "libvirt", description: message)
    }
}

extension LibvirtDomain {
    /// Sends one guest-agent command (JSON) through libvirt and returns the agent's reply;
    /// blocks up to `timeoutSeconds` (libvirt's `VIR_DOMAIN_QEMU_AGENT_COMMAND_*` values apply).
    public func agentCommand(_ json: String, timeoutSeconds: Int32) throws(LibvirtError) -> String {
        guard let reply = takeString(virDomainQemuAgentCommand(pointer, json, timeoutSeconds, 0)) else {
            throw LibvirtError.last("virDomainQemuAgentCommand(\(name))")
        }
        return reply
    }
}
