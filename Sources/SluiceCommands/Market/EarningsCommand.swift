import ArgumentParser
import Foundation
import SluiceAPI
import SluiceClient
import SluiceCore

extension MarketCommand {
    struct Params: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the market's parameters (set at genesis), what slashes have burned and emissions minted.",
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
                      emission                   \(p.emissionPerEpoch) per epoch of \(p.epochBlocks) blocks, \(percent(p.providerShareBasisPoints)) to providers by verified GPU-seconds, the rest to validators
                      emitted so far             \(p.emitted)
                      uptime                     one heartbeat expected per \(p.uptimeSlotBlocks) blocks, over the last 64 slots
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
            abstract: "What an address earned and lost in the market: one row per payment, emission or slash.",
            discussion: """
                Reads the address's income ledger from the node (GET /v1/market/providers/ADDRESS/earnings), \
                which the chain writes at block end: job-pay (a job it ran, net of the protocol fee, the fee \
                in its own column), audit-pay (an audit it ran), slash-share (the auditor's share of the \
                slashes its report caused), emission (its share of an epoch's emission, credited to its \
                reward record: take it with `sluice reward claim`) and slash (stake lost; negative in the \
                CSV). The chain keeps the last 128 rows per address and totals over all of them; when older \
                rows were dropped, a note says how many. Export regularly with --since (the next row number \
                printed last time) to keep a complete record.

                --csv prints a header and one row per line for a spreadsheet: \
                row,height,job,kind,amount,fee.

                Examples:
                  sluice provider earnings 0x… --csv > earnings.csv
                  sluice provider earnings 0x… --since 250 --csv >> earnings.csv
                """)

        @OptionGroup var options: NodeOptions

        @Argument(help: "The address (0x + 64 hex digits): a provider, an auditor or a validator.")
        var address: String?

        @Option(name: .customLong("address"), help: "The address, as an option (instead of the argument).")
        var addressOption: String?

        @Flag(help: "CSV: row,height,job,kind,amount,fee (slashes negative).")
        var csv = false

        @Option(help: "Only rows from this row number on (the chain numbers an address's rows from 0).")
        var since: UInt64?

        func run() async throws {
            try await reportingErrors {
                guard let text = address ?? addressOption, address == nil || addressOption == nil else {
                    throw CommandError(
                        "name the address once, as the argument or with --address: sluice provider earnings 0x… --csv")
                }
                let address = try parseAddress(text, "ADDRESS")
                var ledger = try await options.client().earnings(address)
                let dropped = ledger.count - UInt64(ledger.rows.count)
                if let since { ledger.rows.removeAll { $0.index < since } }
                if options.json { return try printAPIJSON(ledger) }
                if csv {
                    print("row,height,job,kind,amount,fee")
                    for r in ledger.rows {
                        let sign = r.kind == "slash" ? "-" : ""
                        print("\(r.index),\(r.height),\(r.job?.hex ?? ""),\(r.kind),\(sign)\(r.amount),\(r.fee)")
                    }
                } else {
                    if ledger.rows.isEmpty {
                        print("no payments, emissions or slashes recorded for \(address.hex) (block \(ledger.height))")
                    } else {
                        printTable(
                            ["ROW", "HEIGHT", "KIND", "AMOUNT", "FEE", "JOB"],
                            ledger.rows.map { r in
                                [
                                    "\(r.index)", "\(r.height)", r.kind, (r.kind == "slash" ? "-" : "") + "\(r.amount)",
                                    "\(r.fee)", r.job.map { shortHex($0) } ?? "-",
                                ]
                            })
                    }
                    let totals = ["job-pay", "audit-pay", "slash-share", "emission", "slash"].map {
                        "\($0) \(ledger.totals[$0] ?? .zero)"
                    }
                    print("totals over \(ledger.count) row(s): " + totals.joined(separator: ", "))
                    print("next row: \(ledger.count) (use --since \(ledger.count) next time)")
                }
                if dropped > 0 && (since ?? 0) < dropped {
                    let note =
                        "note: rows 0 to \(dropped - 1) are no longer kept by the chain (it keeps the last 128); "
                        + "the totals still count them\n"
                    FileHandle.standardError.write(Data(note.utf8))
                }
            }
        }
    }
}
