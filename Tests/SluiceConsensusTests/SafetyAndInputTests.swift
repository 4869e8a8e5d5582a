import Foundation
import SluiceConsensus
import SluiceCore
import Synchronization
import Testing

@Suite("Consensus safety rules and hostile input")
struct SafetyAndInputTests {
    final class Payloads: PayloadProvider {
        func payload(height: UInt64, round: UInt64, timestamp: UInt64, pending: [ConsensusBlock]) -> [UInt8] { [1] }
        func invalidity(of block: ConsensusBlock, pending: [ConsensusBlock]) -> String? { nil }
    }

    struct Net {
        let set: ValidatorSet
        let signers: [SimulatedSigner]
        let genesis = ConsensusBlock.genesis(epoch: 1, height: 0, timestamp: 0, seed: .zero)
        init() throws {
            let keys = (0..<4).map { Hash.sha256([UInt8($0)]).bytes }
            set = try ValidatorSet(
                epoch: 1,
                validators: keys.map { ConsensusValidator(address: Address(Hash.sha256($0)), publicKey: $0, power: 1) })
            signers = set.validators.map { SimulatedSigner(publicKey: $0.publicKey) }
        }
        func core(_ i: UInt16, storage: any SafetyStorage, ledger: MemoryConsensusLedger? = nil) throws -> ConsensusCore
        {
            try ConsensusCore(
                configuration: ConsensusConfiguration(chainId: 7), validators: set, me: i, signer: signers[Int(i)],
                verifier: SimulatedVerifier(), safetyStorage: storage,
                ledger: ledger ?? MemoryConsensusLedger(genesis: genesis), payloads: Payloads())
        }
        /// A proposal for round 1 by its leader.
        func proposal(payload: [UInt8] = [1], leader: UInt16) -> Proposal {
            let qc = QuorumCertificate.genesis(epoch: 1, blockId: genesis.id, height: 0)
            let b = ConsensusBlock(
                epoch: 1, round: 1, height: 1, author: leader, timestamp: 10, quorumCertificate: qc, payload: payload)
            var w = CanonicalWriter()
            w.write(UInt64(1))
            w.write(UInt64(1))
            w.write(b.id)
            let sig = signers[Int(leader)].sign(consensusSigningBytes(domain: .proposal, chainId: 7, body: w.bytes))
            return Proposal(block: b, signature: sig, timeoutCertificate: nil)
        }
    }

    static func votes(_ outputs: [ConsensusOutput]) -> [Vote] {
        outputs.compactMap { if case .broadcast(.vote(let v)) = $0 { v } else { nil } }
    }

    @Test("a restarted validator resends its vote for the same block and refuses a different one")
    func noDoubleVoteAfterRestart() throws {
        let net = try Net()
        let storage = MemorySafetyStorage()
        var core = try net.core(0, storage: storage)
        let leader = core.leader(of: 1)
        guard leader != 0 else { return }  // validator 0 would propose itself; the draw is fixed, checked below
        _ = core.start(now: 5)
        let first = Self.votes(core.receive(.proposal(net.proposal(leader: leader)), from: leader, now: 20))
        #expect(first.count == 1)
        #expect(storage.saved?.lastVotedRound == 1)
        core = try net.core(0, storage: storage)
        _ = core.start(now: 30)
        let again = Self.votes(core.receive(.proposal(net.proposal(leader: leader)), from: leader, now: 40))
        #expect(again == first)
        core = try net.core(0, storage: storage)
        _ = core.start(now: 50)
        let other = core.receive(.proposal(net.proposal(payload: [2], leader: leader)), from: leader, now: 60)
        #expect(Self.votes(other).isEmpty)
    }

    @Test("the leader of round 1 is not validator 0 in this fixed set (so the test above runs)")
    func fixtureLeader() throws {
        let net = try Net()
        #expect(try net.core(0, storage: MemorySafetyStorage()).leader(of: 1) != 0)
    }

    @Test("a disk that refuses the write means no vote leaves")
    func failingDiskSignsNothing() throws {
        let net = try Net()
        let storage = MemorySafetyStorage()
        let core = try net.core(0, storage: storage)
        let leader = core.leader(of: 1)
        _ = core.start(now: 5)
        storage.failing.store(true, ordering: .relaxed)
        let out = core.receive(.proposal(net.proposal(leader: leader)), from: leader, now: 20)
        #expect(Self.votes(out).isEmpty)
        #expect(out.contains { if case .dropped = $0 { true } else { false } })
    }

