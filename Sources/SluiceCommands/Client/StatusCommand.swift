import ArgumentParser
import SluiceAPI
import SluiceClient
import SluiceCore

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a running node's chain, head block, mempool and throughput.",
        discussion: """
            A quick check that the node is up: `sluice status` fails with advice when nothing answers at \
            --node (default: $SLUICE_NODE, else http://127.0.0.1:8645).

            Example:
              SLUICE_NODE=http://127.0.0.1:18645 sluice status --json
            """)

    @OptionGroup var options: NodeOptions

    func run() async throws {
        try await reportingErrors {
            let client = try options.client()
            let s = try await client.status()
            if options.json { return try printAPIJSON(s) }
            print(
                """
                node:         \(client.baseURL) (version \(s.version))
                chain id:     \(s.chainId)
                height:       \(s.height)
                head:         \(s.headHash.hex) (timestamp \(s.headTimestamp))
                state root:   \(s.stateRoot.hex)
                mempool:      \(s.mempoolSize) transactions from \(s.mempoolSenders) senders
                throughput:   \(formatted(s.transactionsPerSecond)) tx/s, \(s.committedTransactions) committed
                block time:   \(s.blockTimeMillis) ms, at most \(s.maxBlockSize) transactions
                uptime:       \(formatted(s.uptimeSeconds)) s
                """)
            if let c = s.consensus {
                let peers = c.connectedPeers.map(String.init).joined(separator: ", ")
                print(
                    """
                    consensus:    validator \(c.validator) of \(c.validators), epoch \(c.epoch), round \(c.round), \
                    committed height \(c.committedHeight)
                    peers:        \(c.connectedPeers.count) of \(c.validators - 1) connected\(peers.isEmpty ? "" : " (\(peers))")
                    dropped:      \(c.droppedMessages) peer messages, \(c.evidence) double signatures seen
                    """)
            } else {
                print("consensus:    none (this node orders blocks alone)")
            }
        }
    }

    private func formatted(_ x: Double) -> String {
        x.isFinite ? String(Double((x * 10).rounded()) / 10) : "\(x)"
    }
}
