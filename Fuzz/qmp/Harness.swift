// libFuzzer harness: what a QMP server sends, from arbitrary bytes, read as a stream of JSON lines
// (Fuzz/Common). A parsed value must survive JSON's writer and parser unchanged, and objects are
// read as QEMU's greeting, an event and a query-pci reply. Any crash, hang or sanitizer report is a bug.
@testable import QMP

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzQMP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    forEachJSONLine(data, size) { value in
        if isFinite(value) {
            let again = try? JSONParser.parse(JSONWriter.bytes(value))
            precondition(again == value, "JSON writer and parser disagree")
        }
        guard case .object(let members) = value else { return }
        _ = QMPGreeting(message: value)
        _ = QMPEvent(message: members)
        if let reply = members["return"] { _ = QMPPCIDevice.flatten(queryPCI: reply) }
    }
    return 0
}

/// Non-finite numbers are written as null, so they do not round-trip.
private func isFinite(_ value: JSONValue) -> Bool {
    switch value {
    case .double(let number): return number.isFinite
    case .array(let items): return items.allSatisfy(isFinite)
    case .object(let members): return members.values.allSatisfy(isFinite)
    default: return true
    }
}
