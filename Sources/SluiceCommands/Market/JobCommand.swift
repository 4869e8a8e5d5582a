import ArgumentParser
import SluiceAPI
import SluiceClient
import SluiceCore
import SluiceRuntime
import SluiceState

struct JobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job",
        abstract: "Submit, cancel and follow GPU jobs on the market.",
        subcommands: [
            Submit.self, Status.self, ResultCommand.self, Logs.self, Dispute.self, SubmitRaw.self, Cancel.self,
        ]
    )

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a job: state, escrow, consumer, spec, assigned providers and their prices.",
            discussion: """
                Exits 1 when the node has no job with that id (the id `sluice job submit-raw` printed).

                Example:
                  sluice job status JOB_ID
                """)

        @OptionGroup var options: NodeOptions

        @Argument(help: "The job's id (0x + 64 hex digits).")
        var id: String

        func run() async throws {
            try await reportingErrors {
                let id = try parseHash(id, "ID")
                guard let job = try await options.client().job(id) else {
                    throw CommandError(
                        "the node has no job \(id.hex): is its submission committed yet (`sluice market jobs`)?")
                }
                if options.json { return try printAPIJSON(job) }
                printJob(job)
            }
        }
    }

    struct SubmitRaw: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "submit-raw",
            abstract: "Submit a job from options alone, with no bundle: for trying the market out.",
            discussion: """
                Signs a job.submit whose bundle is a placeholder (hash zero, no URI, runner process): the \
                market matches it like any job, but no provider can run it. The escrow, k × GPUs × max \
                price × hours (rounded up), is taken from the sender's balance at once and refunded if the \
                job is cancelled or expires unmatched. A job's id is known before submission: it is printed \
                with the transaction's hash.

                Example:
                  sluice job submit-raw --key DATA/keys/dev-0.json --gpus 1 --max-price 10 --hours 3 --k 2 --wait
                """)

        @OptionGroup var options: NodeOptions
        @OptionGroup var transaction: MarketTransactionOptions

        @Option(help: "GPUs each provider gives the job.")
        var gpus: UInt32

        @Option(help: "The most the job pays per GPU-hour: a whole number of base units.")
        var maxPrice: String

        @Option(help: "The longest the job may run, in hours (fractions allowed, at most 168).")
        var hours: Double

        @Option(help: "How many providers run it independently (1 to 16).")
        var k: UInt8 = 1

        @Option(help: "The least VRAM per GPU, in GB.")
        var minVram: UInt32 = 0

        @Option(help: "A GPU model the providers must have (default: any).")
        var model = ""

        func run() async throws {
            try await reportingErrors {
                let spec = try jobSpec()
                guard let escrow = spec.escrow else {
                    throw CommandError("the escrow (k × GPUs × max price × hours) overflows; ask for less")
                }
                let submitted = try await submitMarketTransaction(node: options, options: transaction) { _, _ in
                    .jobSubmit(spec)
                }
                let id = JobRecord.id(consumer: submitted.transaction.sender, sequence: submitted.transaction.sequence)
                let headline = """
                    hash:   \(submitted.result.hash.hex)
                    job:    \(id.hex)
                    escrow: \(escrow)
                    """
                if transaction.wait && !options.json { print("job \(id.hex), escrow \(escrow)") }
                try await finishMarketTransaction(submitted, node: options, options: transaction, headline: headline) {
                    client in
                    guard let job = try await client.job(id) else { return }
                    print("")
                    printJob(job)
                }
            }
        }

        func jobSpec() throws -> JobSpec {
            guard gpus >= 1 else { throw CommandError("--gpus: a job needs at least 1 GPU") }
            guard (1...16).contains(k) else { throw CommandError("--k: \(k) is not from 1 to 16") }
            guard hours.isFinite, hours > 0, hours <= 168 else {
                throw CommandError("--hours: \(hours) is not above 0 and at most 168 (a week)")
            }
            let seconds = UInt64((hours * 3600).rounded())
            guard seconds >= 1 else { throw CommandError("--hours: \(hours) is under a second") }
            guard model.utf8.count <= 128 else { throw CommandError("--model: over 128 bytes") }
            return JobSpec(
                runner: .process, bundleHash: .zero, bundleURI: "", inputsHash: .zero, gpuCount: gpus,
                minVramGB: minVram, model: model, maxDurationSeconds: seconds,
                maxPricePerGPUHour: try parseAmount(maxPrice, "--max-price"), redundancy: k, verification: 0)
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel an open job of yours and get its escrow back.",
            discussion: """
                Only the job's consumer can cancel it, and only while it is open (no provider assigned). \
                Prints the transaction's hash; with --wait, the receipt (status failed, with the reason, \
                when the job was not open) and the job.

                Example:
                  sluice job cancel JOB_ID --key DATA/keys/dev-0.json --wait
                """)

        @OptionGroup var options: NodeOptions
        @OptionGroup var transaction: MarketTransactionOptions

        @Argument(help: "The job's id (0x + 64 hex digits).")
        var id: String

        func run() async throws {
            try await reportingErrors { try await submitJobAction(id, options, transaction) { .jobCancel(job: $0) } }
        }
    }
}

extension JobCommand {
    struct Dispute: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask for an audit of a settled job of yours, with a bond.",
            discussion: """
                Within the market's dispute window after settlement (60 s by default; node.toml [market] \
                dispute_window_seconds), the consumer may dispute the agreed result. The bond, at least the \
                market's dispute_bond and what one provider could have been paid, is held in the job; an \
                auditor drawn at random re-runs the job. If it contradicts the agreed result, the providers \
                lose half their stake (burned, to the auditor and to you) and your bond comes back; if it \
                confirms it, the bond pays the audit.

                Example:
                  sluice job dispute JOB_ID --key DATA/keys/dev-0.json --wait
                """)

        @OptionGroup var options: NodeOptions
        @OptionGroup var transaction: MarketTransactionOptions

        @Argument(help: "The job's id (0x + 64 hex digits).")
        var id: String

        func run() async throws {
            try await reportingErrors { try await submitJobAction(id, options, transaction) { .jobDispute(job: $0) } }
        }
    }
}

/// Signs a transaction about one job (cancel, dispute), submits it and with --wait prints the job after it.
func submitJobAction(
    _ text: String, _ options: NodeOptions, _ transaction: MarketTransactionOptions,
    _ payload: @Sendable (Hash) -> Payload
) async throws {
    let id = try parseHash(text, "ID")
    let submitted = try await submitMarketTransaction(node: options, options: transaction) { _, _ in payload(id) }
    try await finishMarketTransaction(submitted, node: options, options: transaction) { client in
        guard let job = try await client.job(id) else { return }
        print("")
        printJob(job)
    }
}
