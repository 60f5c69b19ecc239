// libFuzzer harness: what the guest agent sends, from arbitrary bytes. The first byte picks the size
// of the reads; each read goes through the sync-delimiter filter (stale bytes before the first 0xFF
// dropped), the line framer and the JSON parser, then to the receiver that routes replies, and each
// value is read as every reply the client decodes. Any crash, hang or sanitizer report is a bug.
import Synchronization
@testable import GuestAgent
@testable import QMP

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAgent(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let chunk = Int(data[0]) + 1
    let discarding = Atomic<Bool>(true)
    let receiver = AgentReceiver()
    var framer = LineFramer(maximumLineLength: 1024)
    var offset = 1
    while offset < size {
        let count = min(chunk, size - offset)
        let read = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 1)
        defer { read.deallocate() }
        read.copyMemory(from: UnsafeRawBufferPointer(start: data + offset, count: count))
        let kept = SyncDelimiterTransport.filter(read, count: count, discarding: discarding)
        precondition(kept <= count && !read[..<kept].contains(syncDelimiter))
        do {
            try framer.feed(UnsafeRawBufferPointer(rebasing: read[..<kept])) { line in
                guard let value = try? JSONParser.parse(line) else { return }
                receiver.received(value)
                decodeReplies(value)
            }
        } catch {
            return 0  // a line past the limit ends the connection
        }
        offset += count
    }
    return 0
}

private func decodeReplies(_ value: JSONValue) {
    let reply = value["return"] ?? value
    _ = GuestInfo.parse(guestInfo: reply)
    _ = GuestOSInfo.parse(reply)
    _ = GuestInterface.parse(list: reply)
    _ = try? GuestExecResult.parse(status: reply, pid: 1)
}
