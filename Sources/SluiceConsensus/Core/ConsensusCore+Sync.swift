import SluiceCore

// Catching up. A node that hears of a block it lacks (a certificate, a proposal's parent, a commit proof)
// asks the peer that mentioned it for the block and its ancestors, and retries other peers if that one
// does not answer. A node so far behind that those blocks do not reach its committed block asks for
// committed blocks instead (ledger sync): they come with proofs it checks — a certificate with
// consecutive rounds inside the chain, or the peer's commit proof — and it commits what is proven, then
// asks for more. Consensus goes on meanwhile: nothing waits for a laggard.

extension ConsensusCore {
    /// Some other validator to ask, rotating with `attempt`.
    func peer(after start: UInt16, attempt: Int) -> UInt16 {
        let n = context.validators.count
        var p = (Int(start) + attempt) % n
        if UInt16(p) == me { p = (p + 1) % n }
        return UInt16(p)
    }

    func fetch(_ id: Hash, from peer: UInt16?) {
        guard requested[id] == nil, tree.block(id) == nil else { return }
        let p = peer ?? self.peer(after: me ?? 0, attempt: 1)
        requested[id] = (now, p, 1)
        send(.blockRequest(BlockRequest(blockId: id, count: UInt16(ConsensusLimits.blocksPerResponse))), to: p)
    }

    func retryRequests() {
        for id in requested.keys.sorted() {
            guard let r = requested[id], now >= r.at + configuration.fetchRetry else { continue }
            if tree.block(id) != nil || r.attempts >= 3 * context.validators.count {
                requested[id] = nil
                continue
            }
            let p = peer(after: r.peer, attempt: 1)
            requested[id] = (now, p, r.attempts + 1)
            send(.blockRequest(BlockRequest(blockId: id, count: UInt16(ConsensusLimits.blocksPerResponse))), to: p)
        }
        if let at = ledgerRequestedAt, now >= at + configuration.fetchRetry {
            ledgerRequestedAt = nil
            if let pc = pendingCommit, (pc.proof.committed?.height ?? 0) > tree.root.height {
                requestLedger(from: peer(after: pc.from ?? 0, attempt: Int(now / configuration.fetchRetry) % 7 + 1))
            }
        }
    }

    func requestLedger(from peer: UInt16?) {
        if let at = ledgerRequestedAt, now < at + configuration.fetchRetry { return }
        ledgerRequestedAt = now
        send(
            .ledgerRequest(LedgerRequest(fromHeight: tree.root.height + 1)),
            to: peer ?? self.peer(after: me ?? 0, attempt: 1))
    }

    /// Tells a peer that is behind where this node stands (at most every 200 ms per peer).
    func helpPeer(_ peer: UInt16) {
        if let t = lastSyncReply[peer], now < t + 200 { return }
        lastSyncReply[peer] = now
        send(.syncInfo(syncInfo), to: peer)
    }

    func handle(_ s: SyncInfo, from peer: UInt16) {
        do throws(ConsensusError) {
            try verify(s.highQC)
            if let tc = s.highTC { try verify(tc) }
            if let p = s.commitProof { try verify(p) }
        } catch { return drop(peer, "sync info", error.message) }
        absorb(s.highQC, from: peer)
        if let tc = s.highTC { absorb(tc, from: peer) }
        if let p = s.commitProof { commit(p, from: peer) }
        let theirRound = max(s.highQC.round, s.highTC?.round ?? 0) + 1
        let theirHeight = s.commitProof?.committed?.height ?? 0
        if pacemaker.round > theirRound || tree.root.height > theirHeight { helpPeer(peer) }
    }

    func handle(_ r: BlockRequest, from peer: UInt16) {
        let limit = max(1, min(Int(r.count), ConsensusLimits.blocksPerResponse))
        var out: [ConsensusBlock] = []
        var cursor = tree.block(r.blockId)
        while let b = cursor, out.count < limit {
            out.append(b)
            if b.id == tree.root.id || tree.block(b.parentId) == nil {
                cursor = b.height > ledger.genesis.height ? ledger.block(atHeight: b.height - 1) : nil
                if let c = cursor, c.id != b.parentId { cursor = nil }
            } else {
                cursor = tree.block(b.parentId)
            }
        }
        guard !out.isEmpty else { return }
        send(.blockResponse(out), to: peer)
    }

