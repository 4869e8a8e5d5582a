import SluiceConsensus
import Testing

@Suite("Consensus simulation")
struct SimulationTests {
    @Test("four validators on a good network commit in every round, without forks or evidence")
    func happyPath() throws {
        var s = SimulationScenario(seed: 1)
        s.duration = 10_000
        let r = try ConsensusSimulator(s).run()
        #expect(r.violations.isEmpty)
        #expect(r.evidence == 0)
        #expect(r.finalHeights.allSatisfy { $0 >= 50 }, "heights \(r.finalHeights)")
        #expect(r.dropped == 0, "\(r.dropReasons)")
    }

    @Test("order votes commit in three message delays, the 2-chain rule in four")
    func orderVoteLatency() throws {
        func latency(_ orderVotes: Bool) throws -> Double {
            var s = SimulationScenario(seed: 2)
            s.minDelay = 50
            s.maxDelay = 50
            s.duration = 20_000
            s.orderVotes = orderVotes
            let r = try ConsensusSimulator(s).run()
            #expect(r.violations.isEmpty)
            return r.meanCommitLatency / 50
        }
        let with = try latency(true)
        let without = try latency(false)
        #expect(with <= 3.05, "order votes: \(with) message delays")
        #expect(without <= 4.05 && without > with, "2-chain: \(without) message delays")
    }

    @Test("with two of four validators down nothing commits; after they return the chain goes on")
    func noQuorumHalts() throws {
        var s = SimulationScenario(seed: 3)
        s.crashes = [.init(instance: 0, at: 5_000, restart: 15_000), .init(instance: 1, at: 5_000, restart: 15_000)]
        s.healedAt = 15_000
        s.duration = 40_000
        let sim = try ConsensusSimulator(s)
        let r = try sim.run()
        #expect(r.violations.isEmpty)
        #expect(r.progressAfterHeal >= 10, "after heal \(r.heightsAtHeal) → \(r.finalHeights)")
    }

    @Test("a twin signing conflicting messages never forks the chain and leaves evidence", arguments: 0..<6)
    func twins(seed: UInt64) throws {
        var s = SimulationScenario(seed: 100 + seed)
        s.twins = [UInt16(seed % 4)]
        // The twins sit on opposite sides of a partition, each with one honest half.
        s.partitions = [.init(start: 1_000, end: 12_000, groups: [[0, 1, 4], [2, 3]])]
        s.healedAt = 12_000
        s.duration = 40_000
        let r = try ConsensusSimulator(s).run()
        #expect(r.violations.isEmpty)
        #expect(r.evidence > 0)
        #expect(r.progressAfterHeal >= 3, "after heal \(r.heightsAtHeal) → \(r.finalHeights)")
    }

    @Test("random scenarios: loss, delay, partitions, crashes, restarts and twins; safe, then live")
    func randomSeeds() throws {
        var failures: [String] = []
        for seed in UInt64(0)..<300 {
            let s = SimulationScenario.random(seed: seed)
            let r = try ConsensusSimulator(s).run()
            if !r.violations.isEmpty { failures.append("seed \(seed): \(r.violations[0])") }
            if r.progressAfterHeal < 3 {
                failures.append("seed \(seed): progress \(r.heightsAtHeal) → \(r.finalHeights)")
            }
        }
        #expect(failures.isEmpty, "\(failures.prefix(10))")
    }

    @Test("the same seed runs the same way")
    func deterministic() throws {
        let s = SimulationScenario.random(seed: 42)
        let a = try ConsensusSimulator(s).run()
        let b = try ConsensusSimulator(s).run()
        #expect(a.finalHeights == b.finalHeights)
        #expect(a.messagesDelivered == b.messagesDelivered)
    }

    @Test("Ed25519 signatures end to end")
    func realSignatures() throws {
        var s = SimulationScenario(seed: 5)
        s.realSignatures = true
        s.duration = 5_000
        let r = try ConsensusSimulator(s).run()
        #expect(r.violations.isEmpty)
        #expect(r.finalHeights.allSatisfy { $0 >= 20 }, "heights \(r.finalHeights)")
    }
}
