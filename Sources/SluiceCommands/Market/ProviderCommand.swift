import ArgumentParser
import SluiceAPI
import SluiceClient
import SluiceCore

struct ProviderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provider",
        abstract: "Register as a GPU provider of the market, and inspect providers.",
        subcommands: [Run.self, GPUs.self, Earnings.self, Register.self, Show.self]
    )

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign a provider.register with a key file: stake, offer GPUs at a price per GPU-hour.",
            discussion: """
                The stake (at least the market's minimum, 1000) moves from the sender's balance into the \
                provider's record. Each --gpu names one class of device as MODEL:VRAM_GB:COUNT[:SCORE][@PRICE] \
                (the score is the benchmark score claimed, 0 if left out; @PRICE is that class's own ask per \
                GPU-hour, --price if left out); repeat it for several classes. The block-end auction gives \
                each job the cheapest device classes that fit it, at their own ask.

                The chain id comes from the node and the sequence from the account, as `sluice tx transfer`. \
                Prints the transaction's hash; with --wait, the receipt and the provider's record.

                Example:
                  sluice provider register --key DATA/keys/dev-1.json --stake 5000 --price 6 \\
                    --gpu "NVIDIA H100 80GB HBM3:80:8:1000" --region eu-west --wait
                """)

        @OptionGroup var options: NodeOptions
        @OptionGroup var transaction: MarketTransactionOptions

        @Option(help: "The stake: a whole number of base units.")
        var stake: String

        @Option(help: "The price per GPU-hour: a whole number of base units.")
        var price: String

        @Option(
            help: ArgumentHelp(
                "A class of GPU offered: MODEL:VRAM_GB:COUNT[:SCORE]; repeatable.",
                valueName: "model:vram:count[:score]"))
        var gpu: [String]

        @Option(help: "Where the GPUs are (informational).")
        var region = ""

        @Option(help: "Where the provider's agent can be reached (informational).")
        var endpoint = ""

        @Option(help: "A runner the provider supports: process or container; repeatable (default: process).")
        var runner: [String] = []

        func run() async throws {
            try await reportingErrors {
                let runners = try (runner.isEmpty ? ["process"] : runner).map { name in
                    guard let r = Runner(name: name) else {
                        throw CommandError(
                            "--runner: '\(name)' is not one of \(Runner.names.joined(separator: ", "))")
                    }
                    return r
                }
                guard !gpu.isEmpty else {
                    throw CommandError("--gpu: name at least one device class, e.g. --gpu \"RTX 4090:24:2\"")
                }
                let devices = try gpu.map { try parseGPU($0) }
                let offer = ProviderRegistration(
                    devices: devices, region: region, endpoint: endpoint, stake: try parseAmount(stake, "--stake"),
                    pricePerGPUHour: try parseAmount(price, "--price"), runners: runners)
                let submitted = try await submitMarketTransaction(node: options, options: transaction) { _, _ in
                    .providerRegister(offer)
                }
                let address = submitted.transaction.sender
                try await finishMarketTransaction(submitted, node: options, options: transaction) { client in
                    guard let provider = try await client.provider(address) else { return }
                    print("")
                    printProvider(provider)
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a registered provider: ask, free capacity, devices, stake, reputation.",
            discussion: """
                Exits 1 when the address is not a registered provider.

                Example:
                  sluice provider show ADDRESS
                """)

        @OptionGroup var options: NodeOptions

        @Argument(help: "The provider's address (0x + 64 hex digits).")
        var address: String

        func run() async throws {
            try await reportingErrors {
                let address = try parseAddress(address, "ADDRESS")
                guard let provider = try await options.client().provider(address) else {
                    throw CommandError(
                        "\(address.hex) is not a registered provider; see `sluice market asks` for those that are")
                }
                if options.json { return try printAPIJSON(provider) }
                printProvider(provider)
            }
        }
    }
}

/// Parses `MODEL:VRAM_GB:COUNT[:SCORE][@PRICE]`. The numbers are taken from the right, so a model name may
/// itself contain colons; `@PRICE` is the class's own ask per GPU-hour (absent: the provider's --price).
func parseGPU(_ text: String) throws -> GPUDevice {
    func fail(_ why: String) -> CommandError {
        CommandError(
            "--gpu '\(text)': \(why); use MODEL:VRAM_GB:COUNT[:SCORE][@PRICE], e.g. \"RTX 4090:24:2\" or \"RTX 4090:24:2:500@7\""
        )
    }
    var spec = Substring(text)
    var price = Amount.zero
    if let at = text.lastIndex(of: "@") {
        let digits = String(text[text.index(after: at)...])
        guard let p = try? Amount(decimal: digits), p > .zero else {
            throw fail("the price after @ must be a whole number of base units above 0")
        }
        price = p
        spec = text[..<at]
    }
    let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    var numbers: [UInt64] = []
    var rest = parts[...]
    // Three trailing numbers are VRAM, count and score; two are VRAM and count.
    while numbers.count < 3, rest.count > 1, let n = UInt64(rest.last!) {
        numbers.insert(n, at: 0)
        rest = rest.dropLast()
    }
    guard numbers.count >= 2 else { throw fail("expected at least a VRAM size and a count after the model") }
    let model = rest.joined(separator: ":")
    guard !model.isEmpty else { throw fail("the model is empty") }
    guard model.utf8.count <= 128 else { throw fail("the model is over 128 bytes") }
    guard numbers[0] <= UInt64(UInt32.max) else { throw fail("VRAM \(numbers[0]) GB is too large") }
    guard numbers[1] >= 1, numbers[1] <= UInt64(UInt32.max) else { throw fail("the count must be 1 or more") }
    return GPUDevice(
        model: model, vramGB: UInt32(numbers[0]), count: UInt32(numbers[1]), score: numbers.count > 2 ? numbers[2] : 0,
        pricePerGPUHour: price)
}
