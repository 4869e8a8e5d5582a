import Foundation
import SluiceAPI
public import SluiceCore
import SluiceJobs

/// What the agent knows of one of its jobs, kept in `<work>/jobs/<id>/state.json` so that a restarted
/// agent goes on where it stopped: the salt of a commitment must survive a crash, or the reveal is lost.
public struct LocalJob: Codable, Sendable, Equatable {
    public enum Phase: String, Codable, Sendable {
        /// Downloading, unpacking or running (a restarted agent runs it again).
        case running
        /// Ran; the result archive is in the job's folder, the commitment not yet on chain.
        case ran
        /// Its commitment was sent.
        case committed
        /// Its reveal was sent (the result uploaded first).
        case revealed
        /// Settled, expired or disputed on chain: nothing more to do.
        case finished
    }

    public var id: Hash
    /// The agent is the job's auditor (it reports with `audit.report` instead of commit and reveal).
    public var audit: Bool?
    public var phase: Phase
    public var gpus: [String]
    public var result: Hash?
    /// The blob of the run's stdout and stderr (uploaded with the result, named in the reveal).
    public var logs: Hash?
    public var salt: Hash?
    public var usageSeconds: UInt64
    /// How the run ended (`sluice-result.json`'s status) and the wall time it took.
    public var status: String?
    public var wallSeconds: Double?
    /// The height at which the last commit or reveal was sent: resent when the chain has not taken it
    /// some blocks later.
    public var sentHeight: UInt64?
    /// The job's end on chain and what this provider was paid.
    public var chainStatus: String?
    public var paid: Amount?

    public init(id: Hash, gpus: [String], audit: Bool = false) {
        self.id = id
        self.audit = audit ? true : nil
        phase = .running
        self.gpus = gpus
        usageSeconds = 0
    }
}

/// The agent's work dir: one folder per job.
struct WorkDirectory: Sendable {
    let root: URL

    /// Takes the work dir for this process: an exclusive lock on `agent.lock`, held until the descriptor is closed
    /// (or the process ends). Two agents on one work dir would run each job twice with different
    /// salts, and one of them would reveal what it did not commit to. Waits up to `wait` for an agent that is
    /// stopping.
    /// - Returns: the lock's descriptor.
    func lock(wait: Duration = .zero) throws -> Int32 {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let path = root.appendingPathComponent("agent.lock").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw AgentError("cannot open \(path): \(String(cString: strerror(errno)))") }
        let deadline = ContinuousClock.now + wait
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, ContinuousClock.now < deadline else {
                var holder = [UInt8](repeating: 0, count: 32)
                let n = pread(fd, &holder, holder.count, 0)
                let pid = String(decoding: holder.prefix(max(0, n)), as: UTF8.self)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                close(fd)
                throw AgentError(
                    "another agent\(pid.isEmpty ? "" : " (pid \(pid))") is using the work dir \(root.path): stop it, "
                        + "or give this one another --work")
            }
            usleep(100_000)
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, text, text.count, 0)
        return fd
    }

    var jobs: URL { root.appendingPathComponent("jobs") }

    func folder(_ id: Hash) -> URL { jobs.appendingPathComponent(String(id.hex.dropFirst(2))) }

    func save(_ job: LocalJob) throws {
        let folder = folder(job.id)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let temporary = folder.appendingPathComponent("state.json.tmp")
        try encoder.encode(job).write(to: temporary)
        // Synced before the rename, so the salt is on disk before the commitment leaves.
        let fd = open(temporary.path, O_RDONLY)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
        guard rename(temporary.path, folder.appendingPathComponent("state.json").path) == 0 else {
            throw AgentError("cannot save \(folder.path)/state.json: \(String(cString: strerror(errno)))")
        }
    }

    /// Removes what a finished job left in its folder (its run's files, result and logs), keeping state.json.
    func clean(_ id: Hash) {
        let folder = folder(id)
        for name in ["job", "job.tmp", "result.tar", "logs.tar", "stdout.txt", "stderr.txt"] {
            SafeFile.removeTree(folder.appendingPathComponent(name))
        }
    }

    /// Every job with a state file.
    func load() -> [LocalJob] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: jobs.path) else { return [] }
        return names.sorted().compactMap { name in
            guard let data = FileManager.default.contents(atPath: jobs.path + "/" + name + "/state.json") else {
                return nil
            }
            return try? JSONDecoder().decode(LocalJob.self, from: data)
        }
    }
}

public struct AgentError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}
