import Foundation
import SluiceCore
import Testing

@testable import SluiceJobs
@testable import SluiceProvider

#if canImport(Glibc)
    import Glibc
#endif

// What a job leaves behind, and the limits it runs under, as an attacker would use them: links, FIFOs and
// directories at the names the provider writes or reads, more files than a result holds, a fork bomb, a disk
// filler, a look at /proc/1/cmdline. Each test failed on the code before the hardening of issue #13.

func runOutcome(_ fixture: JobFixture, _ script: String, kind: SandboxKind, limits: SandboxLimits) async throws
    -> RunOutcome
{
    let request = RunRequest(
        jobDirectory: fixture.job, command: ["sh", "-c", script], limits: limits, stdout: fixture.stdout,
        stderr: fixture.stderr)
    return try await Sandbox(kind: kind).run(request)
}

let okOutcome = RunOutcome(ending: .exited(0), wallSeconds: 1, peakMemoryBytes: 0)

func manifest(outputs: [String]) -> JobManifest {
    JobManifest(name: "t", runner: .process, command: ["true"], outputs: outputs, memoryMB: 64, maxDurationSeconds: 10)
}

@Suite struct ResultPackingTests {
    @Test func theSummaryIsNeverWrittenThroughALinkTheJobLeft() throws {
        let scratch = try ScratchDirectory("pack-link")
        try scratch.write("victim.txt", "precious")
        try scratch.write("job/out/a.txt", "a")
        try FileManager.default.createSymbolicLink(
            at: scratch.path("job/sluice-result.json"), withDestinationURL: scratch.path("victim.txt"))
        let packed = try JobResultArchive.pack(
            directory: scratch.path("job"), manifest: manifest(outputs: ["out/**"]), outcome: okOutcome)
        #expect(try scratch.read("victim.txt") == "precious")
        #expect(packed.summary.status == .ok && packed.summary.files == ["out/a.txt"])
        let files = try DeterministicTar.contents(packed.bytes)
        #expect(Set(files.keys) == ["out/a.txt", "sluice-result.json"])
        #expect(
            try JSONDecoder().decode(JobResultSummary.self, from: Data(files["sluice-result.json"]!)) == packed.summary)
    }

    @Test func aDirectoryOrFIFOAtTheSummaryNameChangesNothing() throws {
        let scratch = try ScratchDirectory("pack-dir")
        try scratch.write("job/out/a.txt", "a")
        try scratch.write("job/sluice-result.json/inner", "x")
        let packed = try JobResultArchive.pack(
            directory: scratch.path("job"), manifest: manifest(outputs: ["**"]), outcome: okOutcome)
        #expect(packed.summary.status == .ok && packed.summary.files == ["out/a.txt"])

        let other = try ScratchDirectory("pack-fifo")
        try other.write("job/out/a.txt", "a")
        #expect(mkfifo(other.path("job/sluice-result.json").path, 0o644) == 0)
        let again = try JobResultArchive.pack(
            directory: other.path("job"), manifest: manifest(outputs: ["**"]), outcome: okOutcome)
        // The same outputs give the same result, whatever the job left at the summary's name.
        #expect(again.bytes == packed.bytes)
    }

    @Test func outputsThatCannotBePackedAreAJobFailure() throws {
        let scratch = try ScratchDirectory("pack-bad")
        try scratch.write("job/out/a.txt", "a")
        #expect(mkfifo(scratch.path("job/out/pipe").path, 0o644) == 0)
        let packed = try JobResultArchive.pack(
            directory: scratch.path("job"), manifest: manifest(outputs: ["out/**"]), outcome: okOutcome)
        #expect(packed.summary.status == .badOutputs)
        #expect(packed.summary.reason?.contains("'out/pipe' is a FIFO") == true, "\(packed.summary)")
        #expect(packed.summary.files.isEmpty)
        #expect(Set(try DeterministicTar.contents(packed.bytes).keys) == ["sluice-result.json"])
        // The reason names nothing of the provider's machine, so k providers agree on it.
        #expect(packed.summary.reason?.contains(scratch.url.path) == false)

        let many = try ScratchDirectory("pack-many")
        try FileManager.default.createDirectory(at: many.path("job/out"), withIntermediateDirectories: true)
        for i in 0...JobResultArchive.maxFiles {
            FileManager.default.createFile(atPath: many.path("job/out/\(i)").path, contents: nil)
        }
        let tooMany = try JobResultArchive.pack(
            directory: many.path("job"), manifest: manifest(outputs: ["out/**"]), outcome: okOutcome)
        #expect(tooMany.summary.status == .badOutputs)
        #expect(tooMany.summary.reason?.contains("more than \(JobResultArchive.maxFiles) files") == true)
    }

    @Test func theLargestResultFitsABlob() throws {
        // 10,000 files of the longest path ustar holds, the content limit spread over them, and the summary.
        let path = String(repeating: "d", count: 150) + "/" + String(repeating: "f", count: 95)
        let headers = (JobResultArchive.maxFiles + 1) * 1024 + 1024
        let summary = JobResultSummary(
            status: .ok, exitCode: 0, files: (0..<JobResultArchive.maxFiles).map { "\(path)\($0)" })
        let worst = JobResultArchive.maxContentBytes + headers + (try summary.encoded().count)
        #expect(worst <= 256 << 20, "\(worst)")
    }
}

