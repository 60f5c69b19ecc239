/// A minimal XML element tree for writing libvirt XML: attributes keep their order, text and
/// attribute values are escaped, and rendering is deterministic (two-space indent, single-quoted
/// attributes, the style `virsh dumpxml` uses).
struct XMLTag: Sendable {
    var name: String
    var attributes: [(String, String)]
    var children: [XMLTag]
    var text: String?

    init(_ name: String, _ attributes: [(String, String)] = [], text: String? = nil, children: [XMLTag] = []) {
        self.name = name
        self.attributes = attributes
        self.text = text
        self.children = children
    }

    init(_ name: String, _ attributes: [(String, String)] = [], @XMLTagBuilder children: () -> [XMLTag]) {
        self.init(name, attributes, children: children())
    }

    /// The element and its subtree, each line indented by `indent` levels, ending in a newline.
    func rendered(indent: Int = 0) -> String {
        let pad = String(repeating: "  ", count: indent)
        let open = pad + "<" + name + attributes.map { " \($0.0)='\(XMLEscape.attribute($0.1))'" }.joined()
        if children.isEmpty {
            if let text {
                return open + ">" + XMLEscape.text(text) + "</" + name + ">\n"
            }
            return open + "/>\n"
        }
        var out = open + ">\n"
        for child in children {
            out += child.rendered(indent: indent + 1)
        }
        return out + pad + "</" + name + ">\n"
    }
}

/// Lets device lists be written with `if` and `for` inside an ``XMLTag`` initialiser.
@resultBuilder
enum XMLTagBuilder {
    static func buildExpression(_ tag: XMLTag) -> [XMLTag] { [tag] }
    static func buildExpression(_ tags: [XMLTag]) -> [XMLTag] { tags }
    static func buildBlock(_ parts: [XMLTag]...) -> [XMLTag] { parts.flatMap { $0 } }
    static func buildOptional(_ part: [XMLTag]?) -> [XMLTag] { part ?? [] }
    static func buildEither(first: [XMLTag]) -> [XMLTag] { first }
    static func buildEither(second: [XMLTag]) -> [XMLTag] { second }
    static func buildArray(_ parts: [[XMLTag]]) -> [XMLTag] { parts.flatMap { $0 } }
}

/// XML escaping for text content and single- or double-quoted attribute values.
package enum XMLEscape {
    /// Escapes `&`, `<` and `>`.
    package static func text(_ value: String) -> String {
        escape(value, quotes: false)
    }

    /// Escapes `&`, `<`, `>`, `'` and `"`.
    package static func attribute(_ value: String) -> String {
        escape(value, quotes: true)
    }

    private static func escape(_ value: String, quotes: Bool) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for character in value {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "'" where quotes: out += "&apos;"
            case "\"" where quotes: out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }
}
