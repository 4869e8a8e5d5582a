import Foundation
import Testing

@testable import SluiceProvider
import SluiceJobs

#if canImport(Glibc)
    import Glibc
#endif

/// bubblewrap, when this machine can run it (CI installs it).
let detectedKind = SandboxKind.detect()
let bubblewrapKind: SandboxKind? = {
    if case .bubblewrap = detectedKind { return detectedKind }
    return nil
}()
/// The kinds every behaviour shared by all sandboxes is tested with.
let allKinds: [SandboxKind] = [bubblewrapKind, .prlimit].compactMap { $0 }

/// A job directory with a sibling holding a provider secret, and log files outside both.
struct JobFixture {
    let scratch: ScratchDirectory
    var job: URL { scratch.path("job") }
    var secrets: URL { scratch.path("secrets") }
    var stdout: URL { scratch.path("stdout.log") }
    var stderr: URL { scratch.path("stderr.log") }
    static let secret = "SECRET-PROVIDER-KEY-8f3a1c"

    init() throws {
        scratch = try ScratchDirectory("sandbox")
        try scratch.write("job/input.txt", "input\n")
        try scratch.write("secrets/provider.key", Self.secret)
    }

    func request(
        _ command: [String], wall: Double = 30, memory: UInt64 = 512 << 20, maxLog: Int = 1 << 20,
        gpus: [String] = [], environment: [String: String] = [:]
    ) -> RunRequest {
        RunRequest(
            jobDirectory: job, command: command, environment: environment, gpuDevices: gpus,
            limits: SandboxLimits(wallSeconds: wall, memoryBytes: memory, maxLogBytes: maxLog), stdout: stdout,
            stderr: stderr)
    }

    func output() -> String { (try? String(contentsOf: stdout, encoding: .utf8)) ?? "" }
    func errors() -> String { (try? String(contentsOf: stderr, encoding: .utf8)) ?? "" }
}

/// Whether any process's command line holds `marker`.
func processRunning(withMarker marker: String) -> Bool {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    for name in names where Int32(name) != nil {
        guard let data = FileManager.default.contents(atPath: "/proc/\(name)/cmdline") else { continue }
        if String(decoding: data, as: UTF8.self).contains(marker) { return true }
    }
    return false
}

