/// The rules of qemu-bridge-helper's `/etc/qemu/bridge.conf` (`allow BR`, `allow all`,
/// `deny BR`, `deny all`, `include FILE`). The helper allows a bridge when some allow rule
/// matches and no deny rule does.
public struct BridgeACL: Sendable, Equatable {
    public enum Rule: Sendable, Equatable {
        case allow(String)
        case allowAll
        case deny(String)
        case denyAll
    }

    public var rules: [Rule]

    public init(rules: [Rule]) { self.rules = rules }

    /// Parses one file's text; `include` lines are returned for the caller to read.
    public static func parse(_ text: String) -> (rules: [Rule], includes: [String]) {
        var rules: [Rule] = []
        var includes: [String] = []
        for rawLine in text.split(separator: "\n") {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard words.count == 2 else { continue }
            switch (words[0], words[1]) {
            case ("allow", "all"): rules.append(.allowAll)
            case ("allow", let name): rules.append(.allow(name))
            case ("deny", "all"): rules.append(.denyAll)
            case ("deny", let name): rules.append(.deny(name))
            case ("include", let file): includes.append(file)
            default: continue
            }
        }
        return (rules, includes)
    }

    /// Whether the helper would let QEMU attach to `bridge`.
    public func allows(_ bridge: String) -> Bool {
        var allowed = false
        for rule in rules {
            switch rule {
            case .allowAll: allowed = true
            case .allow(let name) where name == bridge: allowed = true
            case .denyAll: return false
            case .deny(let name) where name == bridge: return false
            default: continue
            }
        }
        return allowed
    }
}
