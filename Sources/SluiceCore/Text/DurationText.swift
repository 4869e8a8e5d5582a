/// The one way Sluice reads and writes a duration, wherever people type one (a job file's timeouts, a
/// node's `block_time`, `--wait`'s timeout, a provider's ceilings).
///
/// The grammar: a number alone is seconds (`90`, `1.5`); otherwise one or more parts `<number><unit>`
/// with the units `h`, `m`, `s`, `ms` in that order, each at most once (`250ms`, `1.5s`, `5m`, `1h30m`,
/// `2h5m10s`, `1s500ms`). A number is decimal digits with an optional fraction (`.5`). Spaces around
/// the text are ignored, none inside it. Anything else (a sign, an exponent, a unit twice or out of
/// order, more than 100 years) is not a duration. Each use then says what it accepts (more than zero,
/// whole seconds, at most an hour) in its own words.
public enum DurationText {
    /// The longest duration the grammar reads: 100 years, far below what `Duration` holds.
    public static let maxNanoseconds: UInt64 = 100 * 365 * 86_400 * 1_000_000_000

    private static let units: [(name: Substring, nanoseconds: UInt64)] = [
        ("h", 3_600_000_000_000), ("m", 60_000_000_000), ("s", 1_000_000_000), ("ms", 1_000_000),
    ]

    /// The duration `text` names, or nil when it is not one.
    /// - Complexity: O(n) in the length of the text.
    public static func parse(_ text: String) -> Duration? {
        let t = Substring(text.trimmingSpaces())
        guard !t.isEmpty, t.allSatisfy(\.isASCII) else { return nil }
        if let bare = number(t) { return scaled(bare, by: 1_000_000_000).map { .nanoseconds(Int64($0)) } }
        var total: UInt64 = 0
        var rest = t
        var nextUnit = 0  // the first unit still allowed: units come in order, each once
        while !rest.isEmpty {
            let numberEnd = rest.firstIndex { !($0.isNumber || $0 == ".") } ?? rest.endIndex
            let unitEnd = rest[numberEnd...].firstIndex { $0.isNumber || $0 == "." } ?? rest.endIndex
            let name = rest[numberEnd..<unitEnd]
            guard let n = number(rest[..<numberEnd]),
                let u = units[nextUnit...].firstIndex(where: { $0.name == name }),
                let part = scaled(n, by: units[u].nanoseconds)
            else { return nil }
            total += part  // both at most maxNanoseconds: no overflow
            guard total <= maxNanoseconds else { return nil }
            nextUnit = u + 1
            rest = rest[unitEnd...]
        }
        return .nanoseconds(Int64(total))
    }

    /// Writes `duration` in the grammar, largest units first and without a fraction (`1h30m`, `250ms`,
    /// `1s500ms`, `0s`); `parse` reads it back to the same value, to the millisecond (finer parts are
    /// dropped). Negative durations are written as `0s`.
    public static func format(_ duration: Duration) -> String {
        let c = duration.components
        guard c.seconds >= 0 else { return "0s" }
        var millis = UInt64(c.seconds) * 1000 + UInt64(max(c.attoseconds, 0) / 1_000_000_000_000_000)
        var text = ""
        for (name, ns) in units {
            let unitMillis = ns / 1_000_000
            if millis >= unitMillis {
                text += "\(millis / unitMillis)\(name)"
                millis %= unitMillis
            }
        }
        return text.isEmpty ? "0s" : text
    }

    /// Whole seconds of `duration`, or nil when it has a fraction of a second.
    public static func wholeSeconds(_ duration: Duration) -> UInt64? {
        let c = duration.components
        guard c.seconds >= 0, c.attoseconds == 0 else { return nil }
        return UInt64(c.seconds)
    }

    /// A decimal number with an optional fraction, as (integer part, fraction digits).
    private static func number(_ s: Substring) -> (whole: UInt64, fraction: Substring)? {
        let parts = s.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let wholeText = parts.first, !wholeText.isEmpty, wholeText.allSatisfy(\.isNumber),
            let whole = UInt64(wholeText)
        else { return nil }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard parts.count == 1 || (!fraction.isEmpty && fraction.allSatisfy(\.isNumber)) else { return nil }
        return (whole, fraction)
    }

    /// `n` units of `nanoseconds` each, truncated to the nanosecond; nil past `maxNanoseconds`.
    private static func scaled(_ n: (whole: UInt64, fraction: Substring), by nanoseconds: UInt64) -> UInt64? {
        let (whole, o1) = n.whole.multipliedReportingOverflow(by: nanoseconds)
        guard !o1, whole <= maxNanoseconds else { return nil }
        var fraction: UInt64 = 0
        var scale = nanoseconds
        for digit in n.fraction.prefix(19) {
            scale /= 10
            fraction += UInt64(digit.wholeNumberValue!) * scale
        }
        let total = whole + fraction
        return total <= maxNanoseconds ? total : nil
    }
}

extension String {
    fileprivate func trimmingSpaces() -> Substring {
        let start = firstIndex { $0 != " " && $0 != "\t" } ?? endIndex
        let end = lastIndex { $0 != " " && $0 != "\t" }.map { index(after: $0) } ?? start
        return self[start..<max(start, end)]
    }
}
