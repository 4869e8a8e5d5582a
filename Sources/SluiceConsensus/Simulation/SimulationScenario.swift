import SluiceCore

// What a simulation puts the protocol through: how many validators, how the network behaves (delay,
// loss, partitions), who crashes and restarts when, and which validators have a twin — a second process
// with the same key and its own safety data, which therefore signs conflicting messages (Twins, as Aptos
// tests equivocation). Faults happen before `healedAt`; after it the network is whole, every crashed
// validator is back, and the protocol must make progress. A scenario is a value: the same scenario (and
// seed) runs the same way every time.

/// A simulated run.
public struct SimulationScenario: Hashable, Sendable {
    /// A network split: instances in different groups cannot reach each other from `start` to `end`.
    public struct Partition: Hashable, Sendable {
        public var start: UInt64
        public var end: UInt64
        /// Instance indexes; an instance in no group is in the first.
        public var groups: [[Int]]
        public init(start: UInt64, end: UInt64, groups: [[Int]]) {
            self.start = start
            self.end = end
            self.groups = groups
        }
    }

    /// An instance crashes at `at` (losing everything but its safety data and ledger) and, if `restart`
    /// is set, comes back then.
    public struct Crash: Hashable, Sendable {
        public var instance: Int
        public var at: UInt64
        public var restart: UInt64?
        public init(instance: Int, at: UInt64, restart: UInt64?) {
            self.instance = instance
            self.at = at
            self.restart = restart
        }
    }

    public var seed: UInt64
    public var validators: Int = 4
    /// Voting power per validator (all 1 when nil).
    public var powers: [UInt64]?
    /// Virtual milliseconds the run lasts.
    public var duration: UInt64 = 30_000
    /// One-way delay of a message, milliseconds, drawn uniformly.
    public var minDelay: UInt64 = 5
    public var maxDelay: UInt64 = 40
    /// Probability that a message is lost (before `healedAt`).
    public var loss: Double = 0
    public var partitions: [Partition] = []
    public var crashes: [Crash] = []
    /// Validators that run as two instances (instance `validators + k` is the twin of `twins[k]`).
    public var twins: [UInt16] = []
    /// When faults end.
    public var healedAt: UInt64 = 0
    public var orderVotes: Bool = true
    public var leaderReputation: Bool = true
    public var roundTimeout: UInt64 = 500
    /// Sign with Ed25519 instead of the simulator's keyed hashes (slower; proves the real path).
    public var realSignatures: Bool = false

    public init(seed: UInt64, validators: Int = 4) {
        self.seed = seed
        self.validators = validators
    }

    public var instances: Int { validators + twins.count }

    /// The most validators that may be faulty (twins count as faulty).
    public var maxFaulty: Int { (validators - 1) / 3 }

    /// A scenario drawn from `seed`: 4 to 7 validators, loss up to 20 %, up to two partitions, up to
    /// three crashes with restarts, and a twin one time in three; all within the first 20 virtual seconds.
    public static func random(seed: UInt64) -> SimulationScenario {
        var rng = SplitMix64(seed: seed ^ 0x5EED_C0DE)
        var s = SimulationScenario(seed: seed, validators: 4 + rng.below(4))
        s.healedAt = 20_000
        s.duration = s.healedAt + 40_000
        s.minDelay = UInt64(1 + rng.below(20))
        s.maxDelay = s.minDelay + UInt64(rng.below(120))
        s.loss = [0, 0, 0.01, 0.05, 0.1, 0.2][rng.below(6)]
        s.orderVotes = rng.below(4) != 0
        if rng.below(3) == 0 { s.twins = [UInt16(rng.below(s.validators))] }
        for _ in 0..<rng.below(3) {
            let start = UInt64(1_000 + rng.below(15_000))
            let end = min(s.healedAt, start + UInt64(500 + rng.below(6_000)))
            var a: [Int] = []
            var b: [Int] = []
            for i in 0..<s.instances { if rng.below(2) == 0 { a.append(i) } else { b.append(i) } }
            s.partitions.append(Partition(start: start, end: end, groups: [a, b]))
        }
        for _ in 0..<rng.below(4) {
            let at = UInt64(1_000 + rng.below(15_000))
            let restart = min(s.healedAt, at + UInt64(200 + rng.below(8_000)))
            s.crashes.append(Crash(instance: rng.below(s.validators), at: at, restart: restart))
        }
        return s
    }
}
