import Foundation

/// Parses a memory size to MiB: "512MiB", "2GiB", "800MB", "1GB" (units in any case, a space allowed). Decimal
/// megabytes are rounded up to whole MiB, so a job never gets less than it asked for.
public func parseMemoryMiB(_ text: String) -> UInt64? {
    let t = text.trimmingCharacters(in: .whitespaces)
    let digits = t.prefix { $0.isASCII && $0.isNumber }
    guard let n = UInt64(digits) else { return nil }
    let unit = t.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
    let bytesPerUnit: UInt64
    switch unit {
    case "mib": return n
    case "gib":
        let (mib, overflow) = n.multipliedReportingOverflow(by: 1024)
        return overflow ? nil : mib
    case "mb": bytesPerUnit = 1_000_000
    case "gb": bytesPerUnit = 1_000_000_000
    default: return nil
    }
    let (bytes, overflow) = n.multipliedReportingOverflow(by: bytesPerUnit)
    guard !overflow else { return nil }
    return (bytes + (1 << 20) - 1) >> 20
}
