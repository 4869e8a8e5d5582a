import ArgumentParser
import Foundation
import SluiceAPI
import SluiceClient
import SluiceCore

extension MarketCommand {
    struct Params: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the market's parameters (set at genesis) and what slashes have burned.",
            discussion: """
                Example:
                  sluice market params
                """)

        @OptionGroup var options: NodeOptions

        func run() async throws {
            try await reportingErrors {
                let p = try await options.client().marketParams()
                if options.json { return try printAPIJSON(p) }
                print(
                    """
                    at height \(p.height)
                      minimum stake              \(p.minimumStake)
                      open job TTL               \(p.openJobBlocks) blocks
                      unbonding                  \(p.unbondingBlocks) blocks
                      commit grace               \(p.commitGraceSeconds) s after max duration
                      reveal window              \(p.revealWindowSeconds) s
                      protocol fee               \(percent(p.feeBasisPoints))
                      missed deadline slash      \(percent(p.missedDeadlineSlashBasisPoints)) of stake
                      random audits              \(percent(p.auditProbabilityBasisPoints)) of agreeing jobs
                      dishonest slash            \(percent(p.dishonestSlashBasisPoints)) of stake: \(percent(p.slashBurnBasisPoints)) burned, \(percent(p.slashAuditorBasisPoints)) to the auditor, \(percent(p.slashConsumerBasisPoints)) to the consumer
                      audit rounds               \(p.maxAuditRounds), \(p.auditGraceSeconds) s after max duration each
                      dispute                    bond ≥ \(p.disputeBond), within \(p.disputeWindowSeconds) s of settlement
                      burned so far              \(p.burned)
                    """)
            }
        }
    }
}

func percent(_ bps: UInt32) -> String {
    bps % 100 == 0 ? "\(bps / 100) %" : String(format: "%.2f %%", Double(bps) / 100)
}

extension ProviderCommand {
    struct Earnings: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What a provider earned: one line per settled job it ran or audited, with the totals.",
            discussion: """
                Reads the settled jobs from the node (all pages) and lists those the address was paid for, as \
                an assigned provider or as the auditor: gross pay (price × GPUs × seconds used), the protocol \
                fee, and net. --csv prints a header and one row per job for a spreadsheet.

                Example:
                  sluice provider earnings 0x… --csv > earnings.csv
                """)

        @OptionGroup var options: NodeOptions

        @Argument(help: "The provider's address.")
        var address: String

        @Flag(help: "CSV: job,role,usage_seconds,price_per_gpu_hour,gross,fee,net.")
        var csv = false

        func run() async throws {
            try await reportingErrors {
                let address = try parseAddress(address, "ADDRESS")
                let client = try options.client()
                let feeBps = UInt128(try await client.marketParams().feeBasisPoints)
                struct Row: Encodable {
                    var job: Hash
                    var role: String
                    var usageSeconds: UInt64
                    var pricePerGpuHour: Amount
                    var gross: Amount
                    var fee: Amount
                    var net: Amount
                }
                var rows: [Row] = []
                var after: Hash? = nil
                repeat {
                    let page = try await client.jobs(status: "settled", limit: 1000, after: after)
                    for job in page.jobs {
                        if let a = job.assigned.first(where: { $0.provider == address }), let paid = a.paid {
                            let fee = paid.value * feeBps / 10_000
                            rows.append(
                                Row(
                                    job: job.id, role: "provider", usageSeconds: a.usageSeconds ?? 0,
                                    pricePerGpuHour: a.pricePerGpuHour, gross: paid, fee: Amount(fee),
                                    net: Amount(paid.value - fee)))
                        }
                        if job.auditor == address, let paid = job.auditPaid {
                            rows.append(
                                Row(
                                    job: job.id, role: "auditor", usageSeconds: job.auditUsageSeconds ?? 0,
                                    pricePerGpuHour: job.auditPricePerGpuHour ?? .zero, gross: paid, fee: .zero,
                                    net: paid))
                        }
                    }
                    after = page.next
                } while after != nil
                let net = rows.reduce(UInt128(0)) { $0 + $1.net.value }
                if options.json { return try printAPIJSON(rows) }
                if csv {
                    print("job,role,usage_seconds,price_per_gpu_hour,gross,fee,net")
                    for r in rows {
                        print(
                            "\(r.job.hex),\(r.role),\(r.usageSeconds),\(r.pricePerGpuHour),\(r.gross),\(r.fee),\(r.net)"
                        )
                    }
                    return
                }
                for r in rows {
                    print(
                        "\(r.job.hex.prefix(18))…  \(r.role.padding(toLength: 8, withPad: " ", startingAt: 0))  \(r.usageSeconds) s at \(r.pricePerGpuHour)/GPU-h  gross \(r.gross)  fee \(r.fee)  net \(r.net)"
                    )
                }
                print("\(rows.count) paid job(s); net \(net)")
            }
        }
    }
}
