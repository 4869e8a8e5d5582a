import ArgumentParser
import Foundation
import SluiceAPI
import SluiceClient
import SluiceCore
import SluiceJobs
import SluiceProvider
import SluiceRuntime
import SluiceState

extension JobCommand {
    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Submit a job from a job.toml: upload its bundle, escrow its cost, and (with --wait) fetch the result.",
            discussion: """
                The job file names the command, the bundle folder, the result's files (globs), the GPUs, the \
                most it pays per GPU-hour, the longest it may run and how many providers run it (k); see \
                examples/*/job.toml. The folder is packed with a manifest (command, outputs, limits) into a \
                deterministic archive, uploaded to the node by its SHA-256, and the job.submit names that hash, \
                so providers run exactly what you paid for. The escrow, k × GPUs × max price × hours (rounded \
                up), is taken at once.

                With --wait the command follows the job through its states (open, matched, committed, \
                settled), downloads the agreed result, checks it against the hash on chain, unpacks it into \
                --out (default ./results/<job id>/) and prints what it cost and what came back.

                Example:
                  sluice job submit examples/render/job.toml --key .sluice/devnet/keys/dev-0.json --wait
                """)

        @OptionGroup var options: NodeOptions
        @OptionGroup var transaction: MarketTransactionOptions

        @Argument(help: "The job file (TOML).")
        var file: String

        @Option(help: "Where --wait unpacks the result (default: ./results/<job id>/).")
        var out: String?

        @Option(help: "How long --wait follows the job before giving up (e.g. 10m).")
        var jobTimeout = DurationArgument(.seconds(600), text: "10m")

        func run() async throws {
            try await reportingErrors {
                let jobFile = try JobFile.load(path: file)
                let manifest = jobFile.manifest()
                let bundle: [UInt8]
                do { bundle = try JobBundle.pack(folder: jobFile.bundle, manifest: manifest) } catch {
                    throw CommandError("\(file): cannot pack the bundle \(jobFile.bundle.path): \(error)")
                }
                let client = try options.client()
                let bundleHash = try await client.putBlob(bundle)
                let spec = jobFile.spec(bundleHash: bundleHash, bundleURI: "sluice:blob/\(bundleHash.hex)")
                guard let escrow = spec.escrow else {
                    throw CommandError("\(file): the escrow (k × GPUs × max price × hours) overflows; ask for less")
                }
                let submitted = try await submitMarketTransaction(node: options, options: transaction) { _, _ in
                    .jobSubmit(spec)
                }
                let id = JobRecord.id(consumer: submitted.transaction.sender, sequence: submitted.transaction.sequence)
                guard transaction.wait else {
                    if options.json { return try printAPIJSON(submitted.result) }
                    print(
                        """
                        job:    \(id.hex)
                        hash:   \(submitted.result.hash.hex)
                        bundle: \(bundleHash.hex) (\(bundle.count) bytes)
                        escrow: \(escrow)
                        Follow it with: sluice job status \(id.hex)
                        """)
                    return
                }
                let json = options.json
                let say: @Sendable (String) -> Void = { line in if !json { print(line) } }
                say(
                    "job \(id.hex): \(jobFile.name), bundle \(bundleHash.hex) (\(bundle.count) bytes), escrow \(escrow)"
                )
                let committed = try await client.waitForCommit(
                    submitted.result.hash, timeout: transaction.timeout.duration)
                guard committed.receipt?.status == .success else {
                    throw CommandError("job.submit failed: \(committed.receipt?.error ?? "no receipt")")
                }
                let job = try await follow(id, from: committed.blockHeight ?? 0, client: client, say: say)
                try await fetch(job, client: client, jobFile: jobFile, say: say)
            }
        }

        /// Follows the job until it ends, printing each state it passes through: the node pushes the blocks
        /// with an event about the job (`/v1/events?job=`), and the job is read once per such block, never
        /// polled. A dropped stream is reopened from the block after the last one seen.
        func follow(
            _ id: Hash, from height: UInt64, client: SluiceClient, say: @escaping @Sendable (String) -> Void
        ) async throws -> JobJSON {
            let progress = JobProgress(say: say)
            if let done = try await progress.check(id, client: client) { return done }
            let timeout = jobTimeout
            return try await withThrowingTaskGroup(of: JobJSON?.self) { group in
                group.addTask {
                    try await Task.sleep(for: timeout.duration)
                    return nil
                }
                group.addTask {
                    var next = height
                    while true {
                        do {
                            for try await event in client.events(job: id, from: next) {
                                next = event.height + 1
                                if let done = try await progress.check(id, client: client) { return done }
                            }
                        } catch is CancellationError {
                            throw CancellationError()
                        } catch {
                            if Task.isCancelled { throw CancellationError() }
                        }
                        // The node went away or closed the stream: read the job (it may have ended), then reopen.
                        if let done = try await progress.check(id, client: client) { return done }
                        try await Task.sleep(for: .seconds(1))
                    }
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                guard let job = first else {
                    throw CommandError(
                        "job \(id.hex) is still \(await progress.last?.name ?? "unknown") after \(timeout.text); follow it with "
                            + "`sluice job status \(id.hex)`")
                }
                return job
            }
        }

        func fetch(_ job: JobJSON, client: SluiceClient, jobFile: JobFile, say: (String) -> Void) async throws {
            let paid = job.assigned.reduce(UInt128(0)) { $0 + ($1.paid?.value ?? 0) }
            guard job.status == .settled, let result = job.result else {
                if options.json { try printAPIJSON(job) }
                throw CommandError(
                    "job \(job.id.hex) ended \(job.status.name)\(job.status == .unresolved ? " (the providers' results differ and no audit could decide; the escrow was refunded)" : ""): no result"
                )
            }
            let folder = URL(fileURLWithPath: out ?? "results/\(job.id.hex)")
            let summary = try await downloadResult(result, client: client, into: folder)
            if options.json { return try printAPIJSON(job) }
            let spent = paid + (job.auditPaid?.value ?? 0)
            let refund = job.spec.escrowTotal.map { $0 > spent ? $0 - spent : 0 } ?? 0
            print(
                """
                  result \(result.hex): \(summary.status.rawValue)\(summary.exitCode.map { summary.status == .exit ? " \($0)" : "" } ?? "")\(summary.reason.map { " (\($0))" } ?? "")
                  checked against the chain and unpacked into \(folder.path)/
                """)
            for f in summary.files { print("    \(f)") }
            print("  paid \(paid) to \(job.assigned.count) provider(s); refunded \(refund) of the escrow")
            if let auditor = job.auditor {
                print(
                    "  audited (\(job.auditKind?.name ?? "audit")) by \(auditor.hex.prefix(10))…: paid \(job.auditPaid ?? .zero)"
                )
            }
            for a in job.assigned {
                print(
                    "    \(a.provider.hex.prefix(10))… used \(a.usageSeconds ?? 0) s at \(a.pricePerGpuHour)/GPU-h: \(a.paid ?? .zero)"
                )
            }
            if !summary.succeeded { throw ExitCode(2) }
        }
    }
}

