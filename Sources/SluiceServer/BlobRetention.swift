public import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import SluiceCore
import SluiceNode
import SluiceRuntime
import SluiceState
public import SluiceStorage

// Which blobs the chain still needs, and the periodic sweep that removes the rest (BlobStore's design
// comment has the space rules). A job names its bundle and inputs, each provider's result and logs, and its
// auditor's; they are kept while the job is under way (open, matched, committed, disputed) and, once it is
// settled or unresolved, for the retention period after its settlement (at least the dispute window, in
// which a dispute brings the job back under way). A cancelled or expired job never ran: its blobs are
// treated as nobody's and expire like any anonymous upload, by their upload time.

extension JobRecord {
    /// Every blob the job names.
    var blobs: [Hash] {
        var names = [spec.bundleHash, spec.inputsHash]
        if let result { names.append(result) }
        for a in assigned {
            if let r = a.result { names.append(r) }
            if let l = a.logs { names.append(l) }
        }
        if let audit {
            if let r = audit.result { names.append(r) }
            if let l = audit.logs { names.append(l) }
        }
        return names.filter { $0 != .zero }
    }

    /// Whether the job still needs its blobs at chain time `now` (unix seconds).
    func keepsBlobs(now: UInt64, retention: UInt64) -> Bool {
        switch status {
        case .open, .matched, .committed, .disputed: true
        case .settled, .unresolved: settledTimestamp &+ retention > now
        case .cancelled, .expired: false
        }
    }
}

extension APIServer {
    /// How many job records one read of the job space takes.
    static let jobScanPage = 1000

    /// The blobs that jobs on chain still need (see above), read from the latest committed state.
    ///
    /// - Complexity: O(j) record reads for the j jobs on chain.
    func referencedBlobs(now: UInt64) throws(StorageError) -> Set<Hash> {
        guard let blobs else { return [] }
        var dispute = MarketParameters.default.disputeWindowSeconds
        if case .marketParameters(let p)? = try node.store.peek(.marketParameters) { dispute = p.disputeWindowSeconds }
        let retention = max(blobs.limits.retentionSeconds, dispute)
        var names: Set<Hash> = []
        var after: Hash? = nil
        while true {
            let page = try node.store.values(in: .marketJob, limit: Self.jobScanPage, after: after)
            for entry in page {
                guard case .job(let job) = entry.value, job.keepsBlobs(now: now, retention: retention) else { continue }
                names.formUnion(job.blobs)
            }
            guard page.count == Self.jobScanPage, let last = page.last else { break }
            after = last.key.id
        }
        return names
    }

    /// Removes the blobs that no job needs and that were uploaded more than the store's
    /// `unreferencedSeconds` before `now`; nil when the node keeps no blobs. `BlobSweeper` calls it
    /// periodically; tests call it with a clock of their own.
    @discardableResult
    public func sweepBlobs(now: Date = Date()) throws(StorageError) -> BlobStore.Sweep? {
        guard let blobs else { return nil }
        // Chain time for settlements (block timestamps), the same instant for both rules.
        let chainNow = UInt64(max(0, now.timeIntervalSince1970))
        let keep = try referencedBlobs(now: chainNow)
        let result = blobs.sweep(now: now) { keep.contains($0) }
        metrics.blobsExpired.increment(by: Int64(result.removed))
        return result
    }
}

/// Runs `APIServer.sweepBlobs` at start and every `interval` until the server shuts down.
struct BlobSweeper: Service {
    let server: APIServer
    let interval: Duration
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    if let swept = try server.sweepBlobs(), swept.removed > 0 {
                        logger.info("blobs: removed \(swept.removed) unreferenced (\(swept.removedBytes) bytes)")
                    }
                } catch {
                    logger.warning("blobs: the sweep could not read the jobs: \(error)")
                }
                try await Task.sleep(for: interval)
            }
        }
    }
}