    @Test("safety data in a file: saved, read back; a torn file is an error that says not to delete it")
    func fileStorage() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("safety-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("safety.bin").path
        let storage = FileSafetyStorage(path: path)
        #expect(try storage.load() == nil)
        var data = SafetyData(epoch: 3)
        data.lastVotedRound = 17
        try storage.save(data)
        #expect(try storage.load() == data)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 1
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect { try storage.load() } throws: { e in
            (e as? ConsensusError)?.message.contains("Do not delete it") == true
        }
    }

    @Test("garbage, truncated and random bytes never decode into a message or crash")
    func hostileBytes() throws {
        let net = try Net()
        let good = ConsensusMessage.proposal(net.proposal(leader: 1)).canonicalBytes
        #expect(try ConsensusMessage(wire: good) == .proposal(net.proposal(leader: 1)))
        for cut in 0..<good.count {
            #expect(throws: ConsensusError.self) { try ConsensusMessage(wire: Array(good[0..<cut])) }
        }
        #expect(throws: ConsensusError.self) { try ConsensusMessage(wire: good + [0]) }
        var rng = SplitMix64(seed: 9)
        for _ in 0..<2000 {
            var m = good
            for _ in 0..<(1 + rng.below(4)) { m[rng.below(m.count)] = UInt8(truncatingIfNeeded: rng.next()) }
            _ = try? ConsensusMessage(wire: m)
            let junk = (0..<rng.below(200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            _ = try? ConsensusMessage(wire: junk)
        }
    }

    @Test("a forged vote, a vote relayed for another validator, a proposal by a non-leader: dropped with reasons")
    func badMessagesAreDropped() throws {
        let net = try Net()
        let core = try net.core(0, storage: MemorySafetyStorage())
        _ = core.start(now: 5)
        let data = VoteData(epoch: 1, round: 1, blockId: Hash.sha256([7]), height: 1, parentId: .zero, parentRound: 0)
        func reasons(_ out: [ConsensusOutput]) -> [String] {
            out.compactMap { if case .dropped(_, _, let r) = $0 { r } else { nil } }
        }
        let forged = Vote(data: data, voter: 1, signature: [UInt8](repeating: 0, count: 32))
        #expect(reasons(core.receive(.vote(forged), from: 1, now: 10)).first?.contains("signature") == true)
        let relayed = Vote(data: data, voter: 2, signature: [])
        #expect(reasons(core.receive(.vote(relayed), from: 1, now: 10)).first?.contains("relayed") == true)
        let leader = core.leader(of: 1)
        let impostor = UInt16((Int(leader) + 1) % 4 == 0 ? 2 : (Int(leader) + 1) % 4)
        let out = core.receive(.proposal(net.proposal(leader: impostor)), from: impostor, now: 10)
        #expect(reasons(out).first?.contains("does not lead") == true)
        #expect(Self.votes(out).isEmpty)
        let far = Vote(
            data: VoteData(epoch: 1, round: 1_000_000, blockId: .zero, height: 1, parentId: .zero, parentRound: 0),
            voter: 1, signature: [])
        #expect(reasons(core.receive(.vote(far), from: 1, now: 10)).first?.contains("too far ahead") == true)
    }

    @Test("a validator set refuses duplicates, zero power and emptiness; a quorum is more than two thirds")
    func validatorSet() throws {
        let k = Hash.sha256([1]).bytes
        #expect(throws: ConsensusError.self) { try ValidatorSet(epoch: 1, validators: []) }
        #expect(throws: ConsensusError.self) {
            try ValidatorSet(
                epoch: 1, validators: [ConsensusValidator(address: Address(.zero), publicKey: k, power: 0)])
        }
        #expect(throws: ConsensusError.self) {
            try ValidatorSet(
                epoch: 1,
                validators: [
                    ConsensusValidator(address: Address(.zero), publicKey: k, power: 1),
                    ConsensusValidator(address: Address(Hash.sha256([2])), publicKey: k, power: 1),
                ])
        }
        let net = try Net()
        #expect(net.set.quorumPower == 3)
        #expect(net.set.maxFaultyPower == 1)
    }
}
