import SluiceCore

/// A failure of a tree operation: the store lacks a node the tree references, a stored node contradicts its
/// parent, or the request itself is invalid.
public struct MerkleError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        /// A node referenced by its parent (or the root) is not in the store.
        case missingNode
        /// A stored node does not fit where its parent places it.
        case corruptNode
        /// The request is malformed: a repeated key, or a version not above the tree's.
        case invalidRequest
    }

    public let code: Code
    public let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static func missing(_ key: NodeKey) -> MerkleError {
        MerkleError(
            .missingNode,
            "the tree is missing node \(key) (version \(key.version)): the data dir is incomplete or was pruned")
    }

    static func corrupt(_ key: NodeKey, _ why: String) -> MerkleError {
        MerkleError(
            .corruptNode,
            "node \(key) (version \(key.version)) is corrupt: \(why); the data dir is damaged, restore it or resync")
    }
}
