public import Foundation
public import Logging
import SluiceAPI
import SluiceClient
public import SluiceCore
public import SluiceJobs

/// How a provider's agent runs.
public struct AgentConfiguration: Sendable {
    public var node: String
    public var key: SigningKey
    public var workDirectory: URL
    public var gpus: GPUSelection
    /// Jobs run at once (the chain assigns at most the offered device count).
    public var maxJobs: Int
    public var pricePerGPUHour: Amount
    /// Staked when the agent registers the provider.
    public var stake: Amount
    public var region: String
    /// A heartbeat every this many blocks.
    public var heartbeatBlocks: UInt64
    /// What the provider lets one job use, whatever its manifest asks.
    public var ceilings: JobCeilings
    /// How long to wait for another agent to let go of the work dir before giving up.
    public var lockWait: Duration = .zero
    /// Test-only misbehaviour.
    public var faults: AgentFaults

    public init(
        node: String, key: SigningKey, workDirectory: URL, gpus: GPUSelection = .auto, maxJobs: Int = 4,
        pricePerGPUHour: Amount = 3_600_000, stake: Amount = 1_000_000, region: String = "local",
        heartbeatBlocks: UInt64 = 40, ceilings: JobCeilings = JobCeilings(), faults: AgentFaults = AgentFaults()
    ) {
        self.node = node
        self.key = key
        self.workDirectory = workDirectory
        self.gpus = gpus
        self.maxJobs = maxJobs
        self.pricePerGPUHour = pricePerGPUHour
        self.stake = stake
        self.region = region
        self.heartbeatBlocks = heartbeatBlocks
        self.ceilings = ceilings
        self.faults = faults
    }
}

/// The provider's ceilings on one job: its manifest may ask for less, never for more. A manifest over a
/// ceiling runs under the ceiling (and says so in the log).
public struct JobCeilings: Sendable, Equatable {
    public var memoryMB: UInt64
    public var processes: Int
    /// The job's folder, its outputs included.
    public var diskMB: UInt64
    public var durationSeconds: UInt64

    public init(
        memoryMB: UInt64 = 16_384, processes: Int = 1_024, diskMB: UInt64 = 20_480, durationSeconds: UInt64 = 86_400
    ) {
        self.memoryMB = memoryMB
        self.processes = processes
        self.diskMB = diskMB
        self.durationSeconds = durationSeconds
    }
}

/// Misbehaviour for fault tests (`sluice provider run --fault …`, hidden).
public struct AgentFaults: Sendable {
    /// Reveal a result that differs from what the job produced.
    public var wrongResult = false
    public init(wrongResult: Bool = false) { self.wrongResult = wrongResult }
}

/// What the status line shows.
public struct AgentStatus: Sendable {
    public var height: UInt64 = 0
    public var connected = false
    public var running = 0
    public var done = 0
    public var earned: UInt128 = 0
}

