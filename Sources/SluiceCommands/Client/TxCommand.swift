import ArgumentParser
import Foundation
import SluiceAPI
import SluiceClient
import SluiceCore

struct TxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tx",
        abstract: "Send and inspect transactions on a running node.",
        subcommands: [Transfer.self, Show.self, Proof.self]
    )

    struct Transfer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign a transfer with a key file and submit it to the node.",
            discussion: """
                The chain id comes from the node, and the sequence (unless --sequence) from the sender's \
                account: its sequence plus the unbroken run of its transactions pending in the mempool. Prints the transaction's \
                hash once the mempool admits it; a rejection prints the node's reason and code and exits 1. \
                With --wait, waits until a block commits the transaction and prints the receipt; exits 1 if \
                it failed or was discarded.

                The fee is the gas used times --gas-price, paid from the sender's balance.

                Example:
                  sluice tx transfer --key DATA/keys/dev-0.json --to ADDRESS --amount 1000 --wait
                """)

        @OptionGroup var options: NodeOptions

        @Option(help: "The sender's key file (`sluice keys new`).")
        var key: String

        @Option(help: "Which key of the file signs, when it holds several (an address).")
        var from: String?

        @Option(help: "The recipient's address.")
        var to: String

        @Option(help: "The amount to send: a whole number of the smallest unit.")
        var amount: String

        @Option(help: "The price per gas unit.")
        var gasPrice: UInt64 = 1

        @Option(help: "The most gas the transaction may use.")
        var gasLimit: UInt64 = 20

        @Option(help: "The sequence to sign with (default: the account's next free sequence, pending ones counted).")
        var sequence: UInt64?

        @Option(help: "Seconds from now after which the transaction may no longer be included (default: never).")
        var expirySeconds: UInt64?

        @Flag(help: "Wait until the transaction is committed and print its receipt.")
        var wait = false

        @Option(help: "How long --wait waits: 30s, 500ms, 2m or a number of seconds.")
        var timeout = DurationArgument(.seconds(30), text: "30s")

        func run() async throws {
            try await reportingErrors {
                let key = try loadSigningKey(path: key, from: from)
                let recipient = try parseAddress(to, "--to")
                let value: Amount
                do { value = try Amount(decimal: amount) } catch {
                    throw CommandError("--amount: \(describe(error))")
                }
                let submitted = try await submitSigned(
                    node: options, key: key, gasLimit: gasLimit, gasPrice: gasPrice, sequence: sequence,
                    expiry: try expiryTimestamp()
                ) { _, _ in .transfer(to: recipient, amount: value) }
                try await finishSubmitted(submitted, node: options, wait: wait, timeout: timeout.duration)
            }
        }

        private func expiryTimestamp() throws -> UInt64 {
            guard let expirySeconds else { return Transaction.never }
            let now = UInt64(max(0, Date().timeIntervalSince1970))
            let (sum, overflow) = now.addingReportingOverflow(expirySeconds)
            guard !overflow, sum != Transaction.never else {
                throw CommandError(
                    "--expiry-seconds: \(expirySeconds) is too far in the future; leave it out for no expiry")
            }
            return sum
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a transaction: pending in the mempool, or committed with its receipt.",
            discussion: """
                Exits 1 when the node knows nothing of the hash (never submitted, or dropped from the \
                mempool).

                Example:
                  sluice tx show HASH   (the hash `sluice tx transfer` printed)
                """)

        @OptionGroup var options: NodeOptions

        @Argument(help: "The transaction's hash (0x + 64 hex digits).")
        var hash: String

        func run() async throws {
            try await reportingErrors {
                let hash = try parseHash(hash, "HASH")
                guard let status = try await options.client().transaction(hash) else {
                    throw CommandError(
                        "the node knows no transaction \(hash.hex): it was never admitted, or was dropped from the mempool; submit it again"
                    )
                }
                if options.json { return try printAPIJSON(status) }
                printTransaction(status)
            }
        }
    }
}