@Suite struct SafeFileTests {
    @Test func removingATreeRemovesLinksNotTheirTargets() throws {
        let scratch = try ScratchDirectory("remove")
        try scratch.write("outside/keep.txt", "keep")
        try scratch.write("tree/a/b.txt", "b")
        try FileManager.default.createSymbolicLink(
            at: scratch.path("tree/a/link"), withDestinationURL: scratch.path("outside"))
        try FileManager.default.createSymbolicLink(
            at: scratch.path("tree/file-link"), withDestinationURL: scratch.path("outside/keep.txt"))
        // Deeper than the remover recurses, and read-only on the way.
        var deep = "tree"
        for _ in 0..<100 { deep += "/d" }
        try scratch.write(deep + "/x", "x")
        chmod(scratch.path("tree/a").path, 0o500)
        SafeFile.removeTree(scratch.path("tree"))
        #expect(!FileManager.default.fileExists(atPath: scratch.path("tree").path))
        #expect(try scratch.read("outside/keep.txt") == "keep")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).sorted() == ["outside"])
    }

    @Test func readRefusesLinksAndDirectories() throws {
        let scratch = try ScratchDirectory("read")
        try scratch.write("secret", "s")
        try FileManager.default.createDirectory(at: scratch.path("dir"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            at: scratch.path("dir/link"), withDestinationURL: scratch.path("secret"))
        try FileManager.default.createDirectory(at: scratch.path("dir/sub"), withIntermediateDirectories: true)
        for name in ["link", "sub"] {
            let error = #expect(throws: ArchiveError.self) {
                try SafeFile.read(name, in: scratch.path("dir"), maxBytes: 100)
            }
            #expect(error?.code == .unsupportedEntry)
        }
        try scratch.write("dir/big", String(repeating: "x", count: 101))
        #expect(throws: ArchiveError.self) { try SafeFile.read("big", in: scratch.path("dir"), maxBytes: 100) }
    }
}

