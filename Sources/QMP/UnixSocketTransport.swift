import Glibc
import Synchronization

/// A connected `AF_UNIX` stream socket plus a wake pipe, read with `poll(2)` (Linux).
///
/// The file descriptors are closed only when the object is released, so a reader thread never
/// touches a number the kernel has handed to someone else.
public final class UnixSocketTransport: ByteTransport {
    private let socket: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let isClosed = Atomic<Bool>(false)
    private let pendingDescriptor = Mutex<Int32?>(nil)

    private init(socket: Int32, wakeRead: Int32, wakeWrite: Int32) {
        self.socket = socket
        self.wakeRead = wakeRead
        self.wakeWrite = wakeWrite
    }

    deinit {
        _ = Glibc.close(socket)
        _ = Glibc.close(wakeRead)
        _ = Glibc.close(wakeWrite)
    }

    /// Connects to the socket at `path`. A full listen backlog is retried until `timeout`;
    /// a missing socket or a refused connection fails at once, unless `awaitListener` is set:
    /// then both are retried too (a process that is starting will listen there soon). A
    /// cancelled task stops retrying.
    public static func connect(path: String, timeout: Duration, awaitListener: Bool = false) async throws(TransportError) -> UnixSocketTransport {
        guard let address = UnixSocketAddress(path: path) else { throw .pathTooLong(path) }
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw .ioFailed(operation: "socket", errno: errno) }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var retries = 0
        while true {
            let result = address.withSockaddr { Glibc.connect(fd, $0, $1) }
            if result == 0 { break }
            let code = errno
            if code == EINTR { continue }
            let listenerMissing = code == ENOENT || code == ECONNREFUSED
            if code == EAGAIN || code == EINPROGRESS || (awaitListener && listenerMissing) {
                // Unix sockets report a full backlog as EAGAIN; retry until the deadline.
                if ContinuousClock.now >= deadline || Task.isCancelled {
                    _ = Glibc.close(fd)
                    throw listenerMissing ? .connectFailed(path: path, errno: code) : .connectTimedOut(path: path)
                }
                // A process that is starting usually listens within tens of milliseconds: look
                // every millisecond for the first 100 tries, then every 5 ms.
                retries += 1
                try? await Task.sleep(for: .milliseconds(retries <= 100 ? 1 : 5))
                continue
            }
            _ = Glibc.close(fd)
            throw .connectFailed(path: path, errno: code)
        }
        return try wrap(connected: fd)
    }

    /// The transport over `fd`, a connected stream socket this object now owns (also the
    /// server side of an accepted connection, ``UnixSocketListener``).
    static func wrap(connected fd: Int32) throws(TransportError) -> UnixSocketTransport {
        // Blocking from here on: the reader waits in poll, writers send whole messages.
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
        // A peer that stops reading must not block writers forever.
        var sendTimeout = timeval(tv_sec: 10, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &sendTimeout, socklen_t(MemoryLayout<timeval>.size))
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else {
            let code = errno
            _ = Glibc.close(fd)
            throw .ioFailed(operation: "pipe", errno: code)
        }
        for end in pipeEnds {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        return UnixSocketTransport(socket: fd, wakeRead: pipeEnds[0], wakeWrite: pipeEnds[1])
    }

    /// Sends `descriptor` (SCM_RIGHTS) along with the next ``write(_:)``, as QMP `getfd` and
    /// `add-fd` expect; the caller keeps its own copy.
    public func attachToNextWrite(_ descriptor: Int32) {
        pendingDescriptor.withLock { $0 = descriptor }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(TransportError) {
        guard !isClosed.load(ordering: .acquiring) else { throw .closed }
        var offset = 0
        while offset < bytes.count {
            let descriptor = pendingDescriptor.withLock { value -> Int32? in
                defer { value = nil }
                return value
            }
            let sent = descriptor.map { send(bytes, from: offset, with: $0) }
                ?? Glibc.send(socket, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if sent > 0 {
                offset += sent
                continue
            }
            let code = errno
            if sent < 0, code == EINTR {
                if let descriptor { attachToNextWrite(descriptor) }
                continue
            }
            if code == EPIPE || code == ECONNRESET || isClosed.load(ordering: .acquiring) { throw .closed }
            throw .ioFailed(operation: descriptor == nil ? "send" : "sendmsg", errno: code)
        }
    }

    /// `sendmsg` of `bytes[offset...]` carrying one SCM_RIGHTS descriptor.
    private func send(_ bytes: UnsafeRawBufferPointer, from offset: Int, with descriptor: Int32) -> Int {
        let controlLength = Self.controlSpace(MemoryLayout<Int32>.size)
        let control = UnsafeMutableRawBufferPointer.allocate(byteCount: controlLength, alignment: MemoryLayout<cmsghdr>.alignment)
        defer { control.deallocate() }
        control.initializeMemory(as: UInt8.self, repeating: 0)
        let header = control.baseAddress!.assumingMemoryBound(to: cmsghdr.self)
        header.pointee.cmsg_level = SOL_SOCKET
        header.pointee.cmsg_type = Int32(SCM_RIGHTS)
        header.pointee.cmsg_len = Self.controlLength(MemoryLayout<Int32>.size)
        (control.baseAddress! + Self.controlLength(0)).storeBytes(of: descriptor, as: Int32.self)
        var vector = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress! + offset), iov_len: bytes.count - offset)
        return withUnsafeMutablePointer(to: &vector) { vectorPointer in
            var message = msghdr()
            message.msg_iov = vectorPointer
            message.msg_iovlen = 1
            message.msg_control = control.baseAddress
            message.msg_controllen = controlLength
            return sendmsg(socket, &message, Int32(MSG_NOSIGNAL))
        }
    }

    /// `CMSG_ALIGN`, `CMSG_LEN` and `CMSG_SPACE` (macros Swift does not import).
    private static func controlAlign(_ length: Int) -> Int {
        let word = MemoryLayout<Int>.size
        return (length + word - 1) & ~(word - 1)
    }

    private static func controlLength(_ length: Int) -> Int { controlAlign(MemoryLayout<cmsghdr>.size) + length }
    private static func controlSpace(_ length: Int) -> Int { controlAlign(MemoryLayout<cmsghdr>.size) + controlAlign(length) }

    public func read(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration?) throws(TransportError)
        -> TransportReadResult
    {
        if isClosed.load(ordering: .acquiring) { return .endOfStream }
        var fds = [
            pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
        ]
        let milliseconds: Int32
        if let timeout {
            let (seconds, attoseconds) = timeout.components
            let total = max(0, seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
            milliseconds = Int32(clamping: total)
        } else {
            milliseconds = -1
        }
        let ready = poll(&fds, 2, milliseconds)
        if ready < 0 {
            if errno == EINTR { return .woken }
            throw .ioFailed(operation: "poll", errno: errno)
        }
        if ready == 0 { return .timedOut }
        if fds[1].revents != 0 {
            var drain = [UInt8](repeating: 0, count: 64)
            while Glibc.read(wakeRead, &drain, drain.count) > 0 {}
            if isClosed.load(ordering: .acquiring) { return .endOfStream }
            if fds[0].revents == 0 { return .woken }
        }
        while true {
            let count = recv(socket, buffer.baseAddress, buffer.count, 0)
            if count > 0 { return .bytes(count) }
            if count == 0 { return .endOfStream }
            let code = errno
            if code == EINTR { continue }
            if code == ECONNRESET || isClosed.load(ordering: .acquiring) { return .endOfStream }
            throw .ioFailed(operation: "recv", errno: code)
        }
    }

    public func wake() {
        var byte: UInt8 = 1
        _ = Glibc.write(wakeWrite, &byte, 1)
    }

    public func close() {
        guard !isClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = shutdown(socket, Int32(SHUT_RDWR))
        wake()
    }
}
