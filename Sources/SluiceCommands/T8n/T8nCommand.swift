import ArgumentParser
import Foundation
import SluiceAPI
import SluiceCore
import SluiceExecution
import SluiceRuntime
import SluiceState

struct T8nCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "t8n",
        abstract: "Execute a block of transactions offline: pre-state + transactions → post-state + receipts.",
        discussion: """
            Files (amounts are decimal strings, everything binary is 0x-hex):
              pre.json   {"accounts": [{"address": "0x…", "balance": "1000", "sequence": 0}, …]}
              txs.json   [{"sender": "0x…", "sequence": 0, "gasLimit": 20, "gasPrice": 1,
                           "payload": {"type": "transfer", "to": "0x…", "amount": "5"},
                           "authenticator": {"scheme": "ed25519", "publicKey": "0x…", "signature": "0x…"}}, …]
                         optional: "chainId" (default --chain-id), "expiry" (Unix seconds, default never);
                         payload type "compute-transfer" also takes "rounds".
              post.json  {"stateRoot", "feesCollected", "accounts": [sorted by address], "receipts": […]}
            The result is the same for every --threads and with --sequential.

            Sign a transactions file (for tests and benchmarks):
              sluice t8n --sign --keys keys.json --txs unsigned.json --out signed.json
            where keys.json holds key files from `sluice keys new` (one object or an array).
            """
    )

    @Option(help: "The pre-state file.")
    var state: String?

    @Option(help: "The transactions file (a JSON array).")
    var txs: String

    @Option(help: "Where to write the post-state (or, with --sign, the signed transactions).")
    var out: String

    @Option(help: "Worker threads for parallel execution (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Execute with the sequential reference executor.")
    var sequential = false

    @Flag(help: "Run Block-STM even where the adaptive choice would run sequentially.")
    var forceParallel = false

    @Flag(name: .customLong("no-verify"), help: "Do not require valid signatures.")
    var noVerify = false

    @Option(help: "The chain id of the block; transactions for another chain are discarded.")
    var chainId: UInt64 = 1

    @Option(help: "The block timestamp (Unix seconds); transactions whose expiry is earlier are discarded.")
    var timestamp: UInt64 = 0

    @Flag(help: "Sign the transactions of --txs with the keys of --keys instead of executing them.")
    var sign = false

    @Option(help: "With --sign: the key file(s) of the senders.")
    var keys: String?

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        if sign {
            guard keys != nil else { throw ValidationError("--sign needs --keys FILE with the senders' keys") }
        } else {
            guard state != nil else { throw ValidationError("--state FILE is required (the pre-state)") }
            guard !(sequential && forceParallel) else {
                throw ValidationError("choose --sequential or --force-parallel, not both")
            }
        }
    }

    func run() throws {
        try reportingErrors {
            try execute()
        }
    }

    private func execute() throws {
        let transactions = try T8n.loadTransactions(readFile(txs), file: txs, chainId: chainId)
        if sign {
            let signingKeys = try KeyFile.load(path: keys!)
            let signed = try T8n.sign(transactions, keys: signingKeys, file: txs, keysFile: keys!)
            try writeFileAtomically(try prettyJSON(signed.map(TransactionJSON.init)), to: out)
            FileHandle.standardError.write(Data("signed \(signed.count) transactions into \(out)\n".utf8))
            return
        }
        let pre = try T8n.loadPreState(readFile(state!), file: state!)
        var options = T8n.Options()
        options.chainId = chainId
        options.timestamp = timestamp
        options.verify = !noVerify
        options.threads = threads
        options.sequential = sequential
        options.forceParallel = forceParallel
        let result = T8n.run(pre: pre, txs: transactions, options: options)
        try writeFileAtomically(try prettyJSON(result.post), to: out)
        let s = result.statistics
        let ms = Double(s.totalNanos) / 1e6
        FileHandle.standardError.write(
            Data(
                ("executed \(s.transactions) transactions in \(String(format: "%.2f", ms)) ms: \(s.path.rawValue) path "
                    + "(\(s.reason.isEmpty ? "requested" : s.reason)), \(s.reExecutions) re-executions, "
                    + "\(s.validationAborts) validation aborts; state root \(result.post.stateRoot.hex)\n").utf8))
    }
}
