// libFuzzer harness: what a QMP server sends, from arbitrary bytes. The first byte picks the size of
// the chunks the line framer is fed (as reads split a stream); each line goes through the JSON parser,
// a parsed value must survive JSON's writer and parser unchanged, and objects are read as QEMU's
// greeting, an event and a query-pci reply. Any crash, hang or sanitizer report is a bug.
@testable import QMP

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzQMP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let chunk = Int(data[0]) + 1
    var framer = LineFramer(maximumLineLength: 1024)
    var offset = 1
    while offset < size {
        let count = min(chunk, size - offset)
        do {
            try framer.feed(UnsafeRawBufferPointer(start: data + offset, count: count)) { line in
                precondition(line.count <= 1024 && !line.contains(0x0A))
                guard let value = try? JSONParser.parse(line) else { return }
                check(value)
            }
        } catch {
            return 0  // a line past the limit ends the connection
        }
        offset += count
    }
    return 0
}

private func check(_ value: JSONValue) {
    if isFinite(value) {
        let again = try? JSONParser.parse(JSONWriter.bytes(value))
        precondition(again == value, "JSON writer and parser disagree")
    }
    guard case .object(let members) = value else { return }
    _ = QMPGreeting(message: value)
    _ = QMPEvent(message: members)
    if let reply = members["return"] { _ = QMPPCIDevice.flatten(queryPCI: reply) }
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
