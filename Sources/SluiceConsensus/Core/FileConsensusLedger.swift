import Foundation
public import SluiceCore

// The validator's durable ledger of committed consensus blocks: an append-only file of records, each
// the blocks of one commit with the certificate on the last and the proof that commits them. A record is
// its length, the SHA-256 of its body and the body; each append is synced before it returns, so a block
// the core reports committed is on disk. A crash during an append leaves at most a torn last record,
// which opening drops (it was never acknowledged); a bad record before the last is corruption and is
// refused. The node executes blocks from this ledger into its state, so after a crash it re-executes what
// the ledger holds beyond the state's head.
//
// Memory holds an index (one offset per height) and the last record; older blocks are read back from the
// file when a peer syncs from this node.

/// A ConsensusLedger in one file.
public final class FileConsensusLedger: ConsensusLedger, @unchecked Sendable {
    public let path: String
    public let genesis: ConsensusBlock
    public private(set) var head: ConsensusBlock
    public private(set) var headCertificate: QuorumCertificate?
    public private(set) var commitProof: CommitProof?
    /// Bytes dropped from a torn last record when the file was opened (0 when it was whole).
    public private(set) var truncatedBytes = 0
    let fd: Int32
    /// Offset of the record holding height genesis.height + 1 + i.
    var offsets: [UInt64] = []
    var end: UInt64

    static let magic = Array("SLUICE-LEDGER-1\n".utf8)
    static let limits = CanonicalReader.Limits(maxBytes: 1 << 30, maxElements: 1 << 20)

    struct Record: CanonicalCodable {
        var blocks: [ConsensusBlock]
        var certificate: QuorumCertificate?
        var proof: CommitProof

        func encode(to w: inout CanonicalWriter) {
            w.writeArray(blocks)
            w.writeOptional(certificate)
            w.write(proof)
        }

        init(blocks: [ConsensusBlock], certificate: QuorumCertificate?, proof: CommitProof) {
            self.blocks = blocks
            self.certificate = certificate
            self.proof = proof
        }

        init(from r: inout CanonicalReader) throws(CoreError) {
            blocks = try r.readArray(ConsensusBlock.self, max: 1 << 20, field: "blocks")
            certificate = try r.readOptional(QuorumCertificate.self)
            proof = try r.read(CommitProof.self)
        }
    }