@Suite("Job limits the provider sets", .serialized)
struct JobLimitTests {
    @Test(.enabled(if: geteuid() == 0), arguments: allKinds)
    func aJobNeverRunsAsRoot(kind: SandboxKind) async throws {
        let fixture = try JobFixture()
        let outcome = try await runOutcome(
            fixture, "id -u; echo x > owned.txt", kind: kind,
            limits: SandboxLimits(wallSeconds: 20, memoryBytes: 256 << 20))
        #expect(outcome.ending == .exited(0), "\(outcome) \(fixture.errors())")
        let uid = UInt32(fixture.output().trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(uid != nil && uid != 0, "\(fixture.output())")
        // Its folder was its own while it ran.
        #expect(FileManager.default.fileExists(atPath: fixture.job.appendingPathComponent("owned.txt").path))
    }

    /// Two agents (two processes) must never give two jobs one uid: the end of one would kill the other.
    @Test(.enabled(if: geteuid() == 0))
    func aJobUserIsNeverSharedAcrossProcesses() throws {
        let folder = try #require(JobUsers.folder())
        // Another process holds the first free uid, as another agent running a job would.
        let mine = try #require(JobUsers.take())
        JobUsers.give(mine)
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        holder.arguments = [
            "-c",
            "import fcntl,sys,time; f=open('\(folder)/\(mine)','w'); fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(30)",
        ]
        let pipe = Pipe()
        holder.standardOutput = pipe
        try holder.run()
        defer { holder.terminate() }
        _ = pipe.fileHandleForReading.availableData  // "held"
        let other = try #require(JobUsers.take())
        defer { JobUsers.give(other) }
        #expect(other != mine)
        let third = try #require(JobUsers.take())
        defer { JobUsers.give(third) }
        #expect(third != mine && third != other)
    }

    @Test(arguments: allKinds)
    func theProcessLimitHolds(kind: SandboxKind) async throws {
        let fixture = try JobFixture()
        let forkBomb = """
            python3 -c '
            import os, time
            n = 0
            while n < 400:
                try:
                    pid = os.fork()
                except OSError:
                    break
                if pid == 0:
                    time.sleep(3)
                    os._exit(0)
                n += 1
            print(n)
            '
            """
        let outcome = try await runOutcome(
            fixture, forkBomb, kind: kind,
            limits: SandboxLimits(wallSeconds: 30, memoryBytes: 1 << 30, maxProcesses: 40))
        #expect(outcome.ending == .exited(0), "\(outcome) \(fixture.errors())")
        let forked = Int(fixture.output().trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        #expect(forked >= 0 && forked < 40, "forked \(forked): \(fixture.errors())")
    }

    @Test(arguments: allKinds)
    func theDiskLimitStopsTheJob(kind: SandboxKind) async throws {
        let fixture = try JobFixture()
        let filler = "for i in 1 2 3 4 5 6; do head -c 3000000 /dev/zero > f$i; done; sleep 20"
        let outcome = try await runOutcome(
            fixture, filler, kind: kind,
            limits: SandboxLimits(wallSeconds: 60, memoryBytes: 256 << 20, diskBytes: 8 << 20))
        #expect(outcome.ending == .diskExceeded, "\(outcome) \(fixture.errors())")
        #expect(outcome.wallSeconds < 20)

        let entries = try JobFixture()
        let spray = "mkdir d && cd d && seq 1 400 | xargs touch; sleep 20"
        let sprayed = try await runOutcome(
            entries, spray, kind: kind,
            limits: SandboxLimits(wallSeconds: 60, memoryBytes: 256 << 20, diskBytes: 1 << 30, maxDiskEntries: 100))
        #expect(sprayed.ending == .diskExceeded, "\(sprayed) \(entries.errors())")

        // One file past the limit is refused by the kernel as it is written (RLIMIT_FSIZE).
        let single = try JobFixture()
        let big = try await runOutcome(
            single, "head -c 20000000 /dev/zero > big", kind: kind,
            limits: SandboxLimits(wallSeconds: 60, memoryBytes: 256 << 20, diskBytes: 8 << 20))
        #expect(big.ending == .diskExceeded, "\(big) \(single.errors())")
        let size = (try? FileManager.default.attributesOfItem(atPath: single.job.appendingPathComponent("big").path))?[
            .size]
        #expect((size as? Int ?? 0) <= 8 << 20)
    }

    @Test(.enabled(if: bubblewrapKind != nil))
    func procOneShowsNoHostPath() async throws {
        let fixture = try JobFixture()
        let outcome = try await runOutcome(
            fixture, "tr '\\0' ' ' < /proc/1/cmdline", kind: bubblewrapKind!,
            limits: SandboxLimits(wallSeconds: 20, memoryBytes: 256 << 20))
        #expect(outcome.ending == .exited(0), "\(outcome) \(fixture.errors())")
        let cmdline = fixture.output()
        #expect(cmdline.contains("bwrap"), "\(cmdline)")
        #expect(!cmdline.contains(fixture.scratch.url.path), "\(cmdline)")
        #expect(!cmdline.contains("--bind"), "\(cmdline)")
    }
}

@Suite struct AgentWorkDirectoryTests {
    @Test func oneAgentPerWorkDir() throws {
        let scratch = try ScratchDirectory("lock")
        let work = WorkDirectory(root: scratch.path("work"))
        let held = try work.lock()
        let error = #expect(throws: AgentError.self) { try work.lock(wait: .milliseconds(300)) }
        #expect(error?.description.contains("pid \(getpid())") == true, "\(String(describing: error))")
        close(held)
        let again = try work.lock()
        close(again)
    }

    @Test func theReconnectBackoffGrows() {
        var backoff = ProviderAgent.firstBackoff
        var waits: [Duration] = []
        for _ in 0..<8 {
            waits.append(backoff)
            backoff = ProviderAgent.nextBackoff(after: backoff)
        }
        #expect(waits.prefix(4) == [.milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2)])
        #expect(waits.last == .seconds(10))
    }
}
