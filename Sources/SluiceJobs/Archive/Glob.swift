// Output globs select the files of a job's result. They are matched segment by segment: `*` and `?` never
// cross a `/`, and only a whole `**` segment spans directories (zero or more of them in the middle of a
// pattern, at least one at its end, so "out/**" takes what is inside `out` but not a file named `out`).
// Matching is a memoised walk over (path segment, pattern segment) pairs, so hostile patterns such as
// "**/**/**/…" cost O(path segments × pattern segments) and never backtrack exponentially. The same walk,
// with "the path may go on" as its end condition, tells the archiver which directories can hold a match,
// so packing "out/*.ppm" does not read the rest of the job's tree.

/// A relative path pattern: `*` (within a segment), `?` (one character), `**` (any number of segments).
struct Glob: Sendable, Equatable {
    private enum Segment: Equatable {
        case anyDepth
        case pattern([Unicode.Scalar])
    }

    let text: String
    private let segments: [Segment]

    /// Parses a glob; an empty one, an absolute one or one with a `..` segment is refused.
    init(_ text: String) throws(ArchiveError) {
        self.text = text
        guard !text.isEmpty else { throw ArchiveError(.invalidGlob, "an empty output glob selects nothing") }
        guard !text.hasPrefix("/") else {
            throw ArchiveError(
                .invalidGlob, "output glob '\(text)' is absolute; write it relative to the job directory")
        }
        let parts = text.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        guard !parts.contains("..") else {
            throw ArchiveError(
                .invalidGlob, "output glob '\(text)' has a '..' segment; it must stay inside the job directory")
        }
        guard !parts.isEmpty else { throw ArchiveError(.invalidGlob, "output glob '\(text)' names no file") }
        segments = parts.map { $0 == "**" ? .anyDepth : .pattern(Array($0.unicodeScalars)) }
    }

    /// Whether the relative file path `path` ("a/b/c.txt") matches.
    /// - Complexity: O(s × g) for s path segments and g pattern segments, times the segment lengths.
    func matches(_ path: String) -> Bool {
        run(Self.split(path), prefix: false)
    }

    /// Whether some file below the relative directory `directory` could match.
    func mayMatchBelow(directory: String) -> Bool {
        run(Self.split(directory), prefix: true)
    }

    private static func split(_ path: String) -> [[Unicode.Scalar]] {
        path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }.map {
            Array($0.unicodeScalars)
        }
    }

    /// In prefix mode the path is a directory and more segments may follow it.
    private func run(_ path: [[Unicode.Scalar]], prefix: Bool) -> Bool {
        let width = segments.count + 1
        // 0 unknown, 1 no, 2 yes
        var memo = [UInt8](repeating: 0, count: (path.count + 1) * width)

        func step(_ p: Int, _ g: Int) -> Bool {
            let key = p * width + g
            if memo[key] != 0 { return memo[key] == 2 }
            let result: Bool
            if g == segments.count {
                // The pattern is used up: only a full match of a file path counts.
                result = !prefix && p == path.count
            } else if p == path.count {
                // The path is used up: a directory can still hold a match; a file cannot.
                result = prefix
            } else {
                switch segments[g] {
                case .anyDepth where g == segments.count - 1:
                    result = true  // at least one segment remains, and a trailing ** takes them all
                case .anyDepth:
                    result = step(p, g + 1) || step(p + 1, g)
                case .pattern(let pattern):
                    result = Self.segmentMatches(path[p], pattern) && step(p + 1, g + 1)
                }
            }
            memo[key] = result ? 2 : 1
            return result
        }
        return step(0, 0)
    }

    /// `*` and `?` within one segment; every other character stands for itself.
    /// - Complexity: O(n × m) in the worst case, linear without stars.
    static func segmentMatches(_ name: [Unicode.Scalar], _ pattern: [Unicode.Scalar]) -> Bool {
        var n = 0
        var p = 0
        var star = -1
        var resume = 0
        while n < name.count {
            if p < pattern.count && (pattern[p] == "?" || (pattern[p] != "*" && pattern[p] == name[n])) {
                n += 1
                p += 1
            } else if p < pattern.count && pattern[p] == "*" {
                star = p
                resume = n
                p += 1
            } else if star >= 0 {
                p = star + 1
                resume += 1
                n = resume
            } else {
                return false
            }
        }
        while p < pattern.count && pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}
