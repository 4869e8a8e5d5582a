import ArgumentParser
import SluiceAPI
import SluiceClient
import SluiceCore

struct MarketCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "market",
        abstract: "Inspect the GPU compute market: providers' asks and jobs.",
        subcommands: [Asks.self, Jobs.self, Params.self]
    )

    struct Asks: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the registered providers, cheapest first.",
            discussion: """
                Sorted by price per GPU-hour, then by free GPUs (most first), then by address: roughly the \
                order in which the block-end auction considers them (it breaks ties by reputation, then \
                uptime). FREE/CAP is the GPUs left to match over those offered; UPTIME the share of the last \
                64 uptime slots with a heartbeat.

                Example:
                  sluice market asks
                  sluice market asks --json
                """)

        @OptionGroup var options: NodeOptions

        func run() async throws {
            try await reportingErrors {
                var list = try await options.client().providers()
                list.providers.sort { a, b in
                    if a.pricePerGpuHour != b.pricePerGpuHour { return a.pricePerGpuHour < b.pricePerGpuHour }
                    if a.free != b.free { return a.free > b.free }
                    return a.address < b.address
                }
                if options.json { return try printAPIJSON(list) }
                guard !list.providers.isEmpty else {
                    print(
                        "no providers registered (block \(list.height)); register one with `sluice provider register`")
                    return
                }
                printTable(
                    ["PROVIDER", "PRICE/GPU-H", "FREE/CAP", "REPUTATION", "UPTIME", "PROVEN", "DEVICES"],
                    list.providers.map { p in
                        // Device classes that passed their latest proof-of-GPU round ("-": no proofs asked).
                        let proven = p.proofs.isEmpty ? "-" : "\(p.proofs.filter(\.eligible).count)/\(p.proofs.count)"
                        return [
                            shortHex(p.address.hash), "\(p.pricePerGpuHour)", "\(p.free)/\(p.capacity)",
                            "\(p.reputation)", percent(p.uptimeBasisPoints), proven, p.devicesSummary,
                        ]
                    })
            }
        }
    }

    struct Jobs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List jobs by id, optionally only those in one state.",
            discussion: """
                Shows one page (--limit, default 100, at most 1000); when more follow, prints the --after \
                value for the next page.

                Examples:
                  sluice market jobs --status open
                  sluice market jobs --limit 10 --after JOB_ID --json
                """)

        @OptionGroup var options: NodeOptions

        @Option(help: "Only jobs in this state: open, matched, cancelled or expired.")
        var status: String?

        @Option(help: "The most jobs to show: 1 to 1000 (default 100).")
        var limit: Int?

        @Option(help: "Show the jobs after this id (the previous page's next).")
        var after: String?

        func run() async throws {
            try await reportingErrors {
                if let limit, !(1...1000).contains(limit) {
                    throw CommandError("--limit: \(limit) is not from 1 to 1000")
                }
                let start = try after.map { try parseHash($0, "--after") }
                let page = try await options.client().jobs(status: status, limit: limit, after: start)
                if options.json { return try printAPIJSON(page) }
                if page.jobs.isEmpty {
                    print(
                        "no \(status.map { "\($0) " } ?? "")jobs\(start == nil ? "" : " after \(start!.hex)") (block \(page.height))"
                    )
                } else {
                    printTable(
                        ["JOB", "STATUS", "K×GPUS", "MAX PRICE", "ESCROW", "SUBMITTED", "PROVIDERS"],
                        page.jobs.map { j in
                            [
                                shortHex(j.id), j.status.name, "\(j.spec.redundancy)×\(j.spec.gpuCount)",
                                "\(j.spec.maxPricePerGpuHour)", "\(j.escrow)", "\(j.submitHeight)",
                                j.assigned.isEmpty
                                    ? "-" : j.assigned.map { shortHex($0.provider.hash) }.joined(separator: " "),
                            ]
                        })
                }
                if let next = page.next {
                    let filter = status.map { " --status \($0)" } ?? ""
                    print("more: sluice market jobs\(filter) --after \(next.hex)")
                }
            }
        }
    }
}