/// A provider's agent: finds its devices, registers and stakes if needed, follows the node's blocks,
/// runs the jobs assigned to it in the sandbox, commits to and reveals their results, uploads the
/// results, and sends heartbeats. Its jobs' state lives in the work dir, so a restart resumes them; when
/// the node is away it reconnects with backoff.
public actor ProviderAgent {
    public let configuration: AgentConfiguration
    let logger: Logger
    let client: SluiceClient
    let sender: TransactionSender
    let sandbox: Sandbox
    let work: WorkDirectory
    private(set) var devices: [GPUDevice] = []
    private var gpuIndices: [String] = []
    /// What discovery found: the GPU that answers each device class's challenges.
    private var offer: DeviceOffer? = nil
    /// Proof-of-GPU challenges being answered, and the last round answered, by device index.
    private var proving: Set<Int> = []
    private var answeredRounds: [Int: UInt32] = [:]
    /// Answers computed but not admitted by the node yet (sent again next block, not computed again).
    private var unsentAnswers: [Int: (round: UInt32, solved: ProofSolver.Solved)] = [:]
    /// The height from which the provider record is read again for challenges (see `answerChallenges`).
    private var nextRecordRead: UInt64 = 0
    /// Blocks between two reads of the provider record when no event asked for one: a new round is read at
    /// once from its `proof.issued` event; this is the safety net (a minute at 250 ms blocks).
    static let recordReadBlocks: UInt64 = 240
    /// Set when the assigned jobs must be read at the next block: an event named this provider, a run
    /// ended, or the event stream (re)connected. Otherwise no route is called for blocks that do not
    /// concern it.
    private var jobsToRead = true
    private var lastJobsRead: UInt64 = 0
    /// While jobs are in flight, they are read at least this often (what the chain has not taken is sent
    /// again after `resendAfter` blocks).
    static let jobsReadBlocks: UInt64 = 20
    private var gpusInUse: Set<String> = []
    private var jobs: [Hash: LocalJob] = [:]
    private var runningTasks: [Hash: Task<Void, Never>] = [:]
    /// Jobs with a commit or reveal being sent: the actor is re-entered while it waits on the node.
    private var sending: Set<Hash> = []
    private var lastHeartbeat: UInt64 = 0
    private var status = AgentStatus()
    private let onStatus: @Sendable (AgentStatus) -> Void

    public init(
        configuration: AgentConfiguration, logger: Logger, sandbox: Sandbox,
        onStatus: @escaping @Sendable (AgentStatus) -> Void = { _ in }
    ) throws {
        self.configuration = configuration
        self.logger = logger
        client = try SluiceClient(baseURL: configuration.node)
        sender = TransactionSender(client: client, key: configuration.key)
        self.sandbox = sandbox
        work = WorkDirectory(root: configuration.workDirectory)
        self.onStatus = onStatus
    }

    public var address: Address { configuration.key.address }

    /// Runs until the task is cancelled.
    /// - Throws: `AgentError` when another agent holds the work dir (see `WorkDirectory.lock`).
    public func run() async throws {
        let lock = try work.lock(wait: configuration.lockWait)
        defer { close(lock) }
        try FileManager.default.createDirectory(at: work.jobs, withIntermediateDirectories: true)
        logger.info("sandbox: \(sandbox.kind.description)")
        discoverDevices()
        for job in work.load() where job.phase != .finished {
            // A job whose run was cut short runs again from its bundle when the chain still wants it.
            if job.phase == .running {
                logger.info("job \(job.id.hex) was running when the agent stopped: it runs again")
                continue
            }
            jobs[job.id] = job
            logger.info("resuming job \(job.id.hex) (\(job.phase.rawValue))")
        }
        var backoff = Self.firstBackoff
        var registered = false
        var from: UInt64? = nil
        while !Task.isCancelled {
            do {
                if !registered {
                    try await register()
                    registered = true
                }
                let events = client.events(from: from)
                var connected = false
                for try await event in events {
                    // The stream is lazy: the node is only known to be there once a block came through.
                    if !connected {
                        connected = true
                        jobsToRead = true
                        nextRecordRead = 0
                        backoff = Self.firstBackoff
                        status.connected = true
                        publish()
                    }
                    from = event.height + 1
                    await onBlock(event)
                }
                logger.warning("the node closed the event stream; reconnecting")
            } catch is CancellationError {
                break
            } catch {
                if Task.isCancelled { break }
                logger.warning("node \(configuration.node) unavailable: \(error); retrying in \(backoff)")
            }
            status.connected = false
            publish()
            try? await Task.sleep(for: backoff)
            backoff = Self.nextBackoff(after: backoff)
        }
        for task in runningTasks.values { task.cancel() }
    }

    static let firstBackoff = Duration.milliseconds(250)

    /// The wait after `backoff` failed: doubled, at most 10 s.
    static func nextBackoff(after backoff: Duration) -> Duration { min(backoff * 2, .seconds(10)) }

    // MARK: Devices and registration

    func discoverDevices() {
        let offer: DeviceOffer
        do { offer = try DeviceOffer.discover(configuration.gpus) } catch {
            logger.error("--gpus: \(error); offering CPU capacity instead")
            offer = DeviceOffer.cpu(reason: "--gpus: \(error)")
        }
        for (gpu, benchmark) in offer.gpus {
            switch benchmark {
            case .success(let result):
                logger.info("GPU \(gpu.index) \(gpu.model): proof-of-GPU benchmark \(result.description)")
            case .failure(let why):
                logger.warning("GPU \(gpu.index) \(gpu.model): benchmark failed (\(why)); score 0")
            }
            logger.info("GPU \(gpu.index): \(gpu.model), \(gpu.vramMiB) MiB, driver \(gpu.driver), \(gpu.uuid)")
        }
        if let reason = offer.cpuReason {
            logger.info("no GPU offered (\(reason)); offering CPU capacity: \(offer.summary)")
        } else {
            logger.info("offering \(offer.summary)")
        }
        devices = offer.devices
        gpuIndices = offer.gpus.map { String($0.gpu.index) }
        self.offer = offer
    }

    /// Registers the provider with its devices, or updates them when they changed.
    func register() async throws {
        let existing = try await client.provider(address)
        let offer = devices.map(ProviderOfferJSON.Device.init)
        if let existing {
            if existing.status != "active" {
                throw AgentError(
                    "provider \(address.hex) is \(existing.status): it takes no jobs; use another key")
            }
            if existing.devices != offer {
                logger.info("devices changed: sending provider.update")
                let hash = try await sender.send(
                    .providerUpdate(ProviderUpdate(devices: devices, pricePerGPUHour: configuration.pricePerGPUHour)))
                _ = try await client.waitForCommit(hash)
            }
            logger.info("provider \(address.hex) registered, stake \(existing.stake)")
            return
        }
        logger.info("registering provider \(address.hex) with stake \(configuration.stake)")
        let hash = try await sender.send(
            .providerRegister(
                ProviderRegistration(
                    devices: devices, region: configuration.region, endpoint: "", stake: configuration.stake,
                    // Only the process runner is implemented: container jobs are never matched to this agent.
                    pricePerGPUHour: configuration.pricePerGPUHour, runners: [.process])))
        let committed = try await client.waitForCommit(hash)
        guard committed.receipt?.status == "success" else {
            throw AgentError(
                "provider.register failed: \(committed.receipt?.error ?? "no receipt"); is the key funded with the stake?"
            )
        }
        logger.info("registered in block \(committed.blockHeight ?? 0)")
    }

    // MARK: Blocks

    /// One block: a heartbeat when due, then whatever the block's events say concerns this provider (a job
    /// matched to it, an audit drawn for it, a delivery taken, a settlement, a proof round). The assigned
    /// jobs and the provider record are read only then (and, as a safety net, every `jobsReadBlocks` while
    /// jobs are in flight and every `recordReadBlocks`): nothing is polled per block.
    func onBlock(_ event: BlockEventJSON) async {
        let height = event.height
        status.height = height
        if height >= lastHeartbeat + configuration.heartbeatBlocks {
            lastHeartbeat = height
            do { try await sender.send(.providerHeartbeat) } catch {
                logger.warning("heartbeat not sent: \(error)")
            }
        }
        let mine = Self.eventsNaming(address, in: event)
        if mine.contains(where: { $0.kind.hasPrefix("proof.") }) { nextRecordRead = 0 }
        if mine.contains(where: { !$0.kind.hasPrefix("proof.") && $0.kind != "provider.heartbeat" }) {
            jobsToRead = true
        }
        await answerChallenges(height: height)
        let inFlight = jobs.values.contains { $0.phase != .finished }
        guard jobsToRead || (inFlight && height >= lastJobsRead + Self.jobsReadBlocks) else { return publish() }
        let assigned: [JobJSON]
        do { assigned = try await client.providerJobs(address).jobs } catch {
            logger.warning("cannot read assigned jobs: \(error)")
            return
        }
        jobsToRead = false
        lastJobsRead = height
        var seen = Set<Hash>()
        for job in assigned {
            seen.insert(job.id)
            await advance(job, height: height)
        }
        // Jobs of ours that left the active list ended on chain: settled, expired or disputed.
        for (id, local) in jobs where !seen.contains(id) && local.phase != .running && local.phase != .ran {
            await finish(id)
        }
        publish()
    }

    /// The events of a block that name `address` (as provider, auditor, payee or sender).
    static func eventsNaming(_ address: Address, in event: BlockEventJSON) -> [EventJSON] {
        let all = event.receipts.flatMap(\.events) + event.blockEvents
        return all.filter { e in
            e.provider == address || e.auditor == address || e.account == address || e.from == address
                || e.providers?.contains(address) == true || e.payouts?.contains { $0.provider == address } == true
        }
    }

    /// Moves one assigned job on: start it, commit, reveal, or resend what the chain has not taken.
    func advance(_ job: JobJSON, height: UInt64) async {
        if job.auditor == address && job.auditResult == nil {
            return await advanceAudit(job, height: height)
        }
        guard let mine = job.assigned.first(where: { $0.provider == address }), !sending.contains(job.id) else {
            return
        }
        sending.insert(job.id)
        defer { sending.remove(job.id) }
        var local = jobs[job.id]
        if local == nil {
            guard job.status == .matched, mine.commitment == nil else { return }
            guard runningTasks.count < configuration.maxJobs else { return }
            start(job)
            return
        }
        let resendAfter: UInt64 = 20
        switch (job.status, local!.phase) {
        case (.matched, .ran):
            await sendCommit(&local!, height: height)
        case (.matched, .committed) where mine.commitment == nil && height > (local!.sentHeight ?? 0) + resendAfter:
            await sendCommit(&local!, height: height)
        case (.committed, .ran), (.committed, .committed):
            if mine.commitment != nil { await sendReveal(&local!, height: height) }
        case (.committed, .revealed) where mine.result == nil && height > (local!.sentHeight ?? 0) + resendAfter:
            await sendReveal(&local!, height: height)
        default:
            break
        }
        jobs[job.id] = local
    }

    /// A job this provider was drawn to audit: run it like any job, then report the result (the k
    /// results are public by now, so there is nothing to commit to first).
    func advanceAudit(_ job: JobJSON, height: UInt64) async {
        guard !sending.contains(job.id) else { return }
        sending.insert(job.id)
        defer { sending.remove(job.id) }
        guard var local = jobs[job.id] else {
            guard runningTasks.count < configuration.maxJobs else { return }
            logger.info("job \(job.id.hex): drawn as its auditor (\(job.auditKind ?? "audit"))")
            start(job, audit: true)
            return
        }
        let resendAfter: UInt64 = 20
        switch local.phase {
        case .ran:
            await sendAuditReport(&local, height: height)
        case .revealed where height > (local.sentHeight ?? 0) + resendAfter:
            await sendAuditReport(&local, height: height)
        default:
            break
        }
        jobs[job.id] = local
    }

    func start(_ job: JobJSON, audit: Bool = false) {
        // The job runs on the device class the chain matched it at: that class's GPUs only.
        let device = audit ? job.auditDevice : job.assigned.first { $0.provider == address }?.device
        var pool = gpuIndices
        if let device, let offer, Int(device) < devices.count {
            let ofClass = offer.gpuIndices(for: devices[Int(device)]).map(String.init)
            if !ofClass.isEmpty { pool = ofClass }
        }
        let free = pool.filter { !gpusInUse.contains($0) }
        let count = Int(job.spec.gpuCount)
        let gpus = gpuIndices.isEmpty ? [] : Array(free.prefix(count))
        guard gpuIndices.isEmpty || gpus.count == count else {
            logger.warning("job \(job.id.hex) needs \(count) GPUs, \(free.count) free: waiting")
            return
        }
        gpusInUse.formUnion(gpus)
        let local = LocalJob(id: job.id, gpus: gpus, audit: audit)
        jobs[job.id] = local
        try? work.save(local)
        status.running += 1
        logger.info(
            "job \(job.id.hex): assigned; running on \(gpus.isEmpty ? "CPU" : "GPU " + gpus.joined(separator: ","))")
        let spec = job.spec
        let folder = work.folder(job.id)
        let client = self.client
        let sandbox = self.sandbox
        let wrong = configuration.faults.wrongResult
        let ceilings = configuration.ceilings
        let logger = self.logger
        runningTasks[job.id] = Task {
            let outcome: Result<JobExecution, any Error>
            do {
                outcome = .success(
                    try await JobExecution.run(
                        spec: spec, folder: folder, gpus: gpus, client: client, sandbox: sandbox, wrongResult: wrong,
                        ceilings: ceilings, logger: logger))
            } catch {
                outcome = .failure(error)
            }
            await self.ran(job.id, outcome)
        }
    }

    func ran(_ id: Hash, _ outcome: Result<JobExecution, any Error>) async {
        runningTasks[id] = nil
        jobsToRead = true
        status.running -= 1
        guard var local = jobs[id] else { return }
        gpusInUse.subtract(local.gpus)
        switch outcome {
        case .failure(let error):
            // Nothing to commit to (the bundle could not be fetched): the job will pass its deadline.
            logger.error("job \(id.hex): \(error)")
            local.phase = .finished
            local.chainStatus = "abandoned"
            jobs[id] = nil
            try? work.save(local)
            return
        case .success(let execution):
            local.result = execution.resultHash
            local.logs = execution.logsHash
            local.usageSeconds = execution.usageSeconds
            local.status = execution.summary.status.rawValue
            local.wallSeconds = execution.wallSeconds
            var salt = [UInt8](repeating: 0, count: 32)
            var rng = SystemRandomNumberGenerator()
            for i in salt.indices { salt[i] = UInt8.random(in: 0...255, using: &rng) }
            local.salt = Hash.sha256(salt)
            local.phase = .ran
            logger.info(
                "job \(id.hex): \(execution.summary.status.rawValue) in \(String(format: "%.2f", execution.wallSeconds)) s, result \(execution.resultHash.hex)"
            )
        }
        do { try work.save(local) } catch { logger.error("job \(id.hex): \(error)") }
        jobs[id] = local
        guard !sending.contains(id) else { return }  // the next block sends the commit
        sending.insert(id)
        if local.audit == true {
            await sendAuditReport(&local, height: status.height)
        } else {
            await sendCommit(&local, height: status.height)
        }
        sending.remove(id)
        jobs[id] = local
        publish()
    }

    func sendCommit(_ local: inout LocalJob, height: UInt64) async {
        guard let result = local.result, let salt = local.salt else { return }
        let commitment = JobCommitment.make(job: local.id, provider: address, result: result, salt: salt)
        do {
            try await sender.send(.jobCommit(job: local.id, commitment: commitment))
            local.phase = .committed
            local.sentHeight = height
            try work.save(local)
        } catch {
            logger.warning("job \(local.id.hex): commit not sent: \(error)")
        }
    }

    func sendReveal(_ local: inout LocalJob, height: UInt64) async {
        guard let result = local.result, let salt = local.salt else { return }
        do {
            // The result goes up first: once the reveal is on chain, the consumer may ask for it.
            let logs = try await uploadResult(local)
            try await sender.send(
                .jobReveal(job: local.id, result: result, salt: salt, usageSeconds: local.usageSeconds, logs: logs))
            local.phase = .revealed
            local.sentHeight = height
            try work.save(local)
        } catch {
            logger.warning("job \(local.id.hex): reveal not sent: \(error)")
        }
    }

    /// Uploads the audit's result and logs, then `audit.report`.
    func sendAuditReport(_ local: inout LocalJob, height: UInt64) async {
        guard let result = local.result else { return }
        do {
            let logs = try await uploadResult(local)
            try await sender.send(
                .auditReport(job: local.id, result: result, usageSeconds: local.usageSeconds, logs: logs))
            local.phase = .revealed
            local.sentHeight = height
            try work.save(local)
        } catch {
            logger.warning("job \(local.id.hex): audit report not sent: \(error)")
        }
    }

    /// Uploads the result (and the logs, when kept); returns the logs blob's hash or zero.
    func uploadResult(_ local: LocalJob) async throws -> Hash {
        let folder = work.folder(local.id)
        // Named as the job's, so the node keeps them out of the share anonymous uploads may fill.
        try await client.putBlob([UInt8](Data(contentsOf: folder.appendingPathComponent("result.tar"))), job: local.id)
        if local.logs != nil, let bytes = try? Data(contentsOf: folder.appendingPathComponent("logs.tar")) {
            return try await client.putBlob([UInt8](bytes), job: local.id)
        }
        return .zero
    }

    func finish(_ id: Hash) async {
        guard var local = jobs[id] else { return }
        do {
            guard let job = try await client.job(id) else { return }
            local.chainStatus = job.status.name
            local.paid =
                local.audit == true ? job.auditPaid : job.assigned.first { $0.provider == address }?.paid
            local.phase = .finished
            try work.save(local)
            // Settled and uploaded: only state.json stays, the record of what the job paid.
            work.clean(id)
            jobs[id] = nil
            status.done += 1
            status.earned += local.paid?.value ?? 0
            logger.info("job \(id.hex): \(job.status); paid \(local.paid ?? .zero)")
        } catch {
            logger.warning("job \(id.hex): cannot read its end: \(error)")
        }
    }

    func publish() { onStatus(status) }

    // MARK: Proof of GPU

    /// Starts answering every pending proof-of-GPU challenge of this provider's devices that is not being
    /// answered already: the product on the device's GPU (on the CPU for CPU capacity, or when the GPU fails),
    /// then `provider.prove`.
    /// Answers the record's pending proof-of-GPU challenges. The record is read every `recordReadBlocks`
    /// blocks, and every block while a challenge is pending or an answer waits to be sent: one request per
    /// block less for every agent the node serves.
    func answerChallenges(height: UInt64) async {
        // A height below the last read (a node restarted from an older copy of the chain) reads at once.
        if height + Self.recordReadBlocks < nextRecordRead { nextRecordRead = 0 }
        guard height >= nextRecordRead || !unsentAnswers.isEmpty else { return }
        let record: ProviderJSON?
        do { record = try await client.provider(address) } catch {
            logger.warning("cannot read the provider record: \(error)")
            return
        }
        guard let record else { return }
        let pending = record.proofs.contains { $0.status == "pending" }
        // While a round is pending and not yet being answered (a device the agent could not start on),
        // read again next block; otherwise the next `proof.*` event (or the safety net) reads it.
        let unstarted = record.proofs.contains {
            $0.status == "pending" && !proving.contains($0.device) && answeredRounds[$0.device] != $0.round
                && $0.device < devices.count
        }
        nextRecordRead = height + (pending && unstarted ? 1 : Self.recordReadBlocks)
        for proof in record.proofs where proof.status == "pending" {
            let d = proof.device
            guard !proving.contains(d), answeredRounds[d] != proof.round, d < devices.count else { continue }
            proving.insert(d)
            if let unsent = unsentAnswers[d], unsent.round == proof.round {
                await proved(device: d, round: proof.round, unsent.solved)
                continue
            }
            let challenge = GPUChallenge(seed: proof.seed, size: Int(proof.size))
            let model = devices[d].model
            let gpu = offer?.challengeGPU(for: devices[d])
            let logger = self.logger
            logger.info(
                "\("proof of GPU: device \(d) (\(model)) round \(proof.round): \(proof.size)×\(proof.size) product, due at \(proof.deadline)")"
            )
            Task.detached {
                let solved = ProofSolver.answer(challenge, device: UInt8(d), gpu: gpu, logger: logger)
                await self.proved(device: d, round: proof.round, solved)
            }
        }
    }

    func proved(device d: Int, round: UInt32, _ solved: ProofSolver.Solved) async {
        defer { proving.remove(d) }
        do {
            let hash = try await sender.send(.providerProve(solved.answer), gasLimit: Self.proveGasLimit)
            answeredRounds[d] = round
            unsentAnswers[d] = nil
            let seconds = String(format: "%.2f", solved.seconds)
            logger.info(
                "proof of GPU: device \(d) round \(round) answered on \(solved.how) in \(seconds) s (\(hash.hex))")
        } catch {
            logger.warning("proof of GPU: device \(d) round \(round): provider.prove not sent: \(error)")
            unsentAnswers[d] = (round, solved)
        }
    }

    /// Above the 200 gas a proof's check costs (`MarketParameters.proveGas`).
    static let proveGasLimit: UInt64 = 1_000
}

