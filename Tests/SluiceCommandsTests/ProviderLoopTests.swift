import Foundation
import SluiceAPI
import SluiceCore
import SluiceRuntime
import SluiceState
import Testing

@testable import SluiceCommands

// The whole market loop with real processes: `sluice devnet` with two CPU provider agents (each its own
// process, key and work dir), a consumer submitting examples/render/job.toml with k = 2, the agents
// running it in the sandbox, committing, uploading and revealing, the chain settling, and the consumer
// downloading the result and checking it against the hash on chain.

/// The repository's root (for examples/).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

@Suite("Provider agents and jobs end to end, real processes", .serialized)
struct ProviderLoopTests {
    func json<T: Decodable>(_ text: String, as _: T.Type = T.self) throws -> T {
        try APIJSON.decoder().decode(T.self, from: Data(text.utf8))
    }

    @Test func renderJobSettlesPaysBothProvidersAndRefunds() throws {
        let binary = try #require(sluiceBinary(), "the sluice executable was not built next to the tests")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-loop-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = dir + "/devnet"
        let devnet = try DevnetProcess(
            binary: binary, data: data, extra: ["--providers", "2", "--provider-gpus", "none"])
        defer { _ = devnet.stop() }

        // Both agents registered (their keys were funded by the devnet first).
        let list = try waitForProviders(2, node: devnet.base)
        #expect(list.providers.allSatisfy { $0.devices.first?.model == "cpu" })

        let consumer = try KeyFile.load(path: data + "/keys/dev-0.json")[0].address
        let before = try json(
            runSluice(["account", "show", consumer.hex, "--node", devnet.base, "--json"]).out, as: AccountInfoJSON.self)
        let out = dir + "/result"
        let submitted = try runSluice([
            "job", "submit", repositoryRoot.path + "/examples/render/job.toml", "--key", data + "/keys/dev-0.json",
            "--node", devnet.base, "--wait", "--out", out, "--json",
        ])
        #expect(submitted.status == 0, "\(submitted.out)\n\(submitted.err)\n\(agentLogs(data))")
        let job = try json(submitted.out, as: JobJSON.self)
        #expect(job.status == .settled)
        #expect(job.spec.redundancy == 2 && job.assigned.count == 2)
        #expect(Set(job.assigned.map(\.provider)) == Set(list.providers.map(\.address)))
        // Both providers paid for the seconds they used, at their ask.
        for a in job.assigned {
            #expect((a.paid?.value ?? 0) > 0, "\(a)")
            #expect(a.result == job.result)
        }
        // The result on disk is the one on chain: the blob the node serves hashes to it, and the unpacked
        // picture is in it.
        let result = try #require(job.result)
        let image = try Data(contentsOf: URL(fileURLWithPath: out + "/out/image.ppm"))
        #expect(image.starts(with: Data("P6".utf8)) && image.count > 320 * 240 * 3)
        let summary = try String(contentsOfFile: out + "/sluice-result.json", encoding: .utf8)
        #expect(summary.contains("\"status\" : \"ok\""), "\(summary)")
        let again = dir + "/again"
        let fetched = try runSluice(["job", "result", job.id.hex, "--node", devnet.base, "--out", again])
        #expect(fetched.status == 0, "\(fetched.err)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: again + "/out/image.ppm")) == image)
        _ = result
        // Each provider's stdout and stderr, named in its reveal and fetched by hash.
        let logs = try runSluice(["job", "logs", job.id.hex, "--node", devnet.base])
        #expect(logs.status == 0, "\(logs.err)")
        #expect(logs.out.components(separatedBy: "rows 240/240").count == 3, "\(logs.out)")
        #expect(job.assigned.allSatisfy { $0.logs != nil })
        // Each provider's earnings list the job with what it was paid, less the fee (row, height, job, kind,
        // net, fee).
        let provider = try #require(job.assigned.first)
        let earnings = try runSluice(["provider", "earnings", provider.provider.hex, "--node", devnet.base, "--csv"])
        #expect(earnings.status == 0, "\(earnings.err)")
        let gross = try #require(provider.paid).value
        let fee = gross * 200 / 10_000
        #expect(
            earnings.out.contains(",\(job.id.hex),job-pay,\(gross - fee),\(fee)"),
            "\(earnings.out)")

