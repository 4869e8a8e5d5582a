import Foundation
import Logging
import SluiceAPI
import SluiceClient
import SluiceCore
import SluiceJobs
import SluiceState

// Following blocks: heartbeats, the jobs and audits the events name, running them, committing, revealing,
// uploading, and what they paid.

extension ProviderAgent {
    /// One block: a heartbeat when due, then whatever the block's events say concerns this provider (a job
    /// matched to it, an audit drawn for it, a delivery taken, a settlement, a proof round). The assigned
    /// jobs and the provider record are read only then (and, as a safety net, every `jobsReadBlocks` while
    /// jobs are in flight and every `recordReadBlocks`): nothing is polled per block.
    func onBlock(_ event: BlockEventJSON) async {
        let height = event.height
        status.height = height
        if height >= lastHeartbeat + configuration.heartbeatBlocks {
            lastHeartbeat = height
            do { try await sender.send(.providerHeartbeat) } catch {
                logger.warning("heartbeat not sent: \(error)")
            }
        }
        let mine = Self.eventsNaming(address, in: event)
        if mine.contains(where: { $0.kind.hasPrefix("proof.") }) { nextRecordRead = 0 }
        if mine.contains(where: { !$0.kind.hasPrefix("proof.") && $0.kind != "provider.heartbeat" }) {
            jobsToRead = true
        }
        await answerChallenges(height: height)
        let inFlight = jobs.values.contains { $0.phase != .finished }
        guard jobsToRead || (inFlight && height >= lastJobsRead + Self.jobsReadBlocks) else { return publish() }
        let assigned: [JobJSON]
        do { assigned = try await client.providerJobs(address).jobs } catch {
            logger.warning("cannot read assigned jobs: \(error)")
            return
        }
        jobsToRead = false
        lastJobsRead = height
        var seen = Set<Hash>()
        for job in assigned {
            seen.insert(job.id)
            await advance(job, height: height)
        }
        // Jobs of ours that left the active list ended on chain: settled, expired or disputed.
        for (id, local) in jobs where !seen.contains(id) && local.phase != .running && local.phase != .ran {
            await finish(id)
        }
        publish()
    }

    /// The events of a block that name `address` (as provider, auditor, payee or sender).
    static func eventsNaming(_ address: Address, in event: BlockEventJSON) -> [EventJSON] {
        let all = event.receipts.flatMap(\.events) + event.blockEvents
        return all.filter { e in
            e.provider == address || e.auditor == address || e.account == address || e.from == address
                || e.providers?.contains(address) == true || e.payouts?.contains { $0.provider == address } == true
        }
    }

    /// Moves one assigned job on: start it, commit, reveal, or resend what the chain has not taken.
    func advance(_ job: JobJSON, height: UInt64) async {
        if job.auditor == address && job.auditResult == nil {
            return await advanceAudit(job, height: height)
        }
        guard let mine = job.assigned.first(where: { $0.provider == address }), !sending.contains(job.id) else {
            return
        }
        sending.insert(job.id)
        defer { sending.remove(job.id) }
        var local = jobs[job.id]
        if local == nil {
            guard job.status == .matched, mine.commitment == nil else { return }
            guard runningTasks.count < configuration.maxJobs else { return }
            start(job)
            return
        }
        let resendAfter: UInt64 = 20
        switch (job.status, local!.phase) {
        case (.matched, .ran):
            await sendCommit(&local!, height: height)
        case (.matched, .committed) where mine.commitment == nil && height > (local!.sentHeight ?? 0) + resendAfter:
            await sendCommit(&local!, height: height)
        case (.committed, .ran), (.committed, .committed):
            if mine.commitment != nil { await sendReveal(&local!, height: height) }
        case (.committed, .revealed) where mine.result == nil && height > (local!.sentHeight ?? 0) + resendAfter:
            await sendReveal(&local!, height: height)
        default:
            break
        }
        jobs[job.id] = local
    }

    /// A job this provider was drawn to audit: run it like any job, then report the result (the k
    /// results are public by now, so there is nothing to commit to first).
    func advanceAudit(_ job: JobJSON, height: UInt64) async {
        guard !sending.contains(job.id) else { return }
        sending.insert(job.id)
        defer { sending.remove(job.id) }
        guard var local = jobs[job.id] else {
            guard runningTasks.count < configuration.maxJobs else { return }
            logger.info("job \(job.id.hex): drawn as its auditor (\(job.auditKind?.name ?? "audit"))")
            start(job, audit: true)
            return
        }
        let resendAfter: UInt64 = 20
        switch local.phase {
        case .ran:
            await sendAuditReport(&local, height: height)
        case .revealed where height > (local.sentHeight ?? 0) + resendAfter:
            await sendAuditReport(&local, height: height)
        default:
            break
        }
        jobs[job.id] = local
    }

