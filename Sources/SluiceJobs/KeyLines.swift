import Foundation

/// Where each key is set in a TOML text, by its full dotted name ("redundancy", "gpu.count", "env.SEED"): the
/// line of `key = …` under its `[table]` header, or of a dotted `gpu.count = …` at the root. A plain scan, good
/// for pointing at a line; the TOML parser has already checked the syntax.
struct KeyLines {
    private var lines: [String: Int] = [:]

    init(_ text: String) {
        var table = ""
        var number = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("[") {
                // A header: [gpu] or [[array]]; anything after the closing bracket is a comment.
                let inner = line.drop { $0 == "[" }.prefix { $0 != "]" }
                table = Self.normalize(inner)
                if lines[table] == nil, !table.isEmpty { lines[table] = number }
                continue
            }
            guard !line.hasPrefix("#"), let equals = line.firstIndex(of: "=") else { continue }
            let key = Self.normalize(line[..<equals])
            guard !key.isEmpty, !key.contains(" ") else { continue }
            let full = table.isEmpty ? key : table + "." + key
            if lines[full] == nil { lines[full] = number }
        }
    }

    /// The line where `key` (full dotted name) is set, or its table's header for a key of an inline table.
    func line(of key: String) -> Int? {
        if let n = lines[key] { return n }
        var parts = key.split(separator: ".")
        while parts.count > 1 {
            parts.removeLast()
            if let n = lines[parts.joined(separator: ".")] { return n }
        }
        return nil
    }

    /// `gpu . "count"` → `gpu.count`: dotted parts trimmed and unquoted.
    private static func normalize(_ key: some StringProtocol) -> String {
        key.split(separator: ".", omittingEmptySubsequences: false)
            .map { part -> String in
                let p = part.trimmingCharacters(in: .whitespaces)
                if p.count >= 2, let q = p.first, q == "\"" || q == "'", p.last == q {
                    return String(p.dropFirst().dropLast())
                }
                return p
            }
            .joined(separator: ".")
    }
}
