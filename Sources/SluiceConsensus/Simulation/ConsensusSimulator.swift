import HeapModule
import SluiceCore

// A deterministic simulator of a validator network in virtual time, running the real consensus core.
// Events (message deliveries, timers, crashes, restarts) sit in one priority queue ordered by time and
// then by insertion, and every random choice (delays, losses) comes from one seeded generator, so a seed
// replays exactly. Messages go through their wire encoding, as between real nodes. It checks safety as
// it goes — no two instances ever commit different blocks at one height — and reports how far each
// instance got before and after the faults healed.

/// The outcome of a simulated run.
public struct SimulationReport: Sendable {
    public var seed: UInt64
    /// Safety violations (forks); must be empty.
    public var violations: [String] = []
    /// The committed height of each instance at the end, and when faults healed.
    public var finalHeights: [UInt64] = []
    public var heightsAtHeal: [UInt64] = []
    /// Indexes of the instances that are honest (not twinned).
    public var honest: [Int] = []
    public var messagesDelivered = 0
    public var messagesLost = 0
    public var dropped = 0
    /// Why messages were dropped: the reason's first words, and how often.
    public var dropReasons: [String: Int] = [:]
    public var evidence = 0
    public var highestRound: UInt64 = 0
    /// Mean milliseconds from a block's proposal to its commit, over the honest instances' commits.
    public var meanCommitLatency: Double = 0

    /// The fewest blocks an honest instance committed after the faults healed.
    public var progressAfterHeal: UInt64 {
        honest.map { finalHeights[$0] - min(finalHeights[$0], heightsAtHeal[$0]) }.min() ?? 0
    }
}

/// Runs a scenario.
public final class ConsensusSimulator {
    enum EventKind {
        case deliver(to: Int, from: UInt16, bytes: [UInt8])
        case wake(Int)
        case crash(Int)
        case restart(Int)
    }

    struct Event: Comparable {
        var time: UInt64
        var sequence: UInt64
        var kind: EventKind
        static func < (a: Event, b: Event) -> Bool { (a.time, a.sequence) < (b.time, b.sequence) }
        static func == (a: Event, b: Event) -> Bool { a.time == b.time && a.sequence == b.sequence }
    }

    final class Payloads: PayloadProvider {
        let author: UInt16
        init(author: UInt16) { self.author = author }
        func payload(height: UInt64, round: UInt64, timestamp: UInt64, pending: [ConsensusBlock]) -> [UInt8] {
            var w = CanonicalWriter(capacity: 18)
            w.write(height)
            w.write(round)
            w.write(author)
            return w.bytes
        }
        func invalidity(of block: ConsensusBlock, pending: [ConsensusBlock]) -> String? {
            block.payload.count == 18 ? nil : "a simulated payload is 18 bytes"
        }
    }

    struct Instance {
        var validator: UInt16
        var core: ConsensusCore?
        let storage: MemorySafetyStorage
        let ledger: MemoryConsensusLedger
        var wakeAt: UInt64?
        var isTwin: Bool
    }

    public let scenario: SimulationScenario
    let validators: ValidatorSet
    let signers: [any ConsensusSigner]
    let verifier: any ConsensusVerifier
    let configuration: ConsensusConfiguration
    let genesis: ConsensusBlock
    var instances: [Instance] = []
    var queue = Heap<Event>()
    var sequence: UInt64 = 0
    var rng: SplitMix64
    var now: UInt64 = 0
    var committedAt: [UInt64: Hash] = [:]
    var proposedAt: [Hash: UInt64] = [:]
    var latencySum: Double = 0
    var latencyCount = 0
    var report: SimulationReport

    public init(_ scenario: SimulationScenario) throws(ConsensusError) {
        self.scenario = scenario
        rng = SplitMix64(seed: scenario.seed)
        var keys: [[UInt8]] = []
        var signers: [any ConsensusSigner] = []
        for i in 0..<scenario.validators {
            if scenario.realSignatures {
                var seed = [UInt8](repeating: 0, count: 32)
                withUnsafeBytes(of: (scenario.seed &+ UInt64(i)).littleEndian) { seed.replaceSubrange(0..<8, with: $0) }
                seed[31] = UInt8(i & 0xff)
                let key: SigningKey
                do throws(CoreError) { key = try SigningKey(scheme: .ed25519, seed: seed) } catch {
                    throw ConsensusError(.invalidSet, error.message)
                }
                signers.append(try Ed25519ConsensusSigner(key: key))
                keys.append(key.publicKey)
            } else {
                let key = Hash.sha256(Array("sim-key-\(i)".utf8)).bytes
                keys.append(key)
                signers.append(SimulatedSigner(publicKey: key))
            }
        }
        let members = keys.enumerated().map { i, key in
            ConsensusValidator(
                address: Address(Hash.sha256(key)), publicKey: key, power: scenario.powers?[i] ?? 1)
        }
        validators = try ValidatorSet(epoch: 1, validators: members)
        // The set is sorted by address: find each signer's index.
        var byIndex = [any ConsensusSigner](repeating: signers[0], count: signers.count)
        for (i, key) in keys.enumerated() {
            let index = validators.index(of: Address(Hash.sha256(key)))!
            byIndex[Int(index)] = signers[i]
        }
        self.signers = byIndex
        verifier = scenario.realSignatures ? Ed25519ConsensusVerifier() : SimulatedVerifier()
        var configuration = ConsensusConfiguration(chainId: 7)
        configuration.roundTimeout = scenario.roundTimeout
        configuration.orderVotes = scenario.orderVotes
        configuration.leaderReputation = scenario.leaderReputation
        self.configuration = configuration
        genesis = ConsensusBlock.genesis(epoch: 1, height: 0, timestamp: 0, seed: Hash.sha256(Array("sim".utf8)))
        report = SimulationReport(seed: scenario.seed)
        for v in 0..<scenario.validators {
            instances.append(
                Instance(
                    validator: UInt16(v), core: nil, storage: MemorySafetyStorage(),
                    ledger: MemoryConsensusLedger(genesis: genesis), isTwin: false))
        }
        for t in scenario.twins {
            instances.append(
                Instance(
                    validator: t, core: nil, storage: MemorySafetyStorage(),
                    ledger: MemoryConsensusLedger(genesis: genesis), isTwin: true))
        }
        report.honest = instances.indices.filter { !scenario.twins.contains(instances[$0].validator) }
    }