/// One run of a job: fetch and check the bundle, unpack it, run it in the sandbox, pack the result.
public struct JobExecution: Sendable {
    public var resultHash: Hash
    /// The blob of stdout and stderr, when the job ran.
    public var logsHash: Hash?
    public var summary: JobResultSummary
    public var usageSeconds: UInt64
    public var wallSeconds: Double

    static func run(
        spec: JobSpecJSON, folder: URL, gpus: [String], client: SluiceClient, sandbox: Sandbox, wrongResult: Bool,
        ceilings: JobCeilings = JobCeilings(), logger: Logger
    ) async throws -> JobExecution {
        guard let bundle = try await client.blob(spec.bundleHash) else {
            throw AgentError("the node has no bundle \(spec.bundleHash.hex)")
        }
        let jobDirectory = folder.appendingPathComponent("job")
        SafeFile.removeTree(jobDirectory)
        let packed: (bytes: [UInt8], summary: JobResultSummary)
        var wall = 0.0
        do {
            let manifest: JobManifest
            do {
                try DeterministicTar.unpack(bundle, into: jobDirectory)
                manifest = try JobManifest.decode(
                    Data(SafeFile.read(JobManifest.fileName, in: jobDirectory, maxBytes: JobManifest.maxBytes)))
            } catch let error as ArchiveError where error.code != .io {
                throw ManifestError(error.description)
            }
            guard manifest.runner == .process else {
                throw ManifestError("runner '\(manifest.runner.name)' is not supported by this provider")
            }
            var environment = manifest.environment
            environment["SLUICE_JOB"] = "1"
            let memoryMB = min(manifest.memoryMB, ceilings.memoryMB)
            if memoryMB < manifest.memoryMB {
                logger.warning(
                    "the job asks for \(manifest.memoryMB) MiB; it runs with this provider's \(memoryMB) MiB")
            }
            let request = RunRequest(
                jobDirectory: jobDirectory, command: manifest.command, environment: environment, gpuDevices: gpus,
                limits: SandboxLimits(
                    wallSeconds: Double(
                        min(spec.maxDurationSeconds, manifest.maxDurationSeconds, ceilings.durationSeconds)),
                    memoryBytes: memoryMB << 20, maxProcesses: ceilings.processes, diskBytes: ceilings.diskMB << 20),
                stdout: folder.appendingPathComponent("stdout.txt"),
                stderr: folder.appendingPathComponent("stderr.txt"))
            let outcome = try await sandbox.run(request)
            wall = outcome.wallSeconds
            logger.info("job ran: \(outcome)")
            packed = try JobResultArchive.pack(directory: jobDirectory, manifest: manifest, outcome: outcome)
        } catch let error as ManifestError {
            logger.warning("bad bundle: \(error)")
            packed = try JobResultArchive.badBundle()
        }
        var bytes = packed.bytes
        if wrongResult { bytes += [UInt8](repeating: 0, count: 512) }
        try Data(bytes).write(to: folder.appendingPathComponent("result.tar"))
        var logsHash: Hash? = nil
        if let logs = try? DeterministicTar.pack(directory: folder, include: ["stdout.txt", "stderr.txt"]) {
            try Data(logs).write(to: folder.appendingPathComponent("logs.tar"))
            logsHash = Hash.sha256(logs)
        }
        // The job's folder is not needed once its result is packed: its files go now, not at settlement.
        SafeFile.removeTree(jobDirectory)
        return JobExecution(
            resultHash: Hash.sha256(bytes), logsHash: logsHash, summary: packed.summary,
            usageSeconds: max(1, UInt64(wall.rounded(.up))), wallSeconds: wall)
    }
}
