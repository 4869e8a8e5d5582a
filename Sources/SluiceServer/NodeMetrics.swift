import Foundation
import Prometheus
import SluiceCore
import SluiceExecution
import SluiceNode
import SluiceStorage

/// The node's Prometheus metrics, served at `GET /metrics`: updated on the block thread after each
/// commit (cheap: a few atomic stores), gauges of the mempool read when scraped.
final class NodeMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()

    /// `sluice_http_requests_total{route}`: requests per route template (`/v1/market/jobs/{id}`), so an
    /// operator sees who polls what (and a test that agents do not poll per block).
    func countRequest(route: String) {
        registry.makeCounter(name: "sluice_http_requests_total", labels: [("route", route)]).increment()
    }
    let height: Gauge
    let transactions: Counter
    let blocks: Counter
    let reExecutions: Counter
    let aborts: Counter
    let failedOrDiscarded: Counter
    let blockTime: DurationHistogram
    let executeTime: DurationHistogram
    let commitTime: DurationHistogram
    let blockSize: ValueHistogram
    let mempoolSize: Gauge
    let mempoolSenders: Gauge
    let tps: Gauge
    let rejected: Counter
    let accepted: Counter
    let blobsExpired: Counter
    let blobBytes: Gauge
    let uploadsRefused: Counter
    let subscribers: Gauge
    let subscribersDropped: Counter
    let subscriberQueuedBytes: Gauge

    init() {
        let seconds: [Duration] = [
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5),
        ]
        height = registry.makeGauge(name: "sluice_block_height", help: "Height of the last committed block.")
        transactions = registry.makeCounter(
            name: "sluice_transactions_committed_total", help: "Transactions committed in blocks.")
        blocks = registry.makeCounter(name: "sluice_blocks_committed_total", help: "Blocks committed.")
        reExecutions = registry.makeCounter(
            name: "sluice_execution_reexecutions_total",
            help: "Block-STM re-executions (incarnations beyond the first).")
        aborts = registry.makeCounter(
            name: "sluice_execution_validation_aborts_total", help: "Block-STM validations that failed.")
        failedOrDiscarded = registry.makeCounter(
            name: "sluice_transactions_unsuccessful_total",
            help: "Committed transactions that failed or were discarded.")
        blockTime = registry.makeDurationHistogram(
            name: "sluice_block_time_seconds", buckets: seconds,
            help: "Time to produce a block: prepare, execute, root update and synced commit.")
        executeTime = registry.makeDurationHistogram(
            name: "sluice_block_execute_seconds", buckets: seconds, help: "Time to prepare and execute a block.")
        commitTime = registry.makeDurationHistogram(
            name: "sluice_block_commit_seconds", buckets: seconds,
            help: "Time to update the state root and commit a block durably.")
        blockSize = registry.makeValueHistogram(
            name: "sluice_block_transactions", buckets: [0, 1, 10, 100, 1000, 5000, 10000, 50000],
            help: "Transactions per block.")
        mempoolSize = registry.makeGauge(name: "sluice_mempool_transactions", help: "Transactions in the mempool.")
        mempoolSenders = registry.makeGauge(name: "sluice_mempool_senders", help: "Senders with queued transactions.")
        tps = registry.makeGauge(
            name: "sluice_transactions_per_second", help: "Committed transactions per second over the last 5 s.")
        accepted = registry.makeCounter(
            name: "sluice_mempool_accepted_total", help: "Transactions accepted into the mempool.")
        rejected = registry.makeCounter(
            name: "sluice_mempool_rejected_total", help: "Transactions the mempool rejected.")
        blobsExpired = registry.makeCounter(
            name: "sluice_blobs_expired_total", help: "Blobs removed because no job named them in time.")
        blobBytes = registry.makeGauge(name: "sluice_blob_bytes", help: "Bytes of the blobs stored.")
        uploadsRefused = registry.makeCounter(
            name: "sluice_blob_uploads_refused_total",
            help: "Blob uploads refused because too many or too many bytes were in flight.")
        subscribers = registry.makeGauge(name: "sluice_event_subscribers", help: "Open /v1/events streams.")
        subscribersDropped = registry.makeCounter(
            name: "sluice_event_subscribers_dropped_total",
            help: "Event streams closed because their unsent events passed the memory budget.")
        subscriberQueuedBytes = registry.makeGauge(
            name: "sluice_event_queued_bytes", help: "Bytes of events queued for subscribers and not yet sent.")
    }

    func record(_ b: CommittedBlock) {
        height.set(Double(b.head.height))
        blocks.increment()
        transactions.increment(by: Int64(b.block.transactions.count))
        reExecutions.increment(by: Int64(b.statistics.reExecutions))
        aborts.increment(by: Int64(b.statistics.validationAborts))
        failedOrDiscarded.increment(by: Int64(b.receipts.lazy.filter { $0.status != .success }.count))
        executeTime.record(.nanoseconds(Int64(b.executeNanos)))
        commitTime.record(.nanoseconds(Int64(b.commitNanos)))
        blockTime.record(.nanoseconds(Int64(b.executeNanos + b.commitNanos)))
        blockSize.record(Double(b.block.transactions.count))
    }

    func render(node: Node, blobs: BlobStore?, events: EventBudget) -> [UInt8] {
        if let blobs { blobBytes.set(Double(blobs.usedBytes)) }
        subscribers.set(Double(events.subscriberCount))
        subscriberQueuedBytes.set(Double(events.queuedBytes))
        mempoolSize.set(Double(node.mempool.count))
        mempoolSenders.set(Double(node.mempool.senders))
        tps.set(node.throughput().perSecond)
        var out: [UInt8] = []
        registry.emit(into: &out)
        return out
    }
}
