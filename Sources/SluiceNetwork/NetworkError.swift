/// An error of the validator network: an identity that cannot be made, an address that cannot be bound, a
/// peer set that cannot be.
public struct NetworkError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The key cannot be a TLS identity (not Ed25519).
        case identity
        /// The peer set cannot be used (duplicate index or key, this node missing).
        case peers
        /// The listening address cannot be bound.
        case bind
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