    /// Opens (or creates) the ledger at `path` for the epoch that starts at `genesis`.
    public init(path: String, genesis: ConsensusBlock) throws(ConsensusError) {
        self.path = path
        self.genesis = genesis
        head = genesis
        headCertificate = .genesis(epoch: genesis.epoch, blockId: genesis.id, height: genesis.height)
        fd = open(path, O_RDWR | O_CREAT, 0o600)
        guard fd >= 0 else { throw Self.failed("open \(path)") }
        let header = Self.magic + genesis.id.bytes
        var size = UInt64(lseek(fd, 0, SEEK_END))
        if size == 0 {
            try Self.write(fd, header, at: 0)
            guard fsync(fd) == 0 else { throw Self.failed("sync \(path)") }
            size = UInt64(header.count)
        }
        guard let first = Self.read(fd, at: 0, count: header.count), first == header else {
            close(fd)
            throw Self.unreadable(path, "it is not the ledger of this epoch's genesis \(genesis.id.hex)")
        }
        end = UInt64(header.count)
        do throws(ConsensusError) {
            while end < size {
                guard let record = try readRecord(at: end, fileSize: size) else {
                    // A torn last record: never acknowledged, dropped.
                    truncatedBytes = Int(size - end)
                    guard ftruncate(fd, off_t(end)) == 0, fsync(fd) == 0 else { throw Self.failed("truncate \(path)") }
                    break
                }
                try apply(record.value, at: end)
                end += record.length
            }
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    public func block(atHeight height: UInt64) -> ConsensusBlock? {
        if height == genesis.height { return genesis }
        if height == head.height { return head }
        guard height > genesis.height, height - genesis.height <= UInt64(offsets.count) else { return nil }
        let offset = offsets[Int(height - genesis.height - 1)]
        guard let record = try? readRecord(at: offset, fileSize: end)?.value else { return nil }
        return record.blocks.first { $0.height == height }
    }

    public func append(_ new: [ConsensusBlock], certificate: QuorumCertificate?, proof: CommitProof)
        throws(ConsensusError)
    {
        guard !new.isEmpty else { return }
        try Self.checkContinues(head, new)
        let body = Record(blocks: new, certificate: certificate, proof: proof).canonicalBytes
        var bytes: [UInt8] = []
        bytes.reserveCapacity(body.count + 36)
        withUnsafeBytes(of: UInt32(body.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes += Hash.sha256(body).bytes
        bytes += body
        try Self.write(fd, bytes, at: end)
        guard fdatasync(fd) == 0 else { throw Self.failed("sync \(path)") }
        for _ in new { offsets.append(end) }
        end += UInt64(bytes.count)
        head = new[new.count - 1]
        headCertificate = certificate
        commitProof = proof
    }

    // MARK: Records

    static func checkContinues(_ head: ConsensusBlock, _ new: [ConsensusBlock]) throws(ConsensusError) {
        var previous = head
        for b in new {
            guard b.parentId == previous.id, b.height == previous.height + 1 else {
                throw ConsensusError(
                    .storage, "block \(b.height) does not continue the ledger's head \(previous.height)")
            }
            previous = b
        }
    }

    func apply(_ record: Record, at offset: UInt64) throws(ConsensusError) {
        guard !record.blocks.isEmpty else { throw Self.unreadable(path, "a record at byte \(offset) holds no block") }
        do throws(ConsensusError) { try Self.checkContinues(head, record.blocks) } catch {
            throw Self.unreadable(path, "the record at byte \(offset): \(error.message)")
        }
        for _ in record.blocks { offsets.append(offset) }
        head = record.blocks[record.blocks.count - 1]
        headCertificate = record.certificate
        commitProof = record.proof
    }

    /// The record at `offset` and its length on disk; nil when it is torn (runs past the end, or its
    /// checksum fails) and is the last; an error when a bad record is followed by more bytes.
    func readRecord(at offset: UInt64, fileSize: UInt64) throws(ConsensusError) -> (value: Record, length: UInt64)? {
        guard let prefix = Self.read(fd, at: offset, count: 36) else { return nil }
        let length = UInt64(prefix[0]) | UInt64(prefix[1]) << 8 | UInt64(prefix[2]) << 16 | UInt64(prefix[3]) << 24
        let total = 36 + length
        guard offset + total <= fileSize, let body = Self.read(fd, at: offset + 36, count: Int(length)) else {
            return nil
        }
        guard Hash.sha256(body).bytes == Array(prefix[4..<36]) else {
            if offset + total == fileSize { return nil }
            throw Self.unreadable(path, "the record at byte \(offset) fails its checksum")
        }
        do throws(CoreError) {
            return (try Record(canonicalBytes: body, limits: Self.limits), total)
        } catch {
            throw Self.unreadable(path, "the record at byte \(offset) does not decode: \(error.message)")
        }
    }

    static func read(_ fd: Int32, at offset: UInt64, count: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        let ok = out.withUnsafeMutableBytes { raw -> Bool in
            while done < count {
                let n = pread(fd, raw.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if n <= 0 { return false }
                done += n
            }
            return true
        }
        return ok ? out : nil
    }

    static func write(_ fd: Int32, _ bytes: [UInt8], at offset: UInt64) throws(ConsensusError) {
        var done = 0
        let ok = bytes.withUnsafeBytes { raw -> Bool in
            while done < raw.count {
                let n = pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(offset) + off_t(done))
                if n <= 0 { return false }
                done += n
            }
            return true
        }
        guard ok else { throw failed("write the ledger") }
    }

    static func unreadable(_ path: String, _ why: String) -> ConsensusError {
        ConsensusError(
            .storage,
            "the consensus ledger \(path) does not read back: \(why). Restore the data dir from a backup, or move "
                + "it aside and let the node sync the chain from its peers")
    }

    static func failed(_ what: String) -> ConsensusError {
        ConsensusError(
            .storage, "could not \(what) (\(String(cString: strerror(errno)))): free disk space or fix permissions")
    }
}
