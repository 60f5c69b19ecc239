import Glibc

/// An OS thread of its own for work that blocks in the kernel (a socket read, `poll`, `waitpid`, a
/// sysfs write), so that it holds none of Swift concurrency's few threads. A plain pthread: the
/// executables link FoundationEssentials, which has no `Thread`.
public enum DetachedThread {
    /// Starts `body` on a new detached thread named `name` (the kernel keeps 15 bytes). Should the
    /// system have no thread to give, `body` still runs, as a detached task.
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(Body(name: name, run: body)).toOpaque()
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { context in
            let body = Unmanaged<Body>.fromOpaque(context!).takeRetainedValue()
            _ = setThreadName(pthread_self(), String(decoding: body.name.utf8.prefix(15), as: UTF8.self))
            body.run()
            return nil
        }, context)
        guard started == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            Task.detached { body() }
            return
        }
        pthread_detach(thread)
    }

    /// What the new thread runs, handed to it through `pthread_create`'s context pointer.
    private final class Body {
        let name: String
        let run: @Sendable () -> Void

        init(name: String, run: @escaping @Sendable () -> Void) {
            self.name = name
            self.run = run
        }
    }
}

/// glibc's `pthread_setname_np`, which the Glibc module leaves out (it is a GNU extension).
@_silgen_name("pthread_setname_np")
private func setThreadName(_ thread: pthread_t, _ name: UnsafePointer<CChar>) -> Int32
