import Foundation
import SluiceConsensus
import SluiceCore
import Testing

// The durable ledger under a real core: four validators deliver each other's messages at once (no
// simulator), validator 0 commits into a FileConsensusLedger; the file is reopened, torn and corrupted.

@Suite("The consensus ledger on disk")
struct FileLedgerTests {
    final class Payloads: PayloadProvider {
        func payload(height: UInt64, round: UInt64, timestamp: UInt64, pending: [ConsensusBlock]) -> [UInt8] {
            Array("block \(height)".utf8)
        }
        func invalidity(of block: ConsensusBlock, pending: [ConsensusBlock]) -> String? { nil }
    }

    /// Runs four cores for `steps` milliseconds of virtual time, delivering every message at once.
    static func commit(into ledger: FileConsensusLedger, genesis: ConsensusBlock, steps: UInt64) throws {
        let keys = (0..<4).map { Hash.sha256([UInt8($0)]).bytes }
        let set = try ValidatorSet(
            epoch: 1,
            validators: keys.map { ConsensusValidator(address: Address(Hash.sha256($0)), publicKey: $0, power: 1) })
        let payloads = Payloads()
        let cores = try (0..<4).map { i in
            try ConsensusCore(
                configuration: ConsensusConfiguration(chainId: 7), validators: set, me: UInt16(i),
                signer: SimulatedSigner(publicKey: set.validators[i].publicKey), verifier: SimulatedVerifier(),
                safetyStorage: MemorySafetyStorage(),
                ledger: i == 0 ? ledger : MemoryConsensusLedger(genesis: genesis), payloads: payloads)
        }
        var queue: [(to: Int, from: UInt16, message: ConsensusMessage)] = []
        func route(_ outputs: [ConsensusOutput], from i: Int) {
            for o in outputs {
                switch o {
                case .send(let m, let to): queue.append((Int(to), UInt16(i), m))
                case .broadcast(let m): for j in 0..<4 where j != i { queue.append((j, UInt16(i), m)) }
                default: break
                }
            }
        }
        for (i, c) in cores.enumerated() { route(c.start(now: 1), from: i) }
        for now in 2..<steps {
            while !queue.isEmpty {
                let (to, from, m) = queue.removeFirst()
                route(cores[to].receive(m, from: from, now: now), from: to)
            }
            for (i, c) in cores.enumerated() where c.nextDeadline <= now { route(c.tick(now: now), from: i) }
        }
    }

    @Test func committedBlocksReadBackAfterReopenAndATornTailIsDropped() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/ledger"
        let genesis = ConsensusBlock.genesis(epoch: 1, height: 0, timestamp: 0, seed: .zero)
        var ledger: FileConsensusLedger? = try FileConsensusLedger(path: path, genesis: genesis)
        try Self.commit(into: ledger!, genesis: genesis, steps: 400)
        let head = ledger!.head
        #expect(head.height >= 10, "four validators delivering at once commit many blocks in 400 ms")
        let blocks = (0...head.height).map { ledger!.block(atHeight: $0) }
        let proof = ledger!.commitProof
        ledger = nil

        // Reopened: the same head, proof and blocks.
        let reopened = try FileConsensusLedger(path: path, genesis: genesis)
        #expect(reopened.head == head && reopened.commitProof == proof && reopened.truncatedBytes == 0)
        #expect((0...head.height).map { reopened.block(atHeight: $0) } == blocks)
        #expect(blocks.allSatisfy { $0 != nil })
        #expect(reopened.block(atHeight: head.height + 1) == nil)

        // A torn append (half a record at the end) is dropped on open; the head is the last whole record.
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0x40, 0, 0, 0] + [UInt8](repeating: 9, count: 50)))
        try handle.close()
        let torn = try FileConsensusLedger(path: path, genesis: genesis)
        #expect(torn.head == head && torn.truncatedBytes == 54)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int == size)

        // A flipped byte in an early record is corruption: refused, with what to do.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[60] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try FileConsensusLedger(path: path, genesis: genesis)
        } throws: { error in
            (error as? ConsensusError)?.message.contains("Restore the data dir") == true
        }

        // Another epoch's genesis does not open this file.
        let other = ConsensusBlock.genesis(epoch: 2, height: 0, timestamp: 0, seed: .zero)
        #expect(throws: ConsensusError.self) { _ = try FileConsensusLedger(path: path, genesis: other) }
    }
}
