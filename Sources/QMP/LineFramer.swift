/// Splits a byte stream into newline-terminated lines, refusing any line longer than a limit.
///
/// Pure and synchronous: feed it whatever `read` returned, take the complete lines out. The same
/// framing serves QMP and the QEMU guest agent.
public struct LineFramer: Sendable {
    /// The longest line accepted, newline excluded.
    public let maximumLineLength: Int
    private var pending: [UInt8] = []

    /// A line grew past ``maximumLineLength`` before its newline arrived.
    public struct LineTooLong: Error, Equatable, Sendable {
        public let limit: Int

        public init(limit: Int) { self.limit = limit }
    }

    public init(maximumLineLength: Int) {
        self.maximumLineLength = maximumLineLength
    }

    /// Bytes received after the last newline (a partial line).
    public var bufferedByteCount: Int { pending.count }

    /// Appends `chunk` and calls `line` for each complete line (newline and a trailing `\r`
    /// stripped, blank lines skipped), in order.
    public mutating func feed(
        _ chunk: UnsafeRawBufferPointer,
        line: (UnsafeBufferPointer<UInt8>) throws -> Void
    ) throws {
        let bytes = chunk.bindMemory(to: UInt8.self)
        var start = 0
        while let newline = bytes[start...].firstIndex(of: 0x0A) {
            if pending.isEmpty {
                try emit(UnsafeBufferPointer(rebasing: bytes[start..<newline]), line)
            } else {
                pending.append(contentsOf: bytes[start..<newline])
                guard pending.count <= maximumLineLength else { throw LineTooLong(limit: maximumLineLength) }
                let whole = pending
                pending.removeAll(keepingCapacity: pending.capacity <= 1 << 16)
                try whole.withUnsafeBufferPointer { try emit($0, line) }
            }
            start = newline + 1
        }
        if start < bytes.count {
            pending.append(contentsOf: bytes[start...])
            guard pending.count <= maximumLineLength else { throw LineTooLong(limit: maximumLineLength) }
        }
    }

    private func emit(
        _ raw: UnsafeBufferPointer<UInt8>, _ line: (UnsafeBufferPointer<UInt8>) throws -> Void
    ) throws {
        guard raw.count <= maximumLineLength else { throw LineTooLong(limit: maximumLineLength) }
        var trimmed = raw
        if let last = trimmed.last, last == 0x0D { trimmed = UnsafeBufferPointer(rebasing: trimmed.dropLast()) }
        if trimmed.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
        try line(trimmed)
    }
}
