/// Cases that people and the API name: `init?(name:)` finds the case of a name, and in JSON a case is
/// its name (`decodeName` / `encodeName`, which a type's `Codable` conformance calls), so the API, the CLI
/// and the agent compare cases, never strings, and a name nobody knows is refused where it is read, with
/// the names that exist.
///
/// Each type spells out its two `Codable` lines (`init(from:)` calling `decodeName`, `encode(to:)` calling
/// `encodeName`) rather than inheriting them from a protocol extension: the compiler prefers its own
/// synthesized coding (a keyed container for enums without raw values) or `RawRepresentable`'s (the number)
/// to a protocol extension's default, silently, so a default here would not be used.
public protocol NamedCases: CaseIterable {
    var name: String { get }
}

extension NamedCases {
    public init?(name: String) {
        guard let found = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = found
    }

    /// Every name, in case order (for error messages and the OpenAPI document).
    public static var names: [String] { allCases.map(\.name) }

    /// The case a single JSON string names.
    public static func decodeName(from decoder: any Decoder) throws -> Self {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let found = Self(name: name) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "'\(name)' is not one of \(names.joined(separator: ", "))")
        }
        return found
    }

    public func encodeName(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}
