// The POSIX ustar header (IEEE 1003.1-1988, "pax" interchange format without extended headers):
//
//   offset  size  field          offset  size  field
//        0   100  name              257     6  magic "ustar\0"
//      100     8  mode              263     2  version "00"
//      108     8  uid               265    32  uname
//      116     8  gid               297    32  gname
//      124    12  size              329     8  devmajor
//      136    12  mtime             337     8  devminor
//      148     8  checksum          345   155  prefix
//      156     1  typeflag          500    12  (padding)
//      157   100  linkname
//
// Numbers are octal ASCII, NUL-terminated. The checksum is the sum of the header's bytes with the checksum
// field read as eight spaces. A path longer than 100 bytes is split at a '/' into prefix and name.

enum TarHeader {
    static let blockSize = 512
    /// The largest size an 11-digit octal field holds (8 GiB - 1).
    static let maxOctalSize = 0o77777777777

    enum EntryType: UInt8 {
        case regular = 0x30  // '0'
        case directory = 0x35  // '5'
    }

    /// A header for a regular file with the fixed metadata of a deterministic archive.
    static func encode(path: String, size: Int, executable: Bool) throws(ArchiveError) -> [UInt8] {
        let (prefix, name) = try splitPath(path)
        guard size <= maxOctalSize else {
            throw ArchiveError(.overLimit, "'\(path)' is \(size) bytes; a ustar entry holds at most \(maxOctalSize)")
        }
        var header = [UInt8](repeating: 0, count: blockSize)
        header.replaceSubrange(0..<name.count, with: name)
        putOctal(executable ? 0o755 : 0o644, into: &header, at: 100, width: 8)
        putOctal(0, into: &header, at: 108, width: 8)
        putOctal(0, into: &header, at: 116, width: 8)
        putOctal(size, into: &header, at: 124, width: 12)
        putOctal(0, into: &header, at: 136, width: 12)
        header[156] = EntryType.regular.rawValue
        header.replaceSubrange(257..<263, with: Array("ustar\0".utf8))
        header.replaceSubrange(263..<265, with: Array("00".utf8))
        putOctal(0, into: &header, at: 329, width: 8)
        putOctal(0, into: &header, at: 337, width: 8)
        header.replaceSubrange(345..<(345 + prefix.count), with: prefix)
        let sum = checksum(header)
        putOctal(sum, into: &header, at: 148, width: 7)  // six digits and a NUL …
        header[155] = 0x20  // … then a space, as GNU tar writes it
        return header
    }

    /// Splits a path into ustar's prefix (≤ 155 bytes) and name (≤ 100 bytes) at the first '/' that makes the
    /// name fit: any later split only makes the prefix longer.
    static func splitPath(_ path: String) throws(ArchiveError) -> (prefix: [UInt8], name: [UInt8]) {
        let bytes = Array(path.utf8)
        if bytes.count <= 100 { return ([], bytes) }
        for i in bytes.indices where bytes[i] == UInt8(ascii: "/") {
            let name = bytes[(i + 1)...]
            guard name.count <= 100 else { continue }
            guard i <= 155, !name.isEmpty else { break }
            return (Array(bytes[..<i]), Array(name))
        }
        throw ArchiveError(
            .pathTooLong,
            "'\(path)' (\(bytes.count) bytes) does not fit a ustar header: the file name may have at most 100 bytes "
                + "and the directories before it at most 155; shorten it")
    }

    /// The unsigned sum of the header with its checksum field read as spaces.
    static func checksum(_ header: some Collection<UInt8>) -> Int {
        var sum = 0
        for (i, byte) in header.enumerated() { sum += (148..<156).contains(i) ? 0x20 : Int(byte) }
        return sum
    }

    /// The same sum over signed bytes, which some old tars wrote.
    static func signedChecksum(_ header: some Collection<UInt8>) -> Int {
        var sum = 0
        for (i, byte) in header.enumerated() { sum += (148..<156).contains(i) ? 0x20 : Int(Int8(bitPattern: byte)) }
        return sum
    }

    static func putOctal(_ value: Int, into header: inout [UInt8], at offset: Int, width: Int) {
        let digits = Array(String(value, radix: 8).utf8)
        let padding = width - 1 - digits.count
        for i in 0..<padding { header[offset + i] = UInt8(ascii: "0") }
        for (i, d) in digits.enumerated() { header[offset + padding + i] = d }
        header[offset + width - 1] = 0
    }

    /// An octal field (spaces and NULs around the digits allowed), or GNU's base-256 form (high bit set).
    static func number(_ field: ArraySlice<UInt8>) -> Int? {
        guard let first = field.first else { return nil }
        if first & 0x80 != 0 {
            guard first & 0x40 == 0 else { return nil }  // negative
            var value = Int(first & 0x3F)
            for byte in field.dropFirst() {
                guard value <= Int.max >> 8 else { return nil }
                value = value << 8 | Int(byte)
            }
            return value
        }
        var value = 0
        var seenDigit = false
        var ended = false
        for byte in field {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                guard !ended else { return nil }
                let (shifted, overflow) = value.multipliedReportingOverflow(by: 8)
                guard !overflow else { return nil }
                value = shifted + Int(byte - UInt8(ascii: "0"))
                seenDigit = true
            case 0x20, 0:
                if seenDigit { ended = true }
            default:
                return nil
            }
        }
        return value
    }

    /// A NUL-terminated field's bytes.
    static func string(_ field: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        field.prefix { $0 != 0 }
    }
}
