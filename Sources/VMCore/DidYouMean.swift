/// Suggests the closest known word for a misspelt one (Levenshtein distance, at most 2 edits or a
/// third of the word).
public func closestMatch(to word: String, among candidates: [String]) -> String? {
    let length = word.unicodeScalars.count
    let limit = max(2, length / 3)
    // The distance is at least the difference in length: skip words that cannot be close (this
    // also keeps a megabyte-long key from costing a megabyte-sized table per candidate).
    let near = candidates.filter { abs($0.unicodeScalars.count - length) <= limit }
    guard !near.isEmpty else { return nil }
    let lowered = word.lowercased()
    return near
        .map { ($0, editDistance(lowered, $0.lowercased())) }
        .filter { $0.1 <= limit }
        .min { ($0.1, $0.0) < ($1.1, $1.0) }?
        .0
}

/// Levenshtein distance between two strings.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
