import Foundation
import HostLinux
import Synchronization

/// A host file system that must not be used: every call is recorded and fails (or answers
/// "nothing there"). For checking that a remote libvirt host's GPU path reads no local sysfs.
final class UntouchedHostFileSystem: HostFileSystem {
    struct Touched: Error {}
    let root = HostRoot("/nonexistent-host-root")
    private let record = Mutex<[String]>([])
    /// The paths something tried to reach, in order.
    var touched: [String] { record.withLock { $0 } }

    private func touch(_ path: String) { record.withLock { $0.append(path) } }

    func readData(_ path: String) throws -> Data { touch(path); throw Touched() }
    func contentsOfDirectory(_ path: String) throws -> [String] { touch(path); throw Touched() }
    func readLink(_ path: String) throws -> String { touch(path); throw Touched() }
    func canonicalPath(_ path: String) throws -> String { touch(path); throw Touched() }
    func exists(_ path: String) -> Bool { touch(path); return false }
    func isDirectory(_ path: String) -> Bool { touch(path); return false }
    func writeAttribute(_ value: String, to path: String) throws { touch(path); throw Touched() }
    func writeFile(_ data: Data, to path: String, mode: UInt16) throws { touch(path); throw Touched() }
    func permissions(_ path: String) throws -> UInt16 { touch(path); throw Touched() }
    func removeFile(_ path: String) throws { touch(path); throw Touched() }
    func createDirectories(_ path: String) throws -> [String] { touch(path); throw Touched() }
    func removeDirectory(_ path: String) throws { touch(path); throw Touched() }
    func isReadWritable(_ path: String) -> Bool { touch(path); return false }
}
