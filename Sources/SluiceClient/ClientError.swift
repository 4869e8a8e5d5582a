/// An error from talking to a node: the node's answer (`status` and its stable `code`, such as
/// `sequence_too_old`), or a transport failure (`status` and `code` nil). The message says what to do.
public struct ClientError: Error, CustomStringConvertible, Sendable {
    /// The node's stable error code (`ErrorJSON.code`), when it answered with one.
    public let code: String?
    /// The HTTP status, when the node answered.
    public let status: Int?
    /// What went wrong and what to do next.
    public let message: String

    public init(_ message: String, code: String? = nil, status: Int? = nil) {
        self.message = message
        self.code = code
        self.status = status
    }

    /// `message (code)`, or the message alone.
    public var description: String { code.map { "\(message) (\($0))" } ?? message }
}
