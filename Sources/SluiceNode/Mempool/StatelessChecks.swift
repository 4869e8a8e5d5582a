import Dispatch
import SluiceCore
import SluiceExecution
import SluiceRuntime
import SluiceState

/// A submitted transaction after the checks that take no lock: its hash, its first failing stateless
/// check if any, and its sender's account as read from the state it was submitted against.
struct CheckedTransaction: Sendable {
    var transaction: Transaction
    var hash: Hash
    var rejection: MempoolRejection?
    var account: AccountState?
}

/// Transactions per unit of parallel work: an Ed25519 verification is ~50 µs, so a chunk is a few
/// milliseconds, coarse enough to amortize dispatch and fine enough to spread 2,000 over many cores.
let verificationChunkSize = 32

/// Runs the stateless checks on every transaction — cheapest first: size, that it reads back from its
/// encoding (the decoder's `WireLimits`, the same the block codec applies), chain id, expiry, gas limit, gas
/// price, the market's stateless rules (`MarketRules`), then the signature — and reads each valid one's sender account. With `parallel`, chunks
/// run on all cores (`DispatchQueue.concurrentPerform`); without it, in order on this thread (the
/// sequential twin tests compare against). Results are in input order either way.
/// - Complexity: O(n) signature verifications, spread over the cores.
func checkStateless<State: StateReader<StateValue>>(
    _ txs: [Transaction], configuration: Mempool.Configuration, now: UInt64, state: State, parallel: Bool
) -> [CheckedTransaction] {
    let n = txs.count
    guard n > 0 else { return [] }
    let out = UnsafeMutableBufferPointer<CheckedTransaction>.allocate(capacity: n)
    defer { out.deallocate() }
    let shared = CheckedOutput(buffer: out)
    let chunks = (n + verificationChunkSize - 1) / verificationChunkSize
    let body: @Sendable (Int) -> Void = { c in
        let from = c * verificationChunkSize
        for i in from..<Swift.min(from + verificationChunkSize, n) {
            (shared.buffer.baseAddress! + i).initialize(
                to: checkOne(txs[i], configuration: configuration, now: now, state: state))
        }
    }
    if parallel && chunks > 1 {
        DispatchQueue.concurrentPerform(iterations: chunks, execute: body)
    } else {
        for c in 0..<chunks { body(c) }
    }
    let result = Array(out)
    out.baseAddress!.deinitialize(count: n)
    return result
}

private func checkOne<State: StateReader<StateValue>>(
    _ tx: Transaction, configuration c: Mempool.Configuration, now: UInt64, state: State
) -> CheckedTransaction {
    let bytes = tx.canonicalBytes
    var checked = CheckedTransaction(transaction: tx, hash: Hash.sha256(bytes), rejection: nil, account: nil)
    let required = RuntimeVM.intrinsicGas(of: tx.payload)
    // A module may need more than the default (a proof-of-GPU answer: `Market.proofTransactionBytes`).
    let limit = RuntimeVM.admissionBytes(of: tx.payload, default: c.maxTransactionBytes)
    if bytes.count > limit {
        checked.rejection = .oversized(size: bytes.count, limit: limit)
    } else if let failure = roundTripFailure(tx, bytes) {
        checked.rejection = .undecodable(reason: failure.message)
    } else if tx.chainId != c.chainId {
        checked.rejection = .wrongChain(expected: c.chainId, got: tx.chainId)
    } else if tx.expiry < now {
        checked.rejection = .expired(expiry: tx.expiry, now: now)
    } else if tx.gasLimit < required {
        checked.rejection = .gasLimitTooLow(limit: tx.gasLimit, required: required)
    } else if tx.gasPrice < c.minGasPrice {
        checked.rejection = .gasPriceTooLow(price: tx.gasPrice, minimum: c.minGasPrice)
    } else if let error = MarketRules.statelessFailure(of: tx.payload) {
        checked.rejection = .invalidPayload(error)
    } else if let failure = tx.verifySignature() {
        checked.rejection = .badSignature(failure)
    } else {
        checked.account = state.read(.account(tx.sender))?.account
    }
    return checked
}

/// Why `tx` does not read back from `bytes`, its canonical encoding, if it does not.
private func roundTripFailure(_ tx: Transaction, _ bytes: [UInt8]) -> CoreError? {
    do throws(CoreError) { try tx.checkRoundTrip(encoded: bytes) } catch { return error }
    return nil
}

/// The output buffer, shared by the workers; each writes only its own chunk.
private struct CheckedOutput: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<CheckedTransaction>
}
