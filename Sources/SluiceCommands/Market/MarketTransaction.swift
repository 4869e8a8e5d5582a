import ArgumentParser
import Foundation
import SluiceAPI
import SluiceClient
import SluiceCore

// Signing and submitting transactions from the CLI (`tx transfer`, and the market's `provider register`,
// `job submit-raw`, `job cancel`), one path for all: the chain id from the node, the sequence from
// the sender's account (pending ones counted), the hash once the mempool admits it, and with --wait the
// receipt.

/// The options of every market command that signs a transaction.
struct MarketTransactionOptions: ParsableArguments {
    @Option(help: "The sender's key file (`sluice keys new`).")
    var key: String

    @Option(help: "Which key of the file signs, when it holds several (an address).")
    var from: String?

    @Option(help: "The price per gas unit.")
    var gasPrice: UInt64 = 1

    @Option(help: "The most gas the transaction may use (the fee is the gas used times --gas-price).")
    var gasLimit: UInt64 = 100

    @Option(help: "The sequence to sign with (default: the account's next free sequence, pending ones counted).")
    var sequence: UInt64?

    @Flag(help: "Wait until the transaction is committed and print its receipt.")
    var wait = false

    @Option(help: "How long --wait waits: 30s, 500ms, 2m or a number of seconds.")
    var timeout = DurationArgument(.seconds(30), text: "30s")

    /// The key that signs: the file's only key, or the one `--from` names.
    func signingKey() throws -> SigningKey { try loadSigningKey(path: key, from: from) }
}

/// The key that signs, from a key file: its only key, or the one `from` (an address) names.
func loadSigningKey(path: String, from: String?) throws -> SigningKey {
    let keys = try KeyFile.load(path: path)
    if let from {
        let address = try parseAddress(from, "--from")
        guard let match = keys.first(where: { $0.address == address }) else {
            throw CommandError("\(path) holds no key for \(address.hex); check --from or --key")
        }
        return match
    }
    guard keys.count == 1, let only = keys.first else {
        throw CommandError(
            "\(path) holds \(keys.count) keys: name the sender with --from ADDRESS (see `sluice keys show \(path)`)")
    }
    return only
}

/// A transaction signed and admitted by the node.
struct SubmittedTransaction {
    let client: SluiceClient
    let transaction: Transaction
    let result: SubmitResultJSON
}

/// Signs `payload` (built from the sender and its sequence) with the options' key and submits it. Nothing
/// is printed: the caller prints the hash, or waits with `finishMarketTransaction`.
func submitMarketTransaction(
    node: NodeOptions, options: MarketTransactionOptions, payload: @Sendable (Address, UInt64) throws -> Payload
) async throws -> SubmittedTransaction {
    try await submitSigned(
        node: node, key: try options.signingKey(), gasLimit: options.gasLimit, gasPrice: options.gasPrice,
        sequence: options.sequence, expiry: Transaction.never, payload: payload)
}

/// What every signing command does (`tx transfer`, the market's): `TransactionSender`, with the given
/// sequence or the account's next.
func submitSigned(
    node: NodeOptions, key: SigningKey, gasLimit: UInt64, gasPrice: UInt64, sequence: UInt64?, expiry: UInt64,
    payload: @Sendable (Address, UInt64) throws -> Payload
) async throws -> SubmittedTransaction {
    let client = try node.client()
    let sent = try await TransactionSender(client: client, key: key).send(
        gasLimit: gasLimit, gasPrice: gasPrice, sequence: sequence, expiry: expiry, payload: payload)
    return SubmittedTransaction(client: client, transaction: sent.transaction, result: sent.result)
}

/// `finishSubmitted` with the market options' --wait and --timeout.
func finishMarketTransaction(
    _ submitted: SubmittedTransaction, node: NodeOptions, options: MarketTransactionOptions,
    headline: String? = nil, after: (SluiceClient) async throws -> Void = { _ in }
) async throws {
    try await finishSubmitted(
        submitted, node: node, wait: options.wait, timeout: options.timeout.duration, headline: headline,
        after: after)
}

/// Without `wait` prints the hash (`headline` in text mode, the submit result with --json). With `wait`
/// waits for the commit, prints the receipt (or the status as JSON), then `after` when it succeeded;
/// exits 1 when it failed or was discarded.
func finishSubmitted(
    _ submitted: SubmittedTransaction, node: NodeOptions, wait: Bool, timeout: Duration, headline: String? = nil,
    after: (SluiceClient) async throws -> Void = { _ in }
) async throws {
    let hash = submitted.result.hash
    guard wait else {
        if node.json { return try printAPIJSON(submitted.result) }
        print(headline ?? hash.hex)
        return
    }
    if !node.json {
        print("submitted \(hash.hex) (sequence \(submitted.transaction.sequence)); waiting…")
    }
    let committed = try await submitted.client.waitForCommit(hash, timeout: timeout)
    if node.json {
        try printAPIJSON(committed)
    } else {
        printReceipt(committed)
    }
    guard let receipt = committed.receipt, receipt.status == .success else { throw ExitCode(1) }
    if !node.json { try await after(submitted.client) }
}

/// Parses a whole number of base units, naming the option in the error.
func parseAmount(_ text: String, _ what: String) throws -> Amount {
    do { return try Amount(decimal: text) } catch {
        throw CommandError("\(what): '\(text)' is not an amount: \(describe(error)) (a whole number of base units)")
    }
}
