import Glibc
import OSThreads
import Testing

/// The body runs on a thread of its own, which carries the name given (cut to the kernel's 15 bytes).
@Test func detachedThreadRunsItsBodyUnderItsName() async {
    let caller = pthread_self()
    let seen: (name: String?, isOtherThread: Bool) = await withCheckedContinuation { continuation in
        DetachedThread.start(name: "a-rather-long-thread-name") {
            continuation.resume(returning: (currentThreadName(), pthread_equal(caller, pthread_self()) == 0))
        }
    }
    #expect(seen.name == "a-rather-long-t")
    #expect(seen.isOtherThread)
}

/// The calling thread's name, from `/proc/thread-self/comm`.
private func currentThreadName() -> String? {
    let descriptor = open("/proc/thread-self/comm", O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var buffer = [UInt8](repeating: 0, count: 32)
    let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
    guard count > 0 else { return nil }
    return String(decoding: buffer[..<count], as: UTF8.self).trimmingSuffixNewline()
}

private extension String {
    func trimmingSuffixNewline() -> String { hasSuffix("\n") ? String(dropLast()) : self }
}
