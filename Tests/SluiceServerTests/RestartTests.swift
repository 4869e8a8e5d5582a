import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SluiceAPI
import SluiceCore
import SluiceNode
import SluiceRuntime
import SluiceState
import SluiceServer
import SluiceStorage
import Testing

/// What a client saw before the node stopped.
struct BeforeRestart: Sendable {
    var height: UInt64
    var headHash: Hash
    var accounts: [AccountInfoJSON]
    var committed: [TransactionStatusJSON]
}

/// Runs a node on `dir`, commits transfers, stops it and returns what the API showed. Everything that
/// holds the store is local here, so it is released when this returns.
func runUntilStopped(_ dir: TempDir, _ senders: [TestSender]) async throws -> BeforeRestart {
    let chain = try TestChain(funded: senders.map { ($0, initialBalance) }, options: ChainOptions(), dir: dir)
    chain.node.start()
    let app = Application(router: chain.server.router())
    let result = try await app.test(.router) { client in
        let api = APIClient(client: client)
        let (alice, bob) = (senders[0], senders[1])
        var txs = [alice.tx(0, to: bob.address, amount: 700), bob.tx(0, amount: 5, gasPrice: 2)]
        try await api.submitAccepted(txs[0])
        try await api.submitAccepted(txs[1], binary: true)
        var committed: [TransactionStatusJSON] = []
        for tx in txs { committed.append(try await api.waitCommitted(tx.hash)) }
        txs = [alice.tx(1, amount: 9), alice.tx(2, to: bob.address, amount: 11)]
        let batch = try await api.submitBatch(txs)
        #expect(try batch.decode(BatchResultJSON.self).accepted == 2)
        for tx in txs { committed.append(try await api.waitCommitted(tx.hash)) }
        await chain.node.stop()
        let view = try await api.view(senders.map(\.address) + [sink])
        return BeforeRestart(
            height: view.height, headHash: view.headHash, accounts: view.accounts, committed: committed)
    }
    return result
}

/// Opens the store at `dir` again, waiting for the previous owner to let go of RocksDB's lock (the
/// block thread releases the node a moment after `stop()` returns).
func reopen(_ dir: TempDir, options: ChainOptions = ChainOptions()) async throws -> TestChain {
    var lastError: (any Error)?
    var chain: TestChain?
    let opened = try await eventually(timeout: .seconds(15), every: .milliseconds(20)) {
        do {
            chain = try TestChain(reopening: dir, options: options)
            return true
        } catch {
            lastError = error
            return false
        }
    }
    guard opened, let chain else { throw TestFailure("cannot reopen \(dir.path): \(String(describing: lastError))") }
    return chain
}

@Suite("A restarted node keeps its chain")
struct RestartTests {
    @Test func restartKeepsHeightBalancesAndReceipts() async throws {
        let senders = [TestSender(), TestSender()]
        let dir = TempDir()
        defer { dir.remove() }
        let before = try await runUntilStopped(dir, senders)
        #expect(before.height >= 1)

        let chain = try await reopen(dir)
        chain.node.start()
        let app = Application(router: chain.server.router())
        try await app.test(.router) { client in
            let api = APIClient(client: client)
            let status = try await api.status()
            #expect(status.height >= before.height)
            let old: BlockJSON = try await api.get("/v1/blocks/\(before.height)")
            #expect(old.hash == before.headHash)
            var accounts: [AccountInfoJSON] = []
            for a in senders.map(\.address) + [sink] { accounts.append(try await api.account(a)) }
            // Same balances, sequences and nothing pending; only the height they were read at moved on.
            #expect(
                accounts.map {
                    [$0.address.hex, $0.balance.description, "\($0.sequence)", "\($0.exists)", "\($0.pending)"]
                }
                    == before.accounts.map {
                        [$0.address.hex, $0.balance.description, "\($0.sequence)", "\($0.exists)", "\($0.pending)"]
                    })
            for committed in before.committed {
                let reply = try await api.transaction(committed.hash)
                #expect(reply.status == 200, "\(reply.text)")
                #expect(try reply.decode(TransactionStatusJSON.self) == committed)
            }
            // The restarted node still works: the old transaction is too old, the next sequence commits.
            let alice = senders[0]
            let replay = try await api.submit(alice.tx(0, to: senders[1].address, amount: 700))
            #expect(replay.status == 400 && (try? replay.decode(ErrorJSON.self))?.code == "sequence_too_old")
            let next = alice.tx(3, amount: 1)
            try await api.submitAccepted(next)
            let status3 = try await api.waitCommitted(next.hash)
            #expect(try #require(status3.blockHeight) > before.height)
            #expect(try await api.account(alice.address).sequence == 4)
        }
        await chain.node.stop()
    }

    /// After a restart, /metrics and /v1/status describe the stored head before any new block.
    @Test func metricsAfterRestartStartAtTheStoredHead() async throws {
        let senders = [TestSender(), TestSender()]
        let dir = TempDir()
        defer { dir.remove() }
        let before = try await runUntilStopped(dir, senders)

        let chain = try await reopen(dir)  // not started: no new block
        let app = Application(router: chain.server.router())
        try await app.test(.router) { client in
            let api = APIClient(client: client)
            let status = try await api.status()
            #expect(status.height == before.height)
            #expect(status.headHash == before.headHash)
            let metrics = try await api.get("/metrics")
            #expect(
                metric("sluice_block_height", in: metrics.text) == Double(before.height),
                "sluice_block_height after a restart, before the first new block (the head is \(before.height))")
        }
    }
}