    func start(_ job: JobJSON, audit: Bool = false) {
        // The job runs on the device class the chain matched it at: that class's GPUs only.
        let device = audit ? job.auditDevice : job.assigned.first { $0.provider == address }?.device
        var pool = gpuIndices
        if let device, let offer, Int(device) < devices.count {
            let ofClass = offer.gpuIndices(for: devices[Int(device)]).map(String.init)
            if !ofClass.isEmpty { pool = ofClass }
        }
        let free = pool.filter { !gpusInUse.contains($0) }
        let count = Int(job.spec.gpuCount)
        let gpus = gpuIndices.isEmpty ? [] : Array(free.prefix(count))
        guard gpuIndices.isEmpty || gpus.count == count else {
            logger.warning("job \(job.id.hex) needs \(count) GPUs, \(free.count) free: waiting")
            return
        }
        gpusInUse.formUnion(gpus)
        let local = LocalJob(id: job.id, gpus: gpus, audit: audit)
        jobs[job.id] = local
        try? work.save(local)
        status.running += 1
        logger.info(
            "job \(job.id.hex): assigned; running on \(gpus.isEmpty ? "CPU" : "GPU " + gpus.joined(separator: ","))")
        let spec = job.spec
        let folder = work.folder(job.id)
        let client = self.client
        let sandbox = self.sandbox
        let wrong = configuration.faults.wrongResult
        let ceilings = configuration.ceilings
        let logger = self.logger
        runningTasks[job.id] = Task {
            let outcome: Result<JobExecution, any Error>
            do {
                outcome = .success(
                    try await JobExecution.run(
                        spec: spec, folder: folder, gpus: gpus, client: client, sandbox: sandbox, wrongResult: wrong,
                        ceilings: ceilings, logger: logger))
            } catch {
                outcome = .failure(error)
            }
            await self.ran(job.id, outcome)
        }
    }

    func ran(_ id: Hash, _ outcome: Result<JobExecution, any Error>) async {
        runningTasks[id] = nil
        jobsToRead = true
        status.running -= 1
        guard var local = jobs[id] else { return }
        gpusInUse.subtract(local.gpus)
        switch outcome {
        case .failure(let error):
            // Nothing to commit to (the bundle could not be fetched): the job will pass its deadline.
            logger.error("job \(id.hex): \(error)")
            local.phase = .finished
            local.chainStatus = "abandoned"
            jobs[id] = nil
            try? work.save(local)
            return
        case .success(let execution):
            local.result = execution.resultHash
            local.logs = execution.logsHash
            local.usageSeconds = execution.usageSeconds
            local.status = execution.summary.status.rawValue
            local.wallSeconds = execution.wallSeconds
            var salt = [UInt8](repeating: 0, count: 32)
            var rng = SystemRandomNumberGenerator()
            for i in salt.indices { salt[i] = UInt8.random(in: 0...255, using: &rng) }
            local.salt = Hash.sha256(salt)
            local.phase = .ran
            logger.info(
                "job \(id.hex): \(execution.summary.status.rawValue) in \(String(format: "%.2f", execution.wallSeconds)) s, result \(execution.resultHash.hex)"
            )
        }
        do { try work.save(local) } catch { logger.error("job \(id.hex): \(error)") }
        jobs[id] = local
        guard !sending.contains(id) else { return }  // the next block sends the commit
        sending.insert(id)
        if local.audit == true {
            await sendAuditReport(&local, height: status.height)
        } else {
            await sendCommit(&local, height: status.height)
        }
        sending.remove(id)
        jobs[id] = local
        publish()
    }

    func sendCommit(_ local: inout LocalJob, height: UInt64) async {
        guard let result = local.result, let salt = local.salt else { return }
        let commitment = JobCommitment.make(job: local.id, provider: address, result: result, salt: salt)
        do {
            try await sender.send(.jobCommit(job: local.id, commitment: commitment))
            local.phase = .committed
            local.sentHeight = height
            try work.save(local)
        } catch {
            logger.warning("job \(local.id.hex): commit not sent: \(error)")
        }
    }

    func sendReveal(_ local: inout LocalJob, height: UInt64) async {
        guard let result = local.result, let salt = local.salt else { return }
        do {
            // The result goes up first: once the reveal is on chain, the consumer may ask for it.
            let logs = try await uploadResult(local)
            try await sender.send(
                .jobReveal(job: local.id, result: result, salt: salt, usageSeconds: local.usageSeconds, logs: logs))
            local.phase = .revealed
            local.sentHeight = height
            try work.save(local)
        } catch {
            logger.warning("job \(local.id.hex): reveal not sent: \(error)")
        }
    }

    /// Uploads the audit's result and logs, then `audit.report`.
    func sendAuditReport(_ local: inout LocalJob, height: UInt64) async {
        guard let result = local.result else { return }
        do {
            let logs = try await uploadResult(local)
            try await sender.send(
                .auditReport(job: local.id, result: result, usageSeconds: local.usageSeconds, logs: logs))
            local.phase = .revealed
            local.sentHeight = height
            try work.save(local)
        } catch {
            logger.warning("job \(local.id.hex): audit report not sent: \(error)")
        }
    }

    /// Uploads the result (and the logs, when kept); returns the logs blob's hash or zero.
    func uploadResult(_ local: LocalJob) async throws -> Hash {
        let folder = work.folder(local.id)
        // Named as the job's, so the node keeps them out of the share anonymous uploads may fill.
        try await client.putBlob([UInt8](Data(contentsOf: folder.appendingPathComponent("result.tar"))), job: local.id)
        if local.logs != nil, let bytes = try? Data(contentsOf: folder.appendingPathComponent("logs.tar")) {
            return try await client.putBlob([UInt8](bytes), job: local.id)
        }
        return .zero
    }

    func finish(_ id: Hash) async {
        guard var local = jobs[id] else { return }
        do {
            guard let job = try await client.job(id) else { return }
            local.chainStatus = job.status.name
            local.paid =
                local.audit == true ? job.auditPaid : job.assigned.first { $0.provider == address }?.paid
            local.phase = .finished
            try work.save(local)
            // Settled and uploaded: only state.json stays, the record of what the job paid.
            work.clean(id)
            jobs[id] = nil
            status.done += 1
            status.earned += local.paid?.value ?? 0
            logger.info("job \(id.hex): \(job.status.name); paid \(local.paid ?? .zero)")
        } catch {
            logger.warning("job \(id.hex): cannot read its end: \(error)")
        }
    }

    func publish() { onStatus(status) }
}
