public import Foundation
import Logging
import SluiceAPI
import SluiceClient
public import SluiceCore
import SluiceJobs

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
