import FoundationEssentials
import Glibc
import Synchronization
import OSThreads

/// Why a ``JSONLineConnection`` stopped reading.
public enum JSONLineEnd: Sendable, Equatable {
    /// The peer closed the stream; `unterminatedBytes` were left without a newline.
    case endOfStream(unterminatedBytes: Int)
    /// ``JSONLineConnection/close()`` was called.
    case closedLocally
    /// A line grew past the size limit.
    case lineTooLong(limit: Int)
    /// A line was not one JSON value; `excerpt` is its start.
    case malformed(excerpt: String, error: JSONParseError)
    /// Reading failed.
    case transportFailed(TransportError)
}

/// Receives what a ``JSONLineConnection`` reads. Every call comes from the connection's reader
/// thread, in stream order, so implementations see messages and timer ticks serially.
public protocol JSONLineReceiver: Sendable {
    /// One decoded line.
    func received(_ message: JSONValue)
    /// A time requested with ``JSONLineConnection/scheduleWake(at:)`` has come.
    func timerFired(now: ContinuousClock.Instant)
    /// The stream ended; no further calls follow.
    func ended(_ reason: JSONLineEnd)
}

/// Newline-delimited JSON over a ``ByteTransport``: one dedicated reader thread frames and decodes
/// lines and hands them to a ``JSONLineReceiver``; any thread may send. The reader also keeps a
/// single timer so the layer above can enforce deadlines without a task per request.
///
/// Used by the QMP client; the QEMU guest agent speaks the same framing.
public final class JSONLineConnection: Sendable {
    /// Bytes read per system call.
    static let readChunk = 64 * 1024

    private struct TimerState {
        /// Earliest requested wake-up not yet delivered.
        var wakeAt: ContinuousClock.Instant?
        /// Whether the reader is (about to be) blocked in a read.
        var sleeping = false
        /// When that read times out on its own (`nil`: never).
        var sleepingUntil: ContinuousClock.Instant?
        var started = false
    }

    private let transport: any ByteTransport
    private let maximumLineLength: Int
    private let wireLog: WireLog?
    private let timer = Mutex(TimerState())
    private let writeLock = Mutex(())
    private let closeRequested = Atomic<Bool>(false)
    /// Runs tasks that prefer it on the reader thread; see ``ReaderThreadExecutor``.
    public let executor: ReaderThreadExecutor

    /// - Parameters:
    ///   - maximumLineLength: longer incoming lines end the connection with ``JSONLineEnd/lineTooLong(limit:)``.
    ///   - wireLog: records every line in both directions when set.
    public init(transport: any ByteTransport, maximumLineLength: Int, wireLog: WireLog? = nil) {
        self.transport = transport
        self.maximumLineLength = maximumLineLength
        self.wireLog = wireLog
        executor = ReaderThreadExecutor(wake: { [transport] in transport.wake() })
    }

    /// Starts the reader thread. Call once. The reader thread keeps the connection and `receiver`
    /// alive until the stream ends (the peer closes or ``close()`` is called).
    public func start(receiver: some JSONLineReceiver) {
        let first = timer.withLock { state in
            defer { state.started = true }
            return !state.started
        }
        precondition(first, "JSONLineConnection.start called twice")
        DetachedThread.start(name: "json-line-reader") { [self] in readLoop(receiver) }
    }

    /// Sends `line` (compact JSON without a newline) followed by a newline.
    public func send(line: consuming [UInt8]) throws(TransportError) {
        var bytes = line
        bytes.append(0x0A)
        let result = writeLock.withLock { _ in
            // Logged under the write lock so the log shows the order on the wire.
            if let wireLog { bytes.withUnsafeBufferPointer { wireLog.record(.outgoing, UnsafeBufferPointer(rebasing: $0.dropLast())) } }
            return bytes.withUnsafeBytes { raw in Result { () throws(TransportError) in try transport.write(raw) } }
        }
        try result.get()
    }

    /// Sends one JSON value as a line.
    public func send(_ message: JSONValue) throws(TransportError) {
        try send(line: JSONWriter.bytes(message))
    }

    /// Asks the reader to call ``JSONLineReceiver/timerFired(now:)`` at `instant` or soon after.
    /// Only the earliest pending request is kept; the receiver re-arms after each tick.
    public func scheduleWake(at instant: ContinuousClock.Instant) {
        let poke = timer.withLock { state -> Bool in
            if let current = state.wakeAt, current <= instant { return false }
            state.wakeAt = instant
            guard state.sleeping else { return false }
            guard let sleepingUntil = state.sleepingUntil else { return true }
            return instant < sleepingUntil
        }
        if poke { transport.wake() }
    }

    /// Closes the transport; the receiver gets ``JSONLineEnd/closedLocally``.
    public func close() {
        closeRequested.store(true, ordering: .releasing)
        transport.close()
    }

    private func readLoop(_ receiver: some JSONLineReceiver) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.readChunk, alignment: 16)
        defer { buffer.deallocate() }
        var framer = LineFramer(maximumLineLength: maximumLineLength)
        executor.attachReaderThread()
        let end: JSONLineEnd
        loop: while true {
            executor.drain()
            let timeout = timer.withLock { state -> Duration? in
                state.sleeping = true
                state.sleepingUntil = state.wakeAt
                guard let wakeAt = state.wakeAt else { return nil }
                return max(.zero, wakeAt - .now)
            }
            let result: TransportReadResult
            do {
                result = try transport.read(into: buffer, timeout: timeout)
            } catch {
                end = .transportFailed(error)
                break loop
            }
            let now = ContinuousClock.now
            let fire = timer.withLock { state -> Bool in
                state.sleeping = false
                guard let wakeAt = state.wakeAt, wakeAt <= now else { return false }
                state.wakeAt = nil
                return true
            }
            if fire { receiver.timerFired(now: now) }
            switch result {
            case .bytes(let count):
                if let reason = deliver(UnsafeRawBufferPointer(rebasing: buffer[..<count]), &framer, receiver) {
                    end = reason
                    break loop
                }
            case .timedOut, .woken:
                continue
            case .endOfStream:
                end = closeRequested.load(ordering: .acquiring) ? .closedLocally : .endOfStream(unterminatedBytes: framer.bufferedByteCount)
                break loop
            }
        }
        transport.close()
        receiver.ended(end)
        executor.drain(finish: true)
    }

    /// Frames and decodes `chunk`; returns why to stop, or `nil` to keep reading.
    private func deliver(
        _ chunk: UnsafeRawBufferPointer, _ framer: inout LineFramer, _ receiver: some JSONLineReceiver
    ) -> JSONLineEnd? {
        var failure: JSONLineEnd?
        do {
            try framer.feed(chunk) { line in
                if let wireLog { wireLog.record(.incoming, line) }
                do throws(JSONParseError) {
                    receiver.received(try JSONParser.parse(buffer: line))
                } catch {
                    failure = .malformed(excerpt: Self.excerpt(line), error: error)
                    throw error
                }
            }
        } catch let error as LineFramer.LineTooLong {
            return .lineTooLong(limit: error.limit)
        } catch {
            return failure
        }
        return nil
    }

    /// The first 120 characters of a line, for error messages.
    static func excerpt(_ line: UnsafeBufferPointer<UInt8>) -> String {
        let text = String(decoding: UnsafeBufferPointer(rebasing: line.prefix(120)), as: UTF8.self)
        return line.count > 120 ? text + "…" : text
    }
}
