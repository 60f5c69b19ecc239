import Glibc
import QMP
import Synchronization

/// A Unix-socket ``ByteTransport`` that can attach a file descriptor (SCM_RIGHTS) to its next
/// write: what QMP `getfd` needs to receive the macvtap's `/dev/tapN` from us.
public final class FileDescriptorPassingTransport: ByteTransport {
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

    /// Connects to the Unix socket at `path`, retrying while it is missing or refuses, up to `timeout`.
    public static func connect(path: String, timeout: Duration) async throws(TransportError) -> FileDescriptorPassingTransport {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw .pathTooLong(path) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let deadline = ContinuousClock.now + timeout
        while true {
            let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw .ioFailed(operation: "socket", errno: errno) }
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            if result == 0 {
                var ends: [Int32] = [0, 0]
                guard pipe(&ends) == 0 else {
                    let code = errno
                    _ = Glibc.close(fd)
                    throw .ioFailed(operation: "pipe", errno: code)
                }
                for end in ends {
                    _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
                    _ = fcntl(end, F_SETFD, FD_CLOEXEC)
                }
                return FileDescriptorPassingTransport(socket: fd, wakeRead: ends[0], wakeWrite: ends[1])
            }
            let code = errno
            _ = Glibc.close(fd)
            guard code == ENOENT || code == ECONNREFUSED || code == EAGAIN, ContinuousClock.now < deadline else {
                throw code == EAGAIN ? .connectTimedOut(path: path) : .connectFailed(path: path, errno: code)
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Sends `descriptor` along with the next ``write(_:)`` (the caller keeps its own copy).
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
            let sent: Int
            if let descriptor {
                sent = send(bytes, from: offset, with: descriptor)
            } else {
                sent = Glibc.send(socket, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent > 0 {
                offset += sent
                continue
            }
            let code = errno
            if sent < 0, code == EINTR {
                if let descriptor { attachToNextWrite(descriptor) }
                continue
            }
            if code == EPIPE || code == ECONNRESET { throw .closed }
            throw .ioFailed(operation: descriptor == nil ? "send" : "sendmsg", errno: code)
        }
    }

    /// `sendmsg` of `bytes[offset...]` carrying one SCM_RIGHTS descriptor.
    private func send(_ bytes: UnsafeRawBufferPointer, from offset: Int, with descriptor: Int32) -> Int {
        let controlLength = Self.cmsgSpace(MemoryLayout<Int32>.size)
        let control = UnsafeMutableRawBufferPointer.allocate(byteCount: controlLength, alignment: MemoryLayout<cmsghdr>.alignment)
        defer { control.deallocate() }
        control.initializeMemory(as: UInt8.self, repeating: 0)
        let header = control.baseAddress!.assumingMemoryBound(to: cmsghdr.self)
        header.pointee.cmsg_level = SOL_SOCKET
        header.pointee.cmsg_type = Int32(SCM_RIGHTS)
        header.pointee.cmsg_len = Self.cmsgLength(MemoryLayout<Int32>.size)
        (control.baseAddress! + Self.cmsgLength(0)).storeBytes(of: descriptor, as: Int32.self)
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

    static func cmsgAlign(_ length: Int) -> Int {
        let word = MemoryLayout<Int>.size
        return (length + word - 1) & ~(word - 1)
    }

    static func cmsgLength(_ length: Int) -> Int { cmsgAlign(MemoryLayout<cmsghdr>.size) + length }
    static func cmsgSpace(_ length: Int) -> Int { cmsgAlign(MemoryLayout<cmsghdr>.size) + cmsgAlign(length) }

    public func read(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration?) throws(TransportError) -> TransportReadResult {
        if isClosed.load(ordering: .acquiring) { return .endOfStream }
        var fds = [pollfd(fd: socket, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        var milliseconds: Int32 = -1
        if let timeout {
            let (seconds, attoseconds) = timeout.components
            milliseconds = Int32(clamping: max(0, seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000))
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
            if errno == EINTR { continue }
            if errno == ECONNRESET || isClosed.load(ordering: .acquiring) { return .endOfStream }
            throw .ioFailed(operation: "recv", errno: errno)
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
