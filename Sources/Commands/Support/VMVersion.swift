/// The version of `vm`, in one place: `vm --version`, `vm version` and its `--json` output.
public enum VMVersion {
    /// Semantic version of this build of `vm` and `vm-libvirt`.
    public static let current = "0.1.0"
}