extension TxCommand {
    struct Proof: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prove a committed transaction's receipt and events against a block header, locally.",
            discussion: """
                Fetches the receipt with its Merkle path to the receipts root that the next block's header \
                carries, and checks here that the receipt is the transaction's, that its leaf and path give that \
                root, and that the header is the next block's and hashes as given. Prints the receipt, its \
                events and the header's hash: compare that hash with one you trust (another node's, a \
                validator certificate). Waits up to --timeout for the next block when the transaction is in \
                the head block. Exits 1 when the proof does not hold or the transaction is not committed.

                Example:
                  sluice tx proof HASH
                  sluice tx proof HASH --json
                """)

        @OptionGroup var options: NodeOptions

        @Argument(help: "The transaction's hash (0x + 64 hex digits).")
        var hash: String

        @Option(help: "How long to wait for the block that commits the receipts root: 10s, 500ms, 2m or seconds.")
        var timeout = DurationArgument(.seconds(10), text: "10s")

        func run() async throws {
            try await reportingErrors {
                let hash = try parseHash(hash, "HASH")
                let client = try options.client()
                let deadline = ContinuousClock.now.advanced(by: timeout.duration)
                var found = try await client.receiptProof(transaction: hash)
                while found == nil && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(200))
                    found = try await client.receiptProof(transaction: hash)
                }
                guard let proof = found else {
                    throw CommandError(
                        "no proof for \(hash.hex): the transaction is not committed, or the block after it has not "
                            + "committed yet (see `sluice tx show \(hash.hex)`; retry with a longer --timeout)")
                }
                let verified: ReceiptProofJSON.Verified
                do { verified = try proof.verify(transaction: hash) } catch {
                    throw CommandError("the proof does NOT hold: \(error). Do not trust this node's answer.")
                }
                if options.json { return try printAPIJSON(proof) }
                guard let receipt = verified.receipt else { return }
                print(
                    """
                    verified: receipt \(proof.index) of block \(proof.height) (\(proof.leafCount) entries, path of \(proof.path.count))
                    header:   block \(verified.header.height), hash \(verified.headerHash.hex)
                    receipts: root \(verified.header.parentReceiptsRoot.hex)
                    status:   \(receipt.status.name)
                    fee:      \(receipt.fee)
                    """)
                if let error = receipt.error { print("error:    \(error)") }
                for event in verified.events { print("event:    \(describeEvent(EventJSON(event)))") }
            }
        }
    }
}

/// One line for an event: its kind, then its fields.
func describeEvent(_ e: EventJSON) -> String {
    var parts = [e.kind]
    for child in Mirror(reflecting: e).children {
        guard let label = child.label, label != "kind" else { continue }
        let value = Mirror(reflecting: child.value)
        guard value.displayStyle == .optional, let inner = value.children.first?.value else { continue }
        switch inner {
        case let h as Hash: parts.append("\(label)=\(h.hex)")
        case let a as Address: parts.append("\(label)=\(a.hex)")
        case let list as [Address]: parts.append("\(label)=[\(list.map(\.hex).joined(separator: ","))]")
        case let payouts as [EventJSON.PayoutJSON]:
            parts.append("\(label)=[\(payouts.map { "\($0.provider.hex):\($0.amount)" }.joined(separator: ","))]")
        default: parts.append("\(label)=\(inner)")
        }
    }
    return parts.joined(separator: " ")
}

/// The transaction's fields, then where it is: the mempool, or a block with its receipt.
func printTransaction(_ status: TransactionStatusJSON) {
    print("hash:     \(status.hash.hex)")
    if let tx = status.transaction {
        print(
            """
            sender:   \(tx.sender.hex)
            sequence: \(tx.sequence)
            payload:  \(tx.payload.summary)
            gas:      limit \(tx.gasLimit), price \(tx.gasPrice)\(tx.expiry.map { "\nexpiry:   \($0)" } ?? "")
            """)
    }
    if status.status == "committed" {
        printReceipt(status, withHash: false)
    } else {
        print("status:   \(status.status)")
    }
}

/// `status`, gas, fee, block and error of a committed transaction.
func printReceipt(_ status: TransactionStatusJSON, withHash: Bool = true) {
    if withHash { print("hash:     \(status.hash.hex)") }
    guard let receipt = status.receipt else {
        print("status:   \(status.status)")
        return
    }
    print(
        """
        status:   \(receipt.status.name)
        block:    \(status.blockHeight.map(String.init) ?? "?"), index \(status.index.map(String.init) ?? "?")
        gas used: \(receipt.gasUsed)
        fee:      \(receipt.fee)
        """)
    if let error = receipt.error { print("error:    \(error)") }
    if let output = receipt.output { print("output:   \(output.hex)") }
    for event in receipt.events { print("event:    \(describeEvent(event))") }
}
