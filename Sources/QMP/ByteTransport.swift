/// What a blocking read on a ``ByteTransport`` produced.
public enum TransportReadResult: Sendable, Equatable {
    /// This many bytes were stored at the start of the buffer.
    case bytes(Int)
    /// The timeout passed with nothing to read.
    case timedOut
    /// ``ByteTransport/wake()`` interrupted the wait.
    case woken
    /// The peer closed the stream (or ``ByteTransport/close()`` was called).
    case endOfStream
}

/// Why a transport operation failed.
public enum TransportError: Error, Equatable, Sendable {
    /// `connect` failed with this errno (ENOENT: no socket; ECONNREFUSED: nobody listening).
    case connectFailed(path: String, errno: Int32)
    /// The listener's backlog stayed full for the whole connect timeout.
    case connectTimedOut(path: String)
    /// A Unix socket path must fit in `sockaddr_un` (107 bytes).
    case pathTooLong(String)
    /// A system call failed after the connection was made.
    case ioFailed(operation: String, errno: Int32)
    /// The transport was closed.
    case closed
}

/// The seam under ``JSONLineConnection``: a bidirectional byte stream read by one dedicated
/// thread and written by any thread. Implementations: ``UnixSocketTransport``; tests may add more.
public protocol ByteTransport: Sendable {
    /// Writes every byte or throws. Safe to call from several threads if callers serialise.
    func write(_ bytes: UnsafeRawBufferPointer) throws(TransportError)
    /// Blocks until bytes arrive, `timeout` passes (`nil`: no limit), ``wake()`` is called or the
    /// stream ends. Called from one thread only.
    func read(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration?) throws(TransportError)
        -> TransportReadResult
    /// Makes a blocked (or the next) ``read(into:timeout:)`` return ``TransportReadResult/woken``.
    func wake()
    /// Shuts the stream down; a blocked read returns ``TransportReadResult/endOfStream``.
    /// Idempotent.
    func close()
}
