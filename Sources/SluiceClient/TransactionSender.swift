public import SluiceAPI
public import SluiceCore

/// The one way Sluice signs and submits a transaction (the CLI's `tx transfer` and market commands, the
/// provider agent, the devnet's funding): the chain id from the node, the sequence from the sender's
/// account (pending ones counted) unless the caller names one, sign, submit, the mempool's answer.
///
/// It keeps the sequence itself between sends, so several transactions sent close together (an agent's
/// commits, reveals and heartbeats) each get the next one. When the node says the sequence is off (a
/// restart, a transaction dropped), it reads the account again and tries once more; a sequence the caller
/// named is never changed.
public actor TransactionSender {
    /// A transaction signed and admitted by the node.
    public struct Sent: Sendable {
        public let transaction: Transaction
        public let result: SubmitResultJSON
        public var hash: Hash { result.hash }
    }

    public let client: SluiceClient
    let key: SigningKey
    private var chainId: UInt64?
    private var next: UInt64?

    public init(client: SluiceClient, key: SigningKey) {
        self.client = client
        self.key = key
    }

    public var address: Address { key.address }

    /// Signs the payload `payload` builds from the sender and the sequence it will carry (a job's id
    /// depends on both), and submits it.
    /// - Throws: `ClientError` from the node (with its code), or what `payload` throws.
    public func send(
        gasLimit: UInt64 = 100, gasPrice: UInt64 = 1, sequence: UInt64? = nil, expiry: UInt64 = Transaction.never,
        payload: @Sendable (Address, UInt64) throws -> Payload
    ) async throws -> Sent {
        for attempt in 0..<2 {
            if chainId == nil { chainId = try await client.status().chainId }
            let seq: UInt64
            if let sequence {
                seq = sequence
            } else if let next {
                seq = next
            } else {
                seq = try await client.account(key.address).nextSequence
            }
            let body = try payload(key.address, seq)
            let tx = Transaction(
                chainId: chainId!, sender: key.address, sequence: seq, gasLimit: gasLimit, gasPrice: gasPrice,
                expiry: expiry, payload: body
            ).signed(with: key)
            let result: SubmitResultJSON
            do {
                result = try await client.submit(tx)
            } catch {
                guard attempt == 0, sequence == nil, Self.sequenceProblem(error) else { throw error }
                next = nil
                continue
            }
            if sequence == nil { next = seq + 1 }
            return Sent(transaction: tx, result: result)
        }
        throw ClientError("unreachable: the second attempt throws")
    }

    /// Submits `payload`; returns the transaction's hash once the mempool admitted it.
    @discardableResult
    public func send(_ payload: Payload, gasLimit: UInt64 = 100) async throws(ClientError) -> Hash {
        do {
            return try await send(gasLimit: gasLimit) { _, _ in payload }.hash
        } catch let error as ClientError {
            throw error
        } catch {
            throw ClientError("\(error)")  // unreachable: the payload is given, nothing else throws
        }
    }

    /// The mempool's answers to a sequence that is no longer the next free one: used, out of the window,
    /// or taken by a pending transaction (which only a higher gas price would replace).
    static func sequenceProblem(_ error: any Error) -> Bool {
        guard let error = error as? ClientError else { return false }
        return ["sequence_too_old", "sequence_too_far_ahead", "duplicate", "underpriced"].contains(error.code ?? "")
    }
}