extension JobCommand {
    struct ResultCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "result",
            abstract: "Download a settled job's result, check it against the chain and unpack it.",
            discussion: """
                Example:
                  sluice job result JOB_ID --out results/render
                """)

        @OptionGroup var options: NodeOptions

        @Argument(help: "The job's id (0x + 64 hex digits).")
        var id: String

        @Option(help: "Where to unpack it (default: ./results/<job id>/).")
        var out: String?

        func run() async throws {
            try await reportingErrors {
                let id = try parseHash(id, "ID")
                let client = try options.client()
                guard let job = try await client.job(id) else { throw CommandError("the node has no job \(id.hex)") }
                guard job.status == .settled, let result = job.result else {
                    throw CommandError("job \(id.hex) is \(job.status.name): only a settled job has an agreed result")
                }
                let folder = URL(fileURLWithPath: out ?? "results/\(id.hex)")
                let summary = try await downloadResult(result, client: client, into: folder)
                if options.json { return try printAPIJSON(summary) }
                print("result \(result.hex): \(summary.status.rawValue), unpacked into \(folder.path)/")
                for f in summary.files { print("  \(f)") }
            }
        }
    }
}

extension JobCommand {
    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the stdout and stderr of a job's runs, as each provider uploaded them.",
            discussion: """
                Each provider names the blob of its run's logs in its reveal; the blob is fetched from the node \
                and checked against that hash. Logs are not compared between providers (only results are).

                Example:
                  sluice job logs JOB_ID
                  sluice job logs JOB_ID --provider 0x… --stream stderr
                """)

        @OptionGroup var options: NodeOptions

        @Argument(help: "The job's id (0x + 64 hex digits).")
        var id: String

        @Option(help: "Only this provider's run (an address).")
        var provider: String?

        @Option(help: "stdout, stderr or both.")
        var stream = "both"

        func run() async throws {
            try await reportingErrors {
                let id = try parseHash(id, "ID")
                guard ["stdout", "stderr", "both"].contains(stream) else {
                    throw CommandError("--stream: '\(stream)' is not one of stdout, stderr, both")
                }
                let only = try provider.map { try parseAddress($0, "--provider") }
                let client = try options.client()
                guard let job = try await client.job(id) else { throw CommandError("the node has no job \(id.hex)") }
                let runs = job.assigned.filter { only == nil || $0.provider == only }
                guard !runs.isEmpty else {
                    throw CommandError("\(only?.hex ?? "no provider") is not assigned to job \(id.hex)")
                }
                var printed = 0
                for run in runs {
                    guard let logs = run.logs else {
                        print(
                            "== \(run.provider.hex): no logs yet (\(run.result == nil ? "not revealed" : "none kept"))")
                        continue
                    }
                    guard let bytes = try await client.blob(logs) else {
                        print("== \(run.provider.hex): the node has no logs blob \(logs.hex)")
                        continue
                    }
                    // Read in memory: a provider's archive never touches this machine's disk.
                    let files: [String: [UInt8]]
                    do { files = try DeterministicTar.contents(bytes) } catch {
                        throw CommandError("the logs blob \(logs.hex) is not a logs archive: \(error)")
                    }
                    for name in ["stdout", "stderr"] where stream == "both" || stream == name {
                        // Control bytes other than newline and tab are shown as U+FFFD: a provider's log must
                        // not drive the consumer's terminal with escape sequences.
                        var text = ""
                        for scalar in String(decoding: files["\(name).txt"] ?? [], as: UTF8.self).unicodeScalars {
                            let control =
                                (scalar.value < 0x20 && scalar != "\n" && scalar != "\t") || scalar.value == 0x7F
                            text.unicodeScalars.append(control ? "\u{FFFD}" : scalar)
                        }
                        print("== \(run.provider.hex) \(name) (\(text.utf8.count) bytes)")
                        if !text.isEmpty { print(text, terminator: text.hasSuffix("\n") ? "" : "\n") }
                    }
                    printed += 1
                }
                if printed == 0 { throw ExitCode(1) }
            }
        }
    }
}

