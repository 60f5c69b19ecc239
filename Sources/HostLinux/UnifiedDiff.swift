/// Unified diffs of small text files (boot configuration), for showing a plan before it is written. Pure.
public enum UnifiedDiff {
    /// The diff from `old` (nil: the file does not exist) to `new` (nil: removed), with `context` lines around changes.
    /// Empty when the texts are equal.
    public static func make(old: String?, new: String?, path: String, context: Int = 3) -> String {
        guard old != new else { return "" }
        let a = lines(old ?? ""), b = lines(new ?? "")
        let operations = diff(a, b)
        var output = "--- \(old == nil ? "/dev/null" : "a" + path)\n+++ \(new == nil ? "/dev/null" : "b" + path)\n"
        // Group operations into hunks separated by more than 2*context unchanged lines.
        var index = 0
        while index < operations.count {
            guard let firstChange = operations[index...].firstIndex(where: { $0.kind != .same }) else { break }
            let start = max(index, firstChange - context)
            var end = firstChange
            var lastChange = firstChange
            while end < operations.count {
                if operations[end].kind != .same { lastChange = end }
                if end - lastChange > 2 * context { break }
                end += 1
            }
            end = min(operations.count, lastChange + context + 1)
            let hunk = operations[start..<end]
            let oldStart = hunk.first.map { $0.oldIndex } ?? 0
            let newStart = hunk.first.map { $0.newIndex } ?? 0
            let oldCount = hunk.filter { $0.kind != .insert }.count
            let newCount = hunk.filter { $0.kind != .delete }.count
            output += "@@ -\(range(oldStart, oldCount)) +\(range(newStart, newCount)) @@\n"
            for operation in hunk {
                switch operation.kind {
                case .same: output += " " + operation.text + "\n"
                case .delete: output += "-" + operation.text + "\n"
                case .insert: output += "+" + operation.text + "\n"
                }
            }
            index = end
        }
        return output
    }

    private static func range(_ start: Int, _ count: Int) -> String {
        count == 0 ? "\(start),0" : (count == 1 ? "\(start + 1)" : "\(start + 1),\(count)")
    }

    private static func lines(_ text: String) -> [String] {
        var result = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if result.last == "" { result.removeLast() }
        return result
    }

    struct Operation {
        enum Kind { case same, delete, insert }
        var kind: Kind
        var text: String
        /// Position in the old file (for inserts: where it goes).
        var oldIndex: Int
        var newIndex: Int
    }

    /// Longest-common-subsequence edit script (fine for configuration files of a few hundred lines).
    static func diff(_ a: [String], _ b: [String]) -> [Operation] {
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                table[i][j] = a[i] == b[j] ? table[i + 1][j + 1] + 1 : max(table[i + 1][j], table[i][j + 1])
            }
        }
        var operations: [Operation] = []
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if i < a.count && j < b.count && a[i] == b[j] {
                operations.append(Operation(kind: .same, text: a[i], oldIndex: i, newIndex: j))
                i += 1; j += 1
            } else if i < a.count && (j == b.count || table[i + 1][j] >= table[i][j + 1]) {
                operations.append(Operation(kind: .delete, text: a[i], oldIndex: i, newIndex: j))
                i += 1
            } else {
                operations.append(Operation(kind: .insert, text: b[j], oldIndex: i, newIndex: j))
                j += 1
            }
        }
        return operations
    }
}
