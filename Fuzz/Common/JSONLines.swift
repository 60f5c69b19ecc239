// Shared by the qmp and agent harnesses: arbitrary bytes as a JSON-line stream.
import QMP

/// Reads `data` as a peer's stream would arrive: the first byte sets the size of each read (1 to
/// 256 bytes), `filter` may rewrite a read in place (returning how many bytes it kept), and the
/// line framer (1024-byte lines) and the JSON parser turn it into values for `body`.
func forEachJSONLine(
    _ data: UnsafePointer<UInt8>, _ size: Int,
    filter: (UnsafeMutableRawBufferPointer, Int) -> Int = { $1 },
    _ body: (JSONValue) -> Void
) {
    guard size > 0 else { return }
    let chunk = Int(data[0]) + 1
    var framer = LineFramer(maximumLineLength: 1024)
    var offset = 1
    while offset < size {
        let count = min(chunk, size - offset)
        let read = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 1)
        defer { read.deallocate() }
        read.copyMemory(from: UnsafeRawBufferPointer(start: data + offset, count: count))
        let kept = filter(read, count)
        precondition(kept <= count)
        do {
            try framer.feed(UnsafeRawBufferPointer(rebasing: read[..<kept])) { line in
                precondition(line.count <= 1024 && !line.contains(0x0A))
                guard let value = try? JSONParser.parse(line) else { return }
                body(value)
            }
        } catch {
            return  // a line past the limit ends the connection
        }
        offset += count
    }
}
