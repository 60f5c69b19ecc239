import Glibc

/// The pages of program code a long-lived process has mapped, and letting go of them.
///
/// A process maps the code it runs from its files as it runs it, and the kernel maps the cached
/// pages around each one too (fault-around), so a process's resident size keeps the code it ran
/// once at start-up. The supervisor, which runs for as long as its VM, lets go of those mappings
/// once it serves (``release(mapsText:)``): the pages stay in the page cache, only this process's
/// mappings of them go, and any code it runs again is mapped again on first use. Only read-only
/// executable mappings of files are touched: their pages are never written, so dropping them loses
/// nothing (a writable or RELRO mapping may hold relocated pages, and is never touched).
public enum ResidentCode {
    /// The address ranges of the file-backed code mappings (`r-xp` with a path) in the text of
    /// `/proc/PID/maps`. Lines that do not parse are left out.
    public static func codeRanges(inMaps text: String) -> [Range<UInt>] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "r-xp", fields[5].hasPrefix("/") else { return nil }
            let bounds = fields[0].split(separator: "-")
            guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16),
                  start < end else { return nil }
            return start..<end
        }
    }

    /// Drops this process's mappings of the code ranges in `mapsText` (this process's
    /// `/proc/self/maps`) with `madvise(MADV_DONTNEED)`; returns how many bytes of mappings it
    /// let go of (resident or not). A range the kernel refuses is skipped.
    @discardableResult
    public static func release(mapsText: String) -> UInt {
        codeRanges(inMaps: mapsText).reduce(0) { released, range in
            guard let start = UnsafeMutableRawPointer(bitPattern: range.lowerBound),
                  madvise(start, Int(range.upperBound - range.lowerBound), MADV_DONTNEED) == 0 else { return released }
            return released + (range.upperBound - range.lowerBound)
        }
    }
}
