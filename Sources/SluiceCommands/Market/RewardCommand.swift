import ArgumentParser
import SluiceAPI
import SluiceClient
import SluiceCore

struct RewardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reward",
        abstract: "Emissions: show an address's rewards, claim them to its balance.",
        discussion: """
            At the end of every epoch (the market's epoch_blocks, 14,400 blocks by default) the chain mints \
            emission_per_epoch: provider_share_basis_points of it goes to the providers by the GPU-seconds \
            of their jobs settled in the epoch, the rest to the block's proposer (the validators' share). \
            Emissions are credited to a reward record, not to the balance; `sluice reward claim` moves them.
            """,
        subcommands: [Show.self, Claim.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show an address's unclaimed, earned and claimed emissions and its work in this epoch.",
            discussion: """
                Example:
                  sluice reward show 0x…
                  sluice reward show 0x… --json
                """)

        @OptionGroup var options: NodeOptions

        @Argument(help: "The address (0x + 64 hex digits).")
        var address: String

        func run() async throws {
            try await reportingErrors {
                let address = try parseAddress(address, "ADDRESS")
                let r = try await options.client().rewards(address)
                if options.json { return try printAPIJSON(r) }
                printRewards(r)
            }
        }
    }

    struct Claim: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign a reward.claim: move the sender's unclaimed emissions to its balance.",
            discussion: """
                Refuses to sign when the node shows nothing to claim (the chain would fail the transaction \
                and keep its fee). With --wait, prints the receipt and the rewards after it.

                Example:
                  sluice reward claim --key DATA/keys/dev-1.json --node http://127.0.0.1:8645 --wait
                """)

        @OptionGroup var options: NodeOptions
        @OptionGroup var transaction: MarketTransactionOptions

        func run() async throws {
            try await reportingErrors {
                let key = try transaction.signingKey()
                let before = try await options.client().rewards(key.address)
                guard before.unclaimed > .zero else {
                    throw CommandError(
                        "\(key.address.hex) has nothing to claim (earned \(before.earned), claimed \(before.claimed)); "
                            + "emissions are credited at the end of each epoch, next at block \(before.epochEndHeight)")
                }
                let submitted = try await submitMarketTransaction(node: options, options: transaction) { _, _ in
                    .rewardClaim
                }
                try await finishMarketTransaction(
                    submitted, node: options, options: transaction,
                    headline: "\(submitted.result.hash.hex) (claiming \(before.unclaimed))"
                ) { client in
                    print("")
                    printRewards(try await client.rewards(key.address))
                }
            }
        }
    }
}

func printRewards(_ r: RewardJSON) {
    print(
        """
        address:     \(r.address.hex)
        unclaimed:   \(r.unclaimed)
        earned:      \(r.earned) (claimed \(r.claimed))
        epoch:       \(r.epoch), ends at block \(r.epochEndHeight) (block \(r.height) now)
        GPU-seconds: \(r.epochGpuSeconds) verified in this epoch
        """)
}
