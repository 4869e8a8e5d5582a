import ArgumentParser
import Foundation
import SluiceAPI
import SluiceClient
import SluiceCore

struct BlockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "block",
        abstract: "Inspect blocks on a running node.",
        subcommands: [Show.self, Watch.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a block's header, state root and transactions.",
            discussion: """
                Without HEIGHT, shows the head. --full adds each transaction with its receipt.

                Examples:
                  sluice block show
                  sluice block show 12 --full --json
                """)

        @OptionGroup var options: NodeOptions

        @Flag(help: "Include the transactions and their receipts.")
        var full = false

        @Argument(help: "A block height, or latest.")
        var height: String = "latest"

        func run() async throws {
            try await reportingErrors {
                let number: UInt64?
                if height == "latest" {
                    number = nil
                } else if let h = UInt64(height) {
                    number = h
                } else {
                    throw CommandError("HEIGHT: '\(height)' is not a block height; use a number or latest")
                }
                guard let block = try await options.client().block(height: number, full: full) else {
                    throw CommandError(
                        "the node has no block \(height) yet; see the head's height with `sluice status`")
                }
                if options.json { return try printAPIJSON(block) }
                printBlock(block)
            }
        }

        private func printBlock(_ b: BlockJSON) {
            print(
                """
                height:       \(b.height)
                hash:         \(b.hash.hex)
                parent:       \(b.parentHash.hex)
                chain id:     \(b.chainId)
                timestamp:    \(b.timestamp)
                proposer:     \(b.proposer.hex)
                state root:   \(b.stateRoot.hex)
                parent state: \(b.parentStateRoot.hex)
                tx root:      \(b.transactionsRoot.hex)
                transactions: \(b.transactionCount)
                """)
            if let txs = b.transactions {
                let receipts = Dictionary(
                    (b.receipts ?? []).map { ($0.index, $0) }, uniquingKeysWith: { first, _ in first })
                for (i, tx) in txs.enumerated() {
                    let hash = i < b.transactionHashes.count ? b.transactionHashes[i].hex : "?"
                    let receipt =
                        receipts[i].map {
                            " → \($0.status.name), gas \($0.gasUsed), fee \($0.fee)\($0.error.map { ": \($0)" } ?? "")"
                        } ?? ""
                    print(
                        "  \(i): \(hash) \(tx.sender.hex) #\(tx.sequence) \(tx.payload.summary)\(receipt)"
                    )
                }
            } else {
                for (i, hash) in b.transactionHashes.enumerated() { print("  \(i): \(hash.hex)") }
            }
        }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print blocks as the node commits them (the /v1/events WebSocket).",
            discussion: """
                One line per committed block, with the receipts of its transactions; with --account, only \
                blocks with transactions sent by or to that account, and only their receipts. --json prints \
                each event as one line of JSON. Runs until the node stops, --count events have come, or \
                Ctrl-C.

                Example:
                  sluice block watch --account ADDRESS --count 1
                """)

        @OptionGroup var options: NodeOptions

        @Option(help: "Only blocks with transactions sent by or to this address.")
        var account: String?

        @Option(help: "Stop after this many events.")
        var count: Int?

        func run() async throws {
            try await reportingErrors {
                let filter = try account.map { try parseAddress($0, "--account") }
                if let count, count < 1 { throw CommandError("--count: must be at least 1") }
                let encoder = APIJSON.encoder()
                var seen = 0
                for try await event in try options.client().events(account: filter) {
                    if options.json {
                        var line = try encoder.encode(event)
                        line.append(0x0a)
                        FileHandle.standardOutput.write(line)
                    } else {
                        print("block \(event.height) \(event.hash.hex): \(event.transactionCount) transactions")
                        for r in event.receipts {
                            let to = r.to.map { " → \($0.hex)" } ?? ""
                            let error = r.error.map { ": \($0)" } ?? ""
                            print(
                                "  \(r.index): \(r.transactionHash.hex) \(r.sender.hex)\(to) \(r.status.name), fee \(r.fee)\(error)"
                            )
                        }
                    }
                    seen += 1
                    if let count, seen >= count { return }
                }
                let note = "the node closed the event stream after \(seen) events (did it stop?)"
                guard let count else {
                    FileHandle.standardError.write(Data("\(note)\n".utf8))
                    return
                }
                throw CommandError("\(note); expected \(count)")
            }
        }
    }
}
