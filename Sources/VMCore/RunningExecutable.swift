import Glibc

/// The executable this process runs, for the programs and files installed beside it
/// (`vm-supervisor`, `vm-libvirt`, the templates).
public enum RunningExecutable {
    /// Its path: the target of `/proc/self/exe`, else `argv[0]`.
    public static var path: String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The folder it is in.
    public static var folder: String { PathName.folder(of: path) }
}
