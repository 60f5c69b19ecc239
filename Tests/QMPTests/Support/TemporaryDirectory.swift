import Glibc

/// A fresh 0700 directory under /tmp with a short path (Unix socket paths must stay < 108 bytes).
func makeTemporaryDirectory(prefix: String = "qmpt") -> String {
    var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "mkdtemp failed: \(errno)")
    return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Removes a directory made by ``makeTemporaryDirectory(prefix:)`` with everything in it.
func removeTemporaryDirectory(_ path: String) {
    guard path.hasPrefix("/tmp/") else { return }
    if let directory = opendir(path) {
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { unlink("\(path)/\(name)") }
        }
        closedir(directory)
    }
    rmdir(path)
}
