import QMP

/// Sends one QMP command (a JSON object such as `{"execute":"query-status"}`) to the QEMU of
/// libvirt domain `domain` at `uri`, through libvirt (`virDomainQemuMonitorCommand`), and returns
/// QEMU's reply as JSON text (`{"return": ...}` or `{"error": ...}`). This is how `vm qmp` reaches
/// a libvirt-managed VM, whose monitor socket belongs to libvirtd. libvirt marks the domain tainted.
public func qemuMonitorCommand(uri: String, domain: String, json: String) throws -> String {
    try LibvirtMachine.connect(uri).domain(named: domain).qemuMonitorCommand(json)
}

/// Reading QMP replies that came back through libvirt as text, with the QMP module's parser.
enum QMPReplyText {
    /// The `return` member of a reply, or nil for an error reply or text that is not JSON.
    static func returnValue(_ reply: String) -> JSONValue? {
        (try? JSONParser.parse(reply))?["return"]
    }

    /// `status` of a `query-status` reply (`running`, `paused`, `internal-error`, ...).
    static func status(_ reply: String) -> String? {
        returnValue(reply)?["status"]?.stringValue
    }

    /// `enabled` of a `query-kvm` reply.
    static func kvmEnabled(_ reply: String) -> Bool? {
        returnValue(reply)?["enabled"]?.boolValue
    }

    /// Every `qdev_id` in a `query-pci` reply, behind bridges and root ports too.
    static func qdevIDs(_ reply: String) -> [String] {
        var ids: [String] = []
        func walk(_ value: JSONValue) {
            if let object = value.objectValue {
                if let id = object["qdev_id"]?.stringValue, !id.isEmpty { ids.append(id) }
                object.values.forEach(walk)
            } else if let array = value.arrayValue {
                array.forEach(walk)
            }
        }
        returnValue(reply).map(walk)
        return ids
    }
}