/// Downloads the result blob named on chain (the client checks its bytes against the hash) and unpacks it.
func downloadResult(_ result: Hash, client: SluiceClient, into folder: URL) async throws -> JobResultSummary {
    guard let bytes = try await client.blob(result) else {
        throw CommandError("the node has no result blob \(result.hex): the providers did not upload it")
    }
    do { return try JobResultArchive.unpack(bytes, into: folder) } catch {
        throw CommandError("the result \(result.hex) does not unpack into \(folder.path): \(error)")
    }
}

extension JobSpecJSON {
    /// The escrow the job took when submitted.
    var escrowTotal: UInt128? { spec.escrow?.value }
}

/// What `job submit --wait` has printed of a job: each new state once.
private actor JobProgress {
    let say: @Sendable (String) -> Void
    private(set) var last: JobStatus? = nil

    init(say: @escaping @Sendable (String) -> Void) { self.say = say }

    /// Reads the job, prints its state when new, and returns it when it ended.
    func check(_ id: Hash, client: SluiceClient) async throws -> JobJSON? {
        guard let job = try await client.job(id) else { return nil }
        if job.status != last {
            last = job.status
            var line = "  \(job.status.name)"
            if job.status == .matched {
                line +=
                    ": "
                    + job.assigned.map { "\($0.provider.hex.prefix(10))… at \($0.pricePerGpuHour)" }.joined(
                        separator: ", ")
            }
            if job.status == .disputed {
                line +=
                    " (\(job.auditKind?.name ?? "audit")): "
                    + (job.auditor.map { "auditor \($0.hex.prefix(10))… re-runs it" }
                        ?? "waiting for an eligible auditor")
            }
            say(line)
        }
        return [.settled, .expired, .cancelled, .unresolved].contains(job.status) ? job : nil
    }
}
