public import SluiceCore
import SluiceState

/// A transaction ready for execution: decoded, hashed, and checked for what does not depend on state
/// (chain id, expiry, signature). Signature checks run before execution, in parallel across cores.
public struct RuntimeTransaction: Sendable {
    public var sender: Address
    public var sequence: UInt64
    public var gasLimit: UInt64
    public var gasPrice: UInt64
    /// Read-only: `kind`, `to`, `amount`, `rounds` and `gas` are derived from it.
    public private(set) var payload: Payload
    public var hash: Hash
    /// Set when the transaction is discarded before execution.
    public var rejection: TransactionError
    /// The height of the block it executes in (the market's unbonding period counts blocks).
    public var height: UInt64 = 0
    /// The Unix seconds of the block it executes in (the market's dispute and audit windows count seconds).
    public var timestamp: UInt64 = 0
    /// The transfer's fields, copied out of the payload so that the hot path (execution, footprints,
    /// costs) never touches the payload enum, whose market cases are boxed (copying it costs a call).
    public var kind: Kind
    public var to: Address
    public var amount: Amount
    public var rounds: UInt32
    /// The gas the payload needs.
    public var gas: UInt64

    public enum Kind: UInt8, Sendable {
        case transfer, computeTransfer, market
    }

    public init(_ tx: Transaction, hash: Hash, rejection: TransactionError = .none) {
        sender = tx.sender
        sequence = tx.sequence
        gasLimit = tx.gasLimit
        gasPrice = tx.gasPrice
        payload = tx.payload
        self.hash = hash
        self.rejection = rejection
        switch tx.payload {
        case let .transfer(to, amount):
            kind = .transfer
            self.to = to
            self.amount = amount
            rounds = 0
        case let .computeTransfer(to, amount, rounds):
            kind = .computeTransfer
            self.to = to
            self.amount = amount
            self.rounds = rounds
        default:
            kind = .market
            to = .treasury
            amount = .zero
            rounds = 0
        }
        gas = RuntimeVM.intrinsicGas(of: tx.payload)
    }

    /// Prepares a block's transactions: hashes, chain id, expiry and (unless `verify` is false)
    /// signatures, spread over `threads` threads.
    public static func prepare(
        _ txs: [Transaction], chainId: UInt64, timestamp: UInt64, verify: Bool, threads: Int, height: UInt64 = 1
    ) -> [RuntimeTransaction] {
        txs.concurrentMap(threads: threads) { tx in
            var rejection = TransactionError.none
            if tx.chainId != chainId {
                rejection = .bank(.wrongChain)
            } else if tx.expiry < timestamp {
                rejection = .bank(.expired)
            } else if verify {
                switch tx.verifySignature() {
                case .none: break
                case .missing: rejection = .bank(.missingSignature)
                case .wrongKey: rejection = .bank(.wrongKey)
                case .invalid: rejection = .bank(.badSignature)
                }
            }
            var prepared = RuntimeTransaction(tx, hash: tx.hash, rejection: rejection)
            prepared.height = height
            prepared.timestamp = timestamp
            return prepared
        }
    }
}
