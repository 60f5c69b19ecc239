import FoundationEssentials
import Glibc
import VMCore

/// What `vm rm` deletes for one VM, and the disk images it keeps and why.
struct RemovalPlan: Equatable {
    /// A disk image `vm rm` leaves in place.
    struct KeptDisk: Equatable {
        var path: String
        var reason: String
    }

    /// Files and folders to delete, in order: disk images, the state folder, the runtime folder, the definition.
    var paths: [String]
    var keptDisks: [KeptDisk]

    /// The plan for `loaded`. `otherDisks` are the disk paths of every other definition (a shared
    /// image is kept); `isRegularFile` tells files from block devices and missing paths (kept too).
    static func make(_ loaded: LoadedDefinition, keepDisks: Bool, otherDisks: Set<String>,
                     isRegularFile: (String) -> Bool) -> RemovalPlan {
        var paths: [String] = []
        var kept: [KeptDisk] = []
        for disk in loaded.spec.disks {
            if keepDisks {
                kept.append(KeptDisk(path: disk.path, reason: "--keep-disk"))
            } else if disk.readOnly {
                kept.append(KeptDisk(path: disk.path, reason: "read-only in the definition"))
            } else if otherDisks.contains(disk.path) {
                kept.append(KeptDisk(path: disk.path, reason: "another definition uses it"))
            } else if !isRegularFile(disk.path) {
                kept.append(KeptDisk(path: disk.path, reason: "not a regular file (a device, or missing)"))
            } else {
                paths.append(disk.path)
            }
        }
        paths += [loaded.paths.stateDirectory, loaded.paths.runtimeDirectory, loaded.file]
        return RemovalPlan(paths: paths, keptDisks: kept)
    }
}