        // The consumer paid what the providers were paid and the submission's fee; the rest came back.
        let after = try json(
            runSluice(["account", "show", consumer.hex, "--node", devnet.base, "--json"]).out, as: AccountInfoJSON.self)
        let paid = job.assigned.reduce(UInt128(0)) { $0 + ($1.paid?.value ?? 0) }
        let escrow = try #require(job.spec.spec.escrow).value
        #expect(job.escrow == .zero)
        #expect(before.balance.value - after.balance.value == paid + UInt128(MarketParameters.submitGas))
        #expect(paid < escrow)

        // A job that runs past its time limit is stopped by both sandboxes; they agree on how it ended
        // (no outputs, status timeout), so it settles and each is paid for the seconds it used, at most
        // the limit. The consumer's command says so and exits 2.
        let sleeper = dir + "/sleeper"
        try writeJobFile(
            folder: sleeper, name: "sleeper", command: ["sleep", "30"], outputs: ["never.txt"], maxDuration: "2s")
        let slept = try runSluice([
            "job", "submit", sleeper + "/job.toml", "--key", data + "/keys/dev-0.json", "--node", devnet.base, "--wait",
            "--out", dir + "/slept",
        ])
        #expect(slept.status == 2, "\(slept.out)\n\(slept.err)\n\(agentLogs(data))")
        #expect(slept.out.contains("timeout") && slept.out.contains("settled"), "\(slept.out)")
        let timedOut = try String(contentsOfFile: dir + "/slept/sluice-result.json", encoding: .utf8)
        #expect(timedOut.contains("\"status\" : \"timeout\""), "\(timedOut)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/slept/never.txt"))
        // The agents followed the jobs through the event stream: the routes that tell a provider its jobs and
        // its record were read when a block's events named it, not once per block (issue 14). The reads
        // follow events, whose number is fixed by the jobs; the blocks follow the clock, so a ratio over
        // the whole run depends on the machine's speed (it failed in CI at 19 reads over 69 blocks). The
        // sharp check is therefore over a stretch measured in blocks: with no job in flight, 20 more blocks
        // bring at most a few reads, where per-block polling by two agents would make 40.
        let jobsRoute = "sluice_http_requests_total{route=\"GET /v1/market/providers/{address}/jobs\"}"
        let recordRoute = "sluice_http_requests_total{route=\"GET /v1/market/providers/{address}\"}"
        let metrics = try Self.metrics(devnet.base)
        let blocks = metrics["sluice_blocks_committed_total"] ?? 0
        let jobReads = metrics[jobsRoute] ?? 0
        let recordReads = metrics[recordRoute] ?? 0
        #expect(blocks > 40, "\(metrics)")
        // Read at all (on connecting, when matched): the counters are there and count.
        #expect(jobReads > 0 && recordReads > 0, "\(metrics.filter { $0.key.contains("requests") })")
        // Over the whole run, fewer than one read per block in all (per-block polling: two per block).
        #expect(jobReads < blocks, "\(jobReads) job-list reads over \(blocks) blocks")
        #expect(recordReads < blocks, "\(recordReads) record reads over \(blocks) blocks")
        // And `job submit --wait` read each job when a block's events named it (it polled every 100 ms).
        let jobStatusReads = metrics["sluice_http_requests_total{route=\"GET /v1/market/jobs/{id}\"}"] ?? 0
        #expect(jobStatusReads > 0 && jobStatusReads < blocks, "\(jobStatusReads) job reads over \(blocks) blocks")
        // The idle stretch.
        var idle = metrics
        let deadline = Date().addingTimeInterval(60)
        while (idle["sluice_blocks_committed_total"] ?? 0) < blocks + 20 && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.25)
            idle = try Self.metrics(devnet.base)
        }
        let stretch = (idle["sluice_blocks_committed_total"] ?? 0) - blocks
        #expect(stretch >= 20, "the chain made \(stretch) blocks in 60 s")
        let idleJobReads = (idle[jobsRoute] ?? 0) - jobReads
        let idleRecordReads = (idle[recordRoute] ?? 0) - recordReads
        #expect(idleJobReads <= 4, "\(idleJobReads) job-list reads over \(stretch) idle blocks")
        #expect(idleRecordReads <= 4, "\(idleRecordReads) record reads over \(stretch) idle blocks")
    }

    /// The node's Prometheus text as name{labels} → value.
    static func metrics(_ base: String) throws -> [String: Double] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [
            "python3", "-c",
            "import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())",
            base + "/metrics",
        ]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let v = Double(line[line.index(after: space)...]) else {
                continue
            }
            values[String(line[..<space])] = v
        }
        return values
    }

    @Test func aWrongResultIsAuditedTheLiarSlashedAndTheHonestPaid() throws {
        let binary = try #require(sluiceBinary(), "the sluice executable was not built next to the tests")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-fault-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = dir + "/devnet"
        // Three providers; the third reveals a wrong result and asks half the price, so the auction always
        // picks it for k = 2. The results disagree; the provider left out is drawn to audit.
        let devnet = try DevnetProcess(
            binary: binary, data: data,
            extra: [
                "--providers", "3", "--provider-gpus", "none", "--provider-fault", "wrong-result", "--market",
                "epoch_blocks=50",
            ])
        defer { _ = devnet.stop() }
        let liar = try KeyFile.load(path: data + "/providers/3/key.json")[0].address
        // All three registered first, so the auction sees the cheap liar.
        try waitForProviders(3, node: devnet.base)
        let submitted = try runSluice([
            "job", "submit", repositoryRoot.path + "/examples/render/job.toml", "--key", data + "/keys/dev-0.json",
            "--node", devnet.base, "--wait", "--out", dir + "/result", "--json", "--job-timeout", "90s",
        ])
        #expect(submitted.status == 0, "\(submitted.out)\n\(submitted.err)\n\(agentLogs(data, count: 3))")
        let job = try json(submitted.out, as: JobJSON.self)
        #expect(job.status == .settled && job.auditKind == .disagreement, "\(job)")
        let auditor = try #require(job.auditor)
        #expect(!job.assigned.contains { $0.provider == auditor })
        #expect(job.assigned.contains { $0.provider == liar })
        // The audit confirmed the honest result: that is the job's result, the honest provider and the
        // auditor are paid, the liar is not and lost half its stake.
        #expect(job.auditResult != nil && job.auditResult == job.result)
        for a in job.assigned {
            if a.provider == liar {
                #expect(a.paid == nil && a.result != job.result)
            } else {
                #expect((a.paid?.value ?? 0) > 0 && a.result == job.result)
            }
        }
        #expect((job.auditPaid?.value ?? 0) > 0)
        let shown = try runSluice(["provider", "show", liar.hex, "--node", devnet.base, "--json"])
        let record = try json(shown.out, as: ProviderJSON.self)
        #expect(record.stake == Amount(500_000), "\(record)")
        #expect(record.jobsDisputed == 1)
        // The earnings ledger: the liar's slash (negative in the CSV), and, once the epoch of the
        // settlement has ended (every 50 blocks here), the honest provider's emission next to its pay.
        let slashed = try runSluice(["provider", "earnings", "--address", liar.hex, "--node", devnet.base, "--csv"])
        #expect(slashed.status == 0 && slashed.out.contains(",\(job.id.hex),slash,-500000,0"), "\(slashed.out)")
        let honest = try #require(job.assigned.first { $0.provider != liar }).provider
        var earned = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && !earned.contains(",emission,") {
            earned = try runSluice(["provider", "earnings", honest.hex, "--node", devnet.base, "--csv"]).out
            if !earned.contains(",emission,") { usleep(200_000) }
        }
        #expect(earned.hasPrefix("row,height,job,kind,amount,fee\n"), "\(earned)")
        #expect(earned.contains(",\(job.id.hex),job-pay,") && earned.contains(",emission,"), "\(earned)")
        let rewards = try json(
            runSluice(["reward", "show", honest.hex, "--node", devnet.base, "--json"]).out, as: RewardJSON.self)
        #expect(rewards.earned > .zero && rewards.unclaimed == rewards.earned, "\(rewards)")
        // The consumer got the confirmed picture.
        let image = try Data(contentsOf: URL(fileURLWithPath: dir + "/result/out/image.ppm"))
        #expect(image.starts(with: Data("P6".utf8)))
    }

    func agentLogs(_ data: String, count: Int = 2) -> String {
        (1...count).map { n in
            "provider \(n):\n"
                + ((try? String(contentsOfFile: "\(data)/providers/\(n)/agent.log", encoding: .utf8)) ?? "")
        }.joined(separator: "\n")
    }
}