    func handleBlocks(_ blocks: [ConsensusBlock], from peer: UInt16) {
        let kind = "block response"
        if let first = blocks.first, tree.block(first.id) != nil || first.height <= tree.root.height { return }
        guard let first = blocks.first, requested[first.id] != nil else {
            return drop(peer, kind, "blocks that were not asked for")
        }
        for i in blocks.indices.dropFirst() where blocks[i].id != blocks[i - 1].parentId {
            return drop(peer, kind, "the blocks do not chain by parent")
        }
        guard blocks.allSatisfy({ $0.epoch == context.epoch }) else {
            return drop(peer, kind, "a block of another epoch")
        }
        guard let join = blocks.firstIndex(where: { tree.block($0.id) != nil || tree.block($0.parentId) != nil }) else {
            if let last = blocks.last, last.height > tree.root.height + 1 { requestLedger(from: peer) }
            return drop(peer, kind, "the blocks do not reach a block this node holds")
        }
        requested[first.id] = nil
        for b in blocks[0...join].reversed() where tree.block(b.id) == nil {
            guard b.height > tree.root.height else { continue }
            do throws(ConsensusError) { try verify(b.quorumCertificate) } catch {
                return drop(peer, kind, "block \(b.height): \(error.message)")
            }
            guard tree.insert(b) else { return drop(peer, kind, "block \(b.height) does not fit the block tree") }
            statistics.blocksFetched += 1
            requested[b.id] = nil
            absorb(b.quorumCertificate, from: peer)
        }
        resumeAfterFetch()
    }

    /// Retries what waited for blocks: a commit and a proposal.
    func resumeAfterFetch() {
        if let pc = pendingCommit {
            pendingCommit = nil
            commit(pc.proof, from: pc.from)
        }
        if let w = waiting, tree.block(w.proposal.block.parentId) != nil {
            waiting = nil
            handle(w.proposal, from: w.from)
        }
    }

    func handle(_ r: LedgerRequest, from peer: UInt16) {
        let head = ledger.head
        guard r.fromHeight > ledger.genesis.height, r.fromHeight <= head.height, let proof = ledger.commitProof else {
            return
        }
        let end = min(head.height, r.fromHeight + UInt64(ConsensusLimits.blocksPerResponse) - 1)
        let blocks = (r.fromHeight...end).compactMap { ledger.block(atHeight: $0) }
        guard !blocks.isEmpty else { return }
        send(.ledgerResponse(LedgerResponse(blocks: blocks, proof: proof)), to: peer)
    }

    func handle(_ r: LedgerResponse, from peer: UInt16) {
        let kind = "ledger response"
        ledgerRequestedAt = nil
        guard let first = r.blocks.first, first.parentId == tree.root.id, first.height == tree.root.height + 1 else {
            return drop(peer, kind, "the blocks do not continue this node's committed block")
        }
        for i in r.blocks.indices.dropFirst()
        where r.blocks[i].parentId != r.blocks[i - 1].id || r.blocks[i].height != r.blocks[i - 1].height + 1 {
            return drop(peer, kind, "the blocks do not chain")
        }
        var index: [Hash: Int] = [:]
        for (i, b) in r.blocks.enumerated() { index[b.id] = i }
        // What is proven committed: a block's certificate that commits an earlier block of the response by
        // the 2-chain rule, or the peer's commit proof.
        var proven = -1
        var proof: CommitProof?
        for b in r.blocks {
            guard let c = b.quorumCertificate.data.committedParent, let j = index[c.id], j > proven else { continue }
            do throws(ConsensusError) { try verify(b.quorumCertificate) } catch {
                return drop(peer, kind, error.message)
            }
            proven = j
            proof = .chained(b.quorumCertificate)
        }
        if let c = r.proof.committed, let j = index[c.id], j > proven {
            do throws(ConsensusError) { try verify(r.proof) } catch { return drop(peer, kind, error.message) }
            proven = j
            proof = r.proof
        }
        guard proven >= 0, let proof else { return drop(peer, kind, "nothing in it is proven committed") }
        for b in r.blocks[0...proven] where tree.block(b.id) == nil {
            guard tree.insert(b) else { return drop(peer, kind, "block \(b.height) does not fit") }
        }
        statistics.ledgerBlocksSynced += proven + 1
        commit(proof, from: peer)
        if let theirs = r.proof.committed?.height, theirs > tree.root.height { requestLedger(from: peer) }
        resumeAfterFetch()
    }
}
