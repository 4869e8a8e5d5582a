import Testing

@testable import SluiceCore

@Suite struct BlockTests {
    @Test func headerHashCommitsToEveryField() throws {
        var rng = SplitMix64(seed: 50)
        let header = rng.header()
        #expect(header.hash.bytes == ReferenceSHA256.digest(header.canonicalBytes))
        let changes: [(String, (inout BlockHeader) -> Void)] = [
            ("chainId", { $0.chainId &+= 1 }),
            ("height", { $0.height &+= 1 }),
            ("parentHash", { $0.parentHash.w3 ^= 1 << 63 }),
            ("timestamp", { $0.timestamp &+= 1 }),
            ("proposer", { $0.proposer.hash.w0 ^= 1 }),
            ("transactionsRoot", { $0.transactionsRoot.w1 ^= 1 }),
            ("parentStateRoot", { $0.parentStateRoot.w2 ^= 1 }),
        ]
        var seen: Set<Hash> = [header.hash]
        for (field, change) in changes {
            var changed = header
            change(&changed)
            #expect(seen.insert(changed.hash).inserted, "changing \(field) must change the hash")
        }
        let block = Block(header: header, transactions: [rng.transaction()])
        #expect(block.hash == header.hash)
    }

    @Test func transactionsRootDependsOnOrder() throws {
        var rng = SplitMix64(seed: 51)
        let a = rng.transaction()
        let b = rng.transaction()
        let c = rng.transaction()
        #expect(a.hash.bytes == ReferenceSHA256.digest(a.canonicalBytes))
        #expect(Block.transactionsRoot([a, b]).bytes == ReferenceSHA256.digest(a.hash.bytes + b.hash.bytes))
        #expect(Block.transactionsRoot([a, b]) != Block.transactionsRoot([b, a]))
        #expect(Block.transactionsRoot([a, b, c]) != Block.transactionsRoot([a, c, b]))
        #expect(Block.transactionsRoot([a]) != Block.transactionsRoot([a, a]))
        #expect(Block.transactionsRoot([]).bytes == ReferenceSHA256.digest([]))
    }

    @Test func transactionHashCoversTheAuthenticator() {
        var rng = SplitMix64(seed: 52)
        var t = rng.transaction()
        t.authenticator = Authenticator(scheme: .ed25519, publicKey: [1], signature: [2])
        var other = t
        other.authenticator!.signature = [3]
        #expect(t.hash != other.hash && t.signingMessage == other.signingMessage)
    }
}
