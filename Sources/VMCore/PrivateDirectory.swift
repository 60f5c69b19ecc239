import Foundation

/// The 0700 folders `vm` keeps sockets and state in.
public enum PrivateDirectory {
    /// Creates `path` (and its parents) as 0700 and tightens it to 0700 when it already existed
    /// (an existing folder keeps its mode otherwise).
    public static func make(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
    }
}
