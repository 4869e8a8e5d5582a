import SluiceAPI
public import SluiceClient
public import SluiceCore

/// Signs and submits the agent's transactions one at a time, keeping the sequence itself: commits,
/// reveals and heartbeats of several jobs go out close together, and each needs the next sequence. When
/// the node says the sequence is off (a restart, a transaction dropped), it reads the account again and
/// tries once more.
public actor TransactionSender {
    let client: SluiceClient
    let key: SigningKey
    private var chainId: UInt64?
    private var next: UInt64?

    public init(client: SluiceClient, key: SigningKey) {
        self.client = client
        self.key = key
    }

    public var address: Address { key.address }

    /// Submits `payload`; returns the transaction's hash once the mempool admitted it.
    @discardableResult
    public func send(_ payload: Payload, gasLimit: UInt64 = 100) async throws(ClientError) -> Hash {
        for attempt in 0..<2 {
            if chainId == nil { chainId = try await client.status().chainId }
            if next == nil { next = try await client.account(key.address).nextSequence }
            let tx = Transaction(
                chainId: chainId!, sender: key.address, sequence: next!, gasLimit: gasLimit, gasPrice: 1,
                expiry: Transaction.never, payload: payload
            ).signed(with: key)
            do {
                let result = try await client.submit(tx)
                next = next! + 1
                return result.hash
            } catch let error where attempt == 0 && Self.sequenceProblem(error) {
                next = nil
            }
        }
        throw ClientError("unreachable: the second attempt throws")
    }

    static func sequenceProblem(_ error: ClientError) -> Bool {
        ["sequence_too_old", "sequence_too_far_ahead", "duplicate"].contains(error.code ?? "")
    }
}
