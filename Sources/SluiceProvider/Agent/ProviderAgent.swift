import Foundation
public import Logging
import SluiceAPI
import SluiceClient
public import SluiceCore
import SluiceJobs
import SluiceState

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
    var gpuIndices: [String] = []
    /// What discovery found: the GPU that answers each device class's challenges.
    var offer: DeviceOffer? = nil
    /// Proof-of-GPU challenges being answered, and the last round answered, by device index.
    var proving: Set<Int> = []
    var answeredRounds: [Int: UInt32] = [:]
    /// Answers computed but not admitted by the node yet (sent again next block, not computed again).
    var unsentAnswers: [Int: (round: UInt32, solved: ProofSolver.Solved)] = [:]
    /// The height from which the provider record is read again for challenges (see `answerChallenges`).
    var nextRecordRead: UInt64 = 0
    /// Blocks between two reads of the provider record when no event asked for one: a new round is read at
    /// once from its `proof.issued` event; this is the safety net (a minute at 250 ms blocks).
    static let recordReadBlocks: UInt64 = 240
    /// Set when the assigned jobs must be read at the next block: an event named this provider, a run
    /// ended, or the event stream (re)connected. Otherwise no route is called for blocks that do not
    /// concern it.
    var jobsToRead = true
    var lastJobsRead: UInt64 = 0
    /// While jobs are in flight, they are read at least this often (what the chain has not taken is sent
    /// again after `resendAfter` blocks).
    static let jobsReadBlocks: UInt64 = 20
    var gpusInUse: Set<String> = []
    var jobs: [Hash: LocalJob] = [:]
    var runningTasks: [Hash: Task<Void, Never>] = [:]
    /// Jobs with a commit or reveal being sent: the actor is re-entered while it waits on the node.
    var sending: Set<Hash> = []
    var lastHeartbeat: UInt64 = 0
    var status = AgentStatus()
    let onStatus: @Sendable (AgentStatus) -> Void

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
            if existing.status != .active {
                throw AgentError(
                    "provider \(address.hex) is \(existing.status.name): it takes no jobs; use another key")
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
        guard committed.receipt?.status == .success else {
            throw AgentError(
                "provider.register failed: \(committed.receipt?.error ?? "no receipt"); is the key funded with the stake?"
            )
        }
        logger.info("registered in block \(committed.blockHeight ?? 0)")
    }
}