/// Waits up to two seconds for processes with `marker` to be gone.
func noProcessLeft(withMarker marker: String) async -> Bool {
    for _ in 0..<40 {
        if !processRunning(withMarker: marker) { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return false
}

/// A TCP listener on 127.0.0.1 for the duration of a test.
final class Listener {
    let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        self.fd = fd
        port = UInt16(bigEndian: address.sin_port)
    }

    deinit { close(fd) }
}

@Suite(.serialized) struct SandboxTests {
    @Test(arguments: allKinds)
    func capturesExitStatusAndOutput(kind: SandboxKind) async throws {
        let fixture = try JobFixture()
        let outcome = try await Sandbox(kind: kind).run(
            fixture.request(["sh", "-c", "cat input.txt; echo out; echo err >&2; exit 3"]))
        #expect(outcome.ending == .exited(3))
        #expect(fixture.output() == "input\nout\n")
        #expect(fixture.errors() == "err\n")
        // Seconds, not milliseconds (a bound, not a timing: a loaded machine once took 25 s here).
        #expect(outcome.wallSeconds >= 0 && outcome.wallSeconds < 3_600)
        #expect(outcome.description.contains("exited with status 3"))

        let success = try await Sandbox(kind: kind).run(fixture.request(["true"]))
        #expect(success.succeeded)
    }

    @Test(arguments: allKinds)
    func unknownCommandFailsToStart(kind: SandboxKind) async throws {
        let fixture = try JobFixture()
        let outcome = try await Sandbox(kind: kind).run(fixture.request(["no-such-command-sluice"]))
        guard case .failedToStart(let why) = outcome.ending else {
            Issue.record("expected failedToStart, got \(outcome)")
            return
        }
        #expect(why.contains("no-such-command-sluice"))
        #expect(try await Sandbox(kind: kind).run(fixture.request([])).ending == .failedToStart("the command is empty"))
    }

    @Test(arguments: allKinds)
    func environmentIsRebuilt(kind: SandboxKind) async throws {
        let fixture = try JobFixture()
        setenv("SLUICE_PROVIDER_ONLY", "leaked", 1)
        let outcome = try await Sandbox(kind: kind).run(
            fixture.request(
                ["env"], gpus: ["1", "GPU-4f2c"], environment: ["SEED": "42", "CUDA_VISIBLE_DEVICES": "0,1,2,3"]))
        #expect(outcome.succeeded)
        let lines = Set(fixture.output().split(separator: "\n").map(String.init))
        #expect(lines.contains("CUDA_VISIBLE_DEVICES=1,GPU-4f2c"))
        #expect(lines.contains("NVIDIA_VISIBLE_DEVICES=1,GPU-4f2c"))
        #expect(lines.contains("SEED=42"))
        #expect(lines.contains("LANG=C.UTF-8"))
        #expect(lines.contains("PATH=/usr/local/bin:/usr/bin:/bin"))
        #expect(!lines.contains { $0.hasPrefix("SLUICE_PROVIDER_ONLY=") })
        if case .bubblewrap = kind {
            #expect(lines.contains("HOME=/job"))
        } else {
            #expect(lines.contains("HOME=\(fixture.job.standardizedFileURL.path)"))
        }

        _ = try await Sandbox(kind: kind).run(fixture.request(["env"]))
        let noGPU = Set(fixture.output().split(separator: "\n").map(String.init))
        #expect(noGPU.contains("CUDA_VISIBLE_DEVICES="))
    }

    @Test(.enabled(if: bubblewrapKind != nil))
    func onlyTheJobDirectoryIsWritable() async throws {
        let fixture = try JobFixture()
        let marker = "sluice-tmp-\(UUID().uuidString)"
        let script = """
            echo result > result.txt || exit 10
            mkdir -p out && echo frame > out/f.ppm || exit 11
            if echo x > /usr/sluice-evil 2>/dev/null; then exit 12; fi
            if echo x > \(fixture.secrets.path)/pwned 2>/dev/null; then exit 13; fi
            if echo x > ../pwned 2>/dev/null; then exit 14; fi
            echo t > /tmp/\(marker) && [ "$(cat /tmp/\(marker))" = t ] || exit 15
            if echo x > /dev/sluice-evil 2>/dev/null; then exit 16; fi
            if echo x > /sluice-evil 2>/dev/null; then exit 17; fi
            # /tmp is memory: it holds no more than the memory limit (64 MiB here).
            if head -c 100000000 /dev/zero > /tmp/big 2>/dev/null; then exit 18; fi
            exit 0
            """
        let outcome = try await Sandbox(kind: bubblewrapKind!).run(
            fixture.request(["sh", "-c", script], memory: 64 << 20))
        #expect(outcome.ending == .exited(0), "\(fixture.errors())")
        #expect(try fixture.scratch.read("job/result.txt") == "result\n")
        #expect(try fixture.scratch.read("job/out/f.ppm") == "frame\n")
        #expect(!FileManager.default.fileExists(atPath: fixture.secrets.appendingPathComponent("pwned").path))
        #expect(!FileManager.default.fileExists(atPath: fixture.scratch.path("pwned").path))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/\(marker)"))
    }

    @Test(.enabled(if: bubblewrapKind != nil))
    func theProvidersFilesAreNotVisible() async throws {
        let fixture = try JobFixture()
        let script = """
            cat ../secrets/provider.key \(fixture.secrets.path)/provider.key 2>/dev/null
            cat /proc/1/root\(fixture.secrets.path)/provider.key 2>/dev/null
            ls -a / ; ls /root /work /home 2>/dev/null
            exit 0
            """
        let outcome = try await Sandbox(kind: bubblewrapKind!).run(fixture.request(["sh", "-c", script]))
        #expect(outcome.succeeded)
        let output = fixture.output()
        #expect(!output.contains(JobFixture.secret))
        let root = Set(output.split(separator: "\n"))
        #expect(root.contains("job") && root.contains("usr") && root.contains("tmp"))
        #expect(!root.contains("root") && !root.contains("work") && !root.contains("home"))
    }

    @Test(.enabled(if: bubblewrapKind != nil))
    func noNetworkInsideButTheSameConnectionWorksOutside() async throws {
        let fixture = try JobFixture()
        let listener = try Listener()
        let connect = [
            "python3", "-c",
            "import socket; socket.create_connection(('127.0.0.1', \(listener.port)), timeout=2); print('connected')",
        ]
        var kinds: [SandboxKind] = [bubblewrapKind!]
        if geteuid() == 0, let unshare = SandboxKind.findExecutable("unshare") {
            kinds.append(.prlimitNoNetwork(unshare: unshare))
        }
        for kind in kinds {
            let inside = try await Sandbox(kind: kind).run(fixture.request(connect))
            #expect(inside.ending != .exited(0), "\(kind)")
            #expect(!fixture.output().contains("connected"))
            #expect(fixture.errors().contains("Error"), "\(kind)")
        }
        let outside = try await Sandbox(kind: .prlimit).run(fixture.request(connect))
        #expect(outside.ending == .exited(0), "\(fixture.errors())")
        #expect(fixture.output() == "connected\n")
    }

    @Test(arguments: allKinds)
    func wallClockLimitKillsTheWholeTree(kind: SandboxKind) async throws {
        let fixture = try JobFixture()
        let marker = "sluice-timeout-\(UUID().uuidString)"
        // The child leaves the process group and the session, as a daemon would.
        let code = "import os, time\nif os.fork() == 0:\n    os.setsid()\ntime.sleep(30)"
        let start = ContinuousClock.now
        let outcome = try await Sandbox(kind: kind).run(fixture.request(["python3", "-c", code, marker], wall: 1))
        #expect(outcome.ending == .timedOut)
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(outcome.wallSeconds >= 0.9 && outcome.wallSeconds < 10)
        #expect(await noProcessLeft(withMarker: marker))
    }

    @Test(arguments: allKinds)
    func leftoverProcessesAreKilledWhenTheJobExits(kind: SandboxKind) async throws {
        let fixture = try JobFixture()
        let marker = "sluice-leftover-\(UUID().uuidString)"
        let code = "import os, time\nif os.fork() == 0:\n    time.sleep(30)"
        let start = ContinuousClock.now
        let outcome = try await Sandbox(kind: kind).run(fixture.request(["python3", "-c", code, marker], wall: 20))
        #expect(outcome.ending == .exited(0))
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(await noProcessLeft(withMarker: marker))
    }

    @Test(arguments: allKinds)
    func memoryLimitKillsTheJob(kind: SandboxKind) async throws {
        let fixture = try JobFixture()
        let code = "import time\nx = b'\\x01' * (600 << 20)\nprint('allocated', flush=True)\ntime.sleep(20)"
        let outcome = try await Sandbox(kind: kind).run(fixture.request(["python3", "-c", code], memory: 200 << 20))
        #expect(outcome.ending == .memoryExceeded, "\(outcome) \(fixture.errors())")
        #expect(outcome.wallSeconds < 10)
        #expect(outcome.peakMemoryBytes > 200 << 20)
        #expect(outcome.description.contains("memory"))
    }

    @Test(arguments: allKinds)
    func addressSpaceLimitStopsAHugeAllocation(kind: SandboxKind) async throws {
        let fixture = try JobFixture()
        // 3 GiB at once is refused by RLIMIT_AS (2 × 200 MiB + 1 GiB) before any of it is resident.
        let code = "x = bytearray(3 << 30)"
        let outcome = try await Sandbox(kind: kind).run(fixture.request(["python3", "-c", code], memory: 200 << 20))
        #expect(outcome.ending == .memoryExceeded, "\(outcome) \(fixture.errors())")
        #expect(outcome.peakMemoryBytes < 200 << 20)
        #expect(fixture.errors().contains("MemoryError"))

        // With a GPU there is no RLIMIT_AS (CUDA maps huge ranges); sampling still bounds what is resident.
        let touched = "import time\nx = bytearray(3 << 30)\nx[::4096] = b'\\x01' * len(x[::4096])\ntime.sleep(20)"
        let gpu = try await Sandbox(kind: kind).run(
            fixture.request(["python3", "-c", touched], memory: 200 << 20, gpus: ["0"]))
        #expect(gpu.ending == .memoryExceeded, "\(gpu) \(fixture.errors())")
    }

    @Test(arguments: allKinds)
    func logsAreCapped(kind: SandboxKind) async throws {
        let fixture = try JobFixture()
        let code = "import sys\nsys.stdout.write('a' * 100000)\nsys.stderr.write('e' * 10)"
        let outcome = try await Sandbox(kind: kind).run(fixture.request(["python3", "-c", code], maxLog: 1000))
        #expect(outcome.succeeded)
        let output = fixture.output()
        #expect(output.hasPrefix(String(repeating: "a", count: 1000) + "\n[sluice: log truncated"))
        #expect(output.split(separator: "\n").last?.contains("dropped 99000") == true)
        #expect(fixture.errors() == String(repeating: "e", count: 10))
    }

    @Test func cancellationKillsTheJob() async throws {
        let fixture = try JobFixture()
        let marker = "sluice-cancel-\(UUID().uuidString)"
        let request = fixture.request(["python3", "-c", "import time; time.sleep(30)", marker])
        let task = Task { try await Sandbox(kind: detectedKind).run(request) }
        try await Task.sleep(for: .milliseconds(500))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(await noProcessLeft(withMarker: marker))
    }

    @Test func detectionDescribesTheIsolation() {
        switch detectedKind {
        case .bubblewrap(let path):
            #expect(detectedKind.description.contains(path))
            #expect(detectedKind.description.contains("no network"))
        case .prlimit, .prlimitNoNetwork:
            #expect(detectedKind.description.contains("NO file-system isolation"))
        }
        #expect(SandboxKind.prlimit.description.contains("NO network isolation"))
        #expect(
            Sandbox.classify(
                .exited(1), kind: .bubblewrap(path: "/usr/bin/bwrap"), statusText: "",
                stderrTail: "bwrap: No permissions to creating new namespace\n", addressSpaceLimited: true)
                == .failedToStart("bwrap: No permissions to creating new namespace"))
        #expect(Sandbox.exitCode(inStatus: "{ \"child-pid\": 5 }\n{ \"exit-code\": 137 }\n") == 137)
    }
}
