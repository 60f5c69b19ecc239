/// Path arithmetic on plain strings. `vm` links FoundationEssentials rather than Foundation (it
/// starts faster), and FoundationEssentials has no `NSString` path methods.
public enum PathName {
    /// The folder that holds `path`: `/a/b` -> `/a`, `/a` -> `/`, `a` -> `` (empty); trailing
    /// slashes are ignored (`/a/b/` -> `/a`).
    public static func folder(of path: String) -> String {
        let trimmed = withoutTrailingSlashes(Substring(path))
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        let folder = withoutTrailingSlashes(trimmed[...slash])
        return String(folder)
    }

    /// The last part of `path`: `/a/b` -> `b`, `/a/b/` -> `b`, `/` -> `/`.
    public static func lastComponent(of path: String) -> String {
        let trimmed = withoutTrailingSlashes(Substring(path))
        guard trimmed != "/", let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// `path` without the slashes at its end, except a lone `/`.
    private static func withoutTrailingSlashes(_ path: Substring) -> Substring {
        var path = path
        while path.count > 1, path.hasSuffix("/") { path = path.dropLast() }
        return path
    }
}
