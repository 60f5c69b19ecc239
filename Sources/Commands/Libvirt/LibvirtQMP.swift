import FoundationEssentials
import Glibc
import QMP
import VMCore

/// `vm qmp` for a VM whose definition says `backend = "libvirt"`: libvirtd owns QEMU's monitor,
/// so commands go through libvirt's QMP pass-through (`virDomainQemuMonitorCommand`).
enum LibvirtQMP {
    /// Why a command through libvirt did not give a result.
    enum Failure: Error, CustomStringConvertible {
        case eventsUnsupported(name: String)
        case qmpError(String)
        case badReply(String)

        var description: String {
            switch self {
            case .eventsUnsupported(let name):
                return "\(name) runs under libvirt, which owns QEMU's event stream; `virsh qemu-monitor-event \(name)` follows it"
            case .qmpError(let text): return "QEMU refused the command: \(text)"
            case .badReply(let text): return "libvirt returned a reply that is not QMP JSON: \(text)"
            }
        }
    }

    /// Sends `command` to libvirt domain `name` and returns QMP's `return` value; an `error` reply throws.
    static func execute(uri: String, domain name: String, command: String, arguments: [String: JSONValue]?) throws -> JSONValue {
        var object: [String: JSONValue] = ["execute": .string(command)]
        if let arguments { object["arguments"] = .object(arguments) }
        let text = try LibvirtLink.provider().monitorCommand(uri: uri, domain: name, json: JSONWriter.string(.object(object), sortedKeys: true))
        let reply: JSONValue
        do {
            reply = try JSONParser.parse(text)
        } catch {
            throw Failure.badReply(text)
        }
        if let error = reply["error"] {
            let kind = error["class"]?.stringValue ?? "Error"
            throw Failure.qmpError("\(kind): \(error["desc"]?.stringValue ?? JSONWriter.string(error))")
        }
        guard let result = reply["return"] else { throw Failure.badReply(text) }
        return result
    }
}
