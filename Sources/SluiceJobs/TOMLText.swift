public import TOMLKit

// Job files and node configs are TOML that users write and strangers send, parsed by toml++ (through
// TOMLKit). toml++ asserts instead of failing on some malformed input, and an assertion aborts the whole
// process: a '}' where an array expects a value (`command = ["a",}]`), a table header or key that does not
// start like a key (`[\u{FFFD}pu]`). Found by the job-file fuzz test; every input that crashed is in
// Tests/SluiceProviderTests/Corpus/jobfiles/. So the text is first checked against TOML's structure by a
// small recursive-descent reader of our own: keys (bare or quoted, dotted), table headers, strings of the
// four kinds, arrays, inline tables, comments, and scalars as runs of the characters numbers, booleans and
// dates are made of. What it refuses gets a line and column; what it accepts has the shape toml++ parses
// without asserting, and toml++ then checks the values (number ranges, escapes, duplicate keys).
// Nesting is bounded (64), so neither reader can be driven into a deep recursion.

/// A TOML syntax error with where it is (1-based line and column).
public struct TOMLTextError: Error, CustomStringConvertible, Sendable {
    public let line: Int
    public let column: Int
    public let message: String
    public var description: String { message }
}

/// Parsing TOML text that may be hostile.
public enum TOMLText {
    /// Arrays and inline tables nested deeper than this are refused.
    static let maxDepth = 64

    /// The text's root table.
    /// - Throws: `TOMLTextError` for anything the parser refuses or would not survive.
    public static func parse(_ text: String) throws(TOMLTextError) -> TOMLTable {
        var reader = StructureReader(bytes: Array(text.utf8))
        try reader.document()
        do { return try TOMLTable(string: text) } catch let e as TOMLParseError {
            throw TOMLTextError(line: e.source.begin.line, column: e.source.begin.column, message: e.description)
        } catch {
            throw TOMLTextError(line: 1, column: 1, message: "is not TOML: \(error)")
        }
    }
}

/// Checks a TOML text's structure, byte by byte.
struct StructureReader {
    let bytes: [UInt8]
    var i = 0
    var line = 1
    var lineStart = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    var current: UInt8? { i < bytes.count ? bytes[i] : nil }

    func fail(_ message: String) -> TOMLTextError {
        TOMLTextError(line: line, column: i - lineStart + 1, message: message)
    }

    mutating func advance() {
        if bytes[i] == UInt8(ascii: "\n") {
            line += 1
            lineStart = i + 1
        }
        i += 1
    }

    func at(_ text: String) -> Bool {
        let pattern = Array(text.utf8)
        return i + pattern.count <= bytes.count && bytes[i..<(i + pattern.count)].elementsEqual(pattern)
    }

    mutating func skipSpaces() {
        while let c = current, c == 0x20 || c == 0x09 { advance() }
    }

    /// Spaces, newlines and comments (inside arrays).
    mutating func skipBlank() {
        while let c = current {
            if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D {
                advance()
            } else if c == UInt8(ascii: "#") {
                skipComment()
            } else {
                break
            }
        }
    }

    mutating func skipComment() {
        while let c = current, c != 0x0A { advance() }
    }

    /// Spaces, an optional comment, then the end of the line or of the text.
    mutating func endOfLine() throws(TOMLTextError) {
        skipSpaces()
        if current == UInt8(ascii: "#") { skipComment() }
        if current == 0x0D { advance() }
        guard let c = current else { return }
        guard c == 0x0A else { throw fail("expected the end of the line, saw '\(printable(c))'") }
        advance()
    }

    func printable(_ c: UInt8) -> String {
        c >= 0x20 && c < 0x7F ? String(UnicodeScalar(c)) : "\\u{\(String(c, radix: 16))}"
    }

