import Foundation
import SluiceAPI
import SluiceCore
import Testing

@testable import SluiceCommands

// Issue #13 with real processes: a consumer's job that plants a link at the name the agent writes its
// summary to and leaves outputs no result can hold, run by the devnet's two agents; and the agents of a
// devnet killed with SIGKILL, which must end with it and never run twice on one work dir.

@Suite("Hostile jobs and agents' lifetimes, real processes", .serialized)
struct HostileJobTests {
    @Test func aHostileJobEndsAsAJobFailureAndTouchesNoHostFile() throws {
        let binary = try #require(sluiceBinary(), "the sluice executable was not built next to the tests")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-hostile-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = dir + "/devnet"
        let victim = dir + "/victim.txt"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "precious".write(toFile: victim, atomically: true, encoding: .utf8)
        let devnet = try DevnetProcess(
            binary: binary, data: data, extra: ["--providers", "2", "--provider-gpus", "none"])
        defer { _ = devnet.stop() }
        let providers = try waitForProviders(2, node: devnet.base)

        // The summary's name is a link to a host file; the outputs hold a FIFO.
        let job = dir + "/hostile"
        try writeJobFile(
            folder: job, name: "hostile",
            command: [
                "sh", "-c",
                "mkdir -p out && echo ok > out/ok.txt && mkfifo out/pipe && ln -s \(victim) sluice-result.json",
            ],
            outputs: ["out/**"], maxDuration: "30s")
        let out = dir + "/result"
        let submitted = try runSluice([
            "job", "submit", job + "/job.toml", "--key", data + "/keys/dev-0.json", "--node", devnet.base, "--wait",
            "--out", out, "--job-timeout", "90s", "--json",
        ])
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious")
        let summary = (try? String(contentsOfFile: out + "/sluice-result.json", encoding: .utf8)) ?? ""
        #expect(
            summary.contains("\"status\" : \"bad-outputs\"") && summary.contains("FIFO"),
            "\(summary)\n\(submitted.out)\n\(submitted.err)")

        // Both providers agreed on the failure, were paid for their time, and nobody was slashed.
        let settled = try APIJSON.decoder().decode(JobJSON.self, from: Data(submitted.out.utf8))
        let id = settled.id.hex
        #expect(settled.status == .settled && settled.failedProviders.isEmpty, "\(settled)")
        #expect(settled.assigned.count == 2 && settled.assigned.allSatisfy { ($0.paid?.value ?? 0) > 0 }, "\(settled)")
        for provider in providers.providers {
            let record = try APIJSON.decoder().decode(
                ProviderJSON.self,
                from: Data(
                    runSluice(["provider", "show", provider.address.hex, "--node", devnet.base, "--json"]).out.utf8))
            #expect(record.stake == provider.stake, "\(record)")
        }
        // Settled and uploaded: the agents removed the job's files, keeping its state.
        for n in 1...2 {
            let folder = "\(data)/providers/\(n)/work/jobs/\(id.dropFirst(2))"
            var left: [String] = []
            let deadline = Date().addingTimeInterval(20)
            repeat {
                left = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
                if left != ["state.json"] { usleep(200_000) }
            } while left != ["state.json"] && Date() < deadline
            #expect(left == ["state.json"], "provider \(n) left \(left)")
        }
    }

    @Test func keyFilesAreNeverReadableByOthersNorReplaced() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-keys-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/alice.json"
        let made = try runSluice(["keys", "new", "--out", path])
        #expect(made.status == 0, "\(made.err)")
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode.map { $0 & 0o777 } == 0o600)
        let before = try String(contentsOfFile: path, encoding: .utf8)
        let again = try runSluice(["keys", "new", "--out", path])
        #expect(again.status != 0 && again.err.contains("already exists"), "\(again.err)")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["alice.json"])
        // A key others can read still loads, with a warning that says how to fix it.
        chmod(path, 0o644)
        let shown = try runSluice(["keys", "show", path])
        #expect(shown.err.contains("chmod 600"), "\(shown.out) \(shown.err)")
    }

    @Test func agentsEndWithAKilledDevnetAndNeverShareAWorkDir() throws {
        let binary = try #require(sluiceBinary(), "the sluice executable was not built next to the tests")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-orphans-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = dir + "/devnet"
        let devnet = try DevnetProcess(
            binary: binary, data: data, extra: ["--providers", "1", "--provider-gpus", "none"])
        try waitForProviders(1, node: devnet.base)
        let work = data + "/providers/1/work"
        let pid = try #require(
            Int32(
                try String(contentsOfFile: work + "/agent.lock", encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(alive(pid))

        // A second agent on the same work dir is refused while the first holds it.
        let second = try runSluice([
            "provider", "run", "--node", devnet.base, "--key", data + "/providers/1/key.json", "--work", work,
            "--gpus", "none",
        ])
        #expect(second.status != 0)
        #expect(second.err.contains("another agent (pid \(pid)) is using the work dir"), "\(second.err)")

        // SIGKILL: the devnet cannot stop its agent; the agent sees its parent gone and stops by itself.
        _ = devnet.stop(signal: SIGKILL)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline && alive(pid) { usleep(100_000) }
        #expect(!alive(pid), "the agent \(pid) outlived its devnet")
        if alive(pid) { kill(pid, SIGKILL) }
    }

    /// Running, not a zombie waiting for a reaper.
    func alive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return !stat[close...].hasPrefix(") Z")
    }
}
