// libFuzzer harness: what the guest agent sends, from arbitrary bytes, read as a stream of JSON
// lines (Fuzz/Common) behind the sync-delimiter filter (stale bytes before the first 0xFF dropped).
// Each value goes to the receiver that routes replies and is read as every reply the client
// decodes. Any crash, hang or sanitizer report is a bug.
import Synchronization
@testable import GuestAgent
@testable import QMP

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAgent(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let discarding = Atomic<Bool>(true)
    let receiver = AgentReceiver()
    forEachJSONLine(data, size, filter: { read, count in
        let kept = SyncDelimiterTransport.filter(read, count: count, discarding: discarding)
        precondition(!read[..<kept].contains(syncDelimiter))
        return kept
    }) { value in
        receiver.received(value)
        let reply = value["return"] ?? value
        _ = GuestInfo.parse(guestInfo: reply)
        _ = GuestOSInfo.parse(reply)
        _ = GuestInterface.parse(list: reply)
        _ = try? GuestExecResult.parse(status: reply, pid: 1)
    }
    return 0
}