    mutating func document() throws(TOMLTextError) {
        while let c = current {
            switch c {
            case 0x20, 0x09, 0x0D, 0x0A: advance()
            case UInt8(ascii: "#"): skipComment()
            case UInt8(ascii: "["):
                advance()
                let array = current == UInt8(ascii: "[")
                if array { advance() }
                skipSpaces()
                try keyPath()
                skipSpaces()
                guard current == UInt8(ascii: "]") else { throw fail("expected ']' to close the table header") }
                advance()
                if array {
                    guard current == UInt8(ascii: "]") else { throw fail("expected ']]' to close the header") }
                    advance()
                }
                try endOfLine()
            default:
                try keyPath()
                skipSpaces()
                guard current == UInt8(ascii: "=") else { throw fail("expected '=' after the key") }
                advance()
                skipSpaces()
                try value(depth: 0)
                try endOfLine()
            }
        }
    }

    static func isBareKey(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z")) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z"))
            || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
    }

    /// key ( '.' key )*, with spaces around the dots.
    mutating func keyPath() throws(TOMLTextError) {
        while true {
            guard let c = current else { throw fail("expected a key, saw the end of the text") }
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                guard !at("\"\"\"") && !at("'''") else { throw fail("a key cannot be a multi-line string") }
                try string()
            } else if Self.isBareKey(c) {
                while let k = current, Self.isBareKey(k) { advance() }
            } else {
                throw fail("expected a key (letters, digits, '_', '-' or a quoted string), saw '\(printable(c))'")
            }
            skipSpaces()
            guard current == UInt8(ascii: ".") else { return }
            advance()
            skipSpaces()
        }
    }

    mutating func value(depth: Int) throws(TOMLTextError) {
        guard depth < TOMLText.maxDepth else {
            throw fail("arrays and inline tables are nested more than \(TOMLText.maxDepth) deep")
        }
        guard let c = current else { throw fail("expected a value, saw the end of the text") }
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            try string()
        case UInt8(ascii: "["):
            advance()
            skipBlank()
            while current != UInt8(ascii: "]") {
                try value(depth: depth + 1)
                skipBlank()
                if current == UInt8(ascii: ",") {
                    advance()
                    skipBlank()
                } else if current != UInt8(ascii: "]") {
                    throw fail("expected ',' or ']' in an array")
                }
            }
            advance()
        case UInt8(ascii: "{"):
            advance()
            skipSpaces()
            if current == UInt8(ascii: "}") {
                advance()
                return
            }
            while true {
                try keyPath()
                skipSpaces()
                guard current == UInt8(ascii: "=") else { throw fail("expected '=' in an inline table") }
                advance()
                skipSpaces()
                try value(depth: depth + 1)
                skipSpaces()
                if current == UInt8(ascii: "}") {
                    advance()
                    return
                }
                guard current == UInt8(ascii: ",") else { throw fail("expected ',' or '}' in an inline table") }
                advance()
                skipSpaces()
            }
        default:
            // A number, a boolean, inf, nan or a date: a run of the characters they are made of.
            let start = i
            while let s = current,
                Self.isBareKey(s) || s == UInt8(ascii: "+") || s == UInt8(ascii: ".") || s == UInt8(ascii: ":")
            {
                advance()
            }
            guard i > start else { throw fail("expected a value, saw '\(printable(c))'") }
        }
    }

    /// A basic, literal or multi-line string.
    mutating func string() throws(TOMLTextError) {
        let quote = bytes[i]
        let triple = at(quote == UInt8(ascii: "\"") ? "\"\"\"" : "'''")
        let close = quote == UInt8(ascii: "\"") ? "\"\"\"" : "'''"
        for _ in 0..<(triple ? 3 : 1) { advance() }
        while let c = current {
            if quote == UInt8(ascii: "\"") && c == UInt8(ascii: "\\") {
                advance()
                if current != nil { advance() }
                continue
            }
            if c == 0x0A && !triple { throw fail("a string is not closed on its line") }
            if c == quote && (!triple || at(close)) {
                for _ in 0..<(triple ? 3 : 1) { advance() }
                // A closing run of more quotes ("""" ends with a quote in the string).
                while triple, current == quote, i - 3 >= 0 { advance() }
                return
            }
            advance()
        }
        throw fail("a string is not closed")
    }
}