    /// Runs the scenario to its end and reports.
    public func run() throws(ConsensusError) -> SimulationReport {
        now = 1_000
        for i in instances.indices { try boot(i) }
        for c in scenario.crashes {
            schedule(c.at, .crash(c.instance))
            if let r = c.restart { schedule(r, .restart(c.instance)) }
        }
        var healed = false
        while let event = queue.popMin(), event.time <= scenario.duration {
            if !healed, event.time >= scenario.healedAt {
                healed = true
                report.heightsAtHeal = instances.map { $0.ledger.head.height }
            }
            now = max(now, event.time)
            switch event.kind {
            case .deliver(let to, let from, let bytes):
                guard let core = instances[to].core else { continue }
                report.messagesDelivered += 1
                let message: ConsensusMessage
                do throws(ConsensusError) { message = try ConsensusMessage(wire: bytes) } catch {
                    report.violations.append("a message the core sent does not decode: \(error.message)")
                    continue
                }
                perform(core.receive(message, from: from, now: now), of: to)
            case .wake(let i):
                guard instances[i].wakeAt == event.time, let core = instances[i].core else { continue }
                instances[i].wakeAt = nil
                perform(core.tick(now: now), of: i)
            case .crash(let i):
                instances[i].core = nil
                instances[i].wakeAt = nil
            case .restart(let i):
                if instances[i].core == nil { try boot(i) }
            }
        }
        if !healed { report.heightsAtHeal = instances.map { $0.ledger.head.height } }
        report.finalHeights = instances.map { $0.ledger.head.height }
        report.meanCommitLatency = latencyCount > 0 ? latencySum / Double(latencyCount) : 0
        return report
    }

    func boot(_ i: Int) throws(ConsensusError) {
        let v = instances[i].validator
        let core = try ConsensusCore(
            configuration: configuration, validators: validators, me: v, signer: signers[Int(v)], verifier: verifier,
            safetyStorage: instances[i].storage, ledger: instances[i].ledger, payloads: Payloads(author: v))
        instances[i].core = core
        perform(core.start(now: now), of: i)
    }

    func schedule(_ time: UInt64, _ kind: EventKind) {
        sequence += 1
        queue.insert(Event(time: time, sequence: sequence, kind: kind))
    }

    func connected(_ a: Int, _ b: Int) -> Bool {
        for p in scenario.partitions where p.start <= now && now < p.end {
            func group(_ i: Int) -> Int { p.groups.firstIndex { $0.contains(i) } ?? 0 }
            if group(a) != group(b) { return false }
        }
        return true
    }

    func deliver(_ bytes: [UInt8], from i: Int, toValidator v: UInt16) {
        for j in instances.indices where instances[j].validator == v && j != i {
            guard connected(i, j) else {
                report.messagesLost += 1
                continue
            }
            if now < scenario.healedAt, scenario.loss > 0, Double(rng.next() >> 11) / Double(1 << 53) < scenario.loss {
                report.messagesLost += 1
                continue
            }
            let delay = scenario.minDelay + UInt64(rng.below(Int(scenario.maxDelay - scenario.minDelay) + 1))
            schedule(now + delay, .deliver(to: j, from: instances[i].validator, bytes: bytes))
        }
    }

    func perform(_ outputs: [ConsensusOutput], of i: Int) {
        let me = instances[i].validator
        for output in outputs {
            switch output {
            case .send(let m, let to):
                deliver(m.canonicalBytes, from: i, toValidator: to)
            case .broadcast(let m):
                if case .proposal(let p) = m, proposedAt[p.block.id] == nil { proposedAt[p.block.id] = now }
                let bytes = m.canonicalBytes
                for v in 0..<UInt16(scenario.validators) where v != me { deliver(bytes, from: i, toValidator: v) }
            case .committed(let blocks, _):
                for b in blocks {
                    if let other = committedAt[b.height], other != b.id {
                        report.violations.append(
                            "fork at height \(b.height): instance \(i) committed \(b.id.hex.prefix(12)), another "
                                + "instance \(other.hex.prefix(12))")
                    }
                    committedAt[b.height] = b.id
                    report.highestRound = max(report.highestRound, b.round)
                    if !instances[i].isTwin, let at = proposedAt[b.id] {
                        latencySum += Double(now - at)
                        latencyCount += 1
                    }
                }
            case .evidence:
                report.evidence += 1
            case .dropped(_, let kind, let reason):
                report.dropped += 1
                report.dropReasons["\(kind): " + reason.prefix(48), default: 0] += 1
            }
        }
        guard let core = instances[i].core else { return }
        let next = max(core.nextDeadline, now + 1)
        if instances[i].wakeAt.map({ next < $0 }) ?? true {
            instances[i].wakeAt = next
            schedule(next, .wake(i))
        }
    }
}
