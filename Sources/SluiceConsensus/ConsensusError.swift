import SluiceCore

/// An error of consensus: a validator set that cannot be, a message that does not hold, a vote the safety
/// rules refuse, safety data that cannot be saved or read.
public struct ConsensusError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// A validator set that cannot be used (empty, duplicate, zero power, bad key).
        case invalidSet
        /// A message that does not decode or does not hold (bad signature, no quorum, wrong epoch).
        case invalidMessage
        /// The safety rules refuse to sign: signing would break a promise already made.
        case unsafe
        /// Safety data could not be saved or read: nothing was signed.
        case storage
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static func invalid(_ message: String) -> ConsensusError { ConsensusError(.invalidMessage, message) }

    init(decoding what: String, _ error: CoreError) {
        self.init(.invalidMessage, "\(what) does not decode: \(error.message)")
    }
}

/// Bounds on what consensus reads from a peer or a file: one definition for encoding and decoding.
public enum ConsensusLimits {
    /// Validators in one set (indexes are 16-bit).
    public static let validators = 1024
    /// A signature's bytes (Ed25519 is 64; room for a post-quantum scheme).
    public static let signatureBytes = 4096
    /// A consensus key's bytes.
    public static let publicKeyBytes = 4096
    /// A block's payload (the transactions it orders), bytes.
    public static let payloadBytes = 16 << 20
    /// Leaders of failed rounds recorded in one block.
    public static let failedAuthors = 16
    /// Blocks in one block or ledger response.
    public static let blocksPerResponse = 64
    /// A whole message on the wire, bytes.
    public static let messageBytes = 32 << 20
}
