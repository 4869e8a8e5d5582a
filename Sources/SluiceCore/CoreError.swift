/// An error in a core value: bad hex, a bad amount, a malformed encoding, a bad key or signature.
public struct CoreError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case badHex, badLength, badAmount, overflow, codec, badKey, badSignature
        /// A proof that does not hold.
        case badProof
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static func badHex(_ why: String) -> CoreError { CoreError(.badHex, "bad hex: \(why)") }
}
