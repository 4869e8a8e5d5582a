import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// The command line that confines a job. Resource limits come first, from prlimit: RLIMIT_CORE 0, bounded
// processes and descriptors, and RLIMIT_AS as a hard backstop behind the memory sampling, but only without
// GPUs, since CUDA maps far more address space than it uses. The address-space limit is twice the memory
// limit plus 1 GiB: a runaway allocation is refused at once, while thread stacks, allocator arenas and
// mapped libraries, which reserve much more than they touch, still fit.
//
// With bubblewrap the job gets new user, PID, network, IPC, UTS and cgroup namespaces, no capabilities, a
// root holding only /usr (read-only, with the merged-/usr links /bin, /lib, … recreated as on the host) and
// the few files of /etc that the dynamic loader, `cc` and TLS need, a fresh /proc, a minimal read-only /dev,
// a private /tmp and /dev/shm (bounded tmpfs), and the job directory read-write at /job: nothing else is
// writable, the root included. Nothing else of the host is there: not the provider's keys,
// its other jobs, /root or /home. With GPUs, the NVIDIA device nodes are added. The environment is rebuilt
// from nothing, and is the same on every provider (HOME=/job), so honest providers compute the same result.

struct SandboxInvocation {
    /// argv; `arguments[0]` is an absolute path.
    var arguments: [String]
    var environment: [String]
    var workingDirectory: String?
    /// Whether bubblewrap reports the job's exit on descriptor 3.
    var statusDescriptor: Bool
    /// Whether RLIMIT_AS was set.
    var addressSpaceLimited: Bool

    static let path = "/usr/local/bin:/usr/bin:/bin"
    static let maxProcesses = 4096
    static let maxOpenFiles = 8192

    static func make(
        kind: SandboxKind, request: RunRequest, prlimit: String, privateTemp: URL?
    ) -> SandboxInvocation {
        let gpu = !request.gpuDevices.isEmpty
        var limits = [prlimit, "--core=0", "--nproc=\(maxProcesses)", "--nofile=\(maxOpenFiles)"]
        if !gpu { limits.append("--as=\(addressSpace(for: request.limits.memoryBytes))") }
        limits.append("--")

        switch kind {
        case .bubblewrap(let bwrap):
            var arguments = limits + [bwrap]
            arguments += bubblewrapOptions(
                gpu: gpu, temporaryBytes: request.limits.memoryBytes, job: request.jobDirectory.standardizedFileURL.path
            )
            arguments += ["--json-status-fd", "3", "--"] + request.command
            return SandboxInvocation(
                arguments: arguments, environment: environment(request, home: "/job", temp: "/tmp"),
                workingDirectory: nil, statusDescriptor: true, addressSpaceLimited: !gpu)
        case .prlimit, .prlimitNoNetwork:
            var arguments = limits
            if case .prlimitNoNetwork(let unshare) = kind { arguments += [unshare, "--net", "--"] }
            arguments += request.command
            let directory = request.jobDirectory.standardizedFileURL.path
            return SandboxInvocation(
                arguments: arguments,
                environment: environment(request, home: directory, temp: privateTemp?.path ?? directory),
                workingDirectory: directory, statusDescriptor: false, addressSpaceLimited: !gpu)
        }
    }

    /// prlimit's value for RLIMIT_AS: twice the memory limit plus 1 GiB.
    static func addressSpace(for memory: UInt64) -> String {
        let slack: UInt64 = 1 << 30
        guard memory <= (UInt64.max - slack) / 2 else { return "unlimited" }
        return String(memory * 2 + slack)
    }

    /// The job's whole environment, sorted: fixed entries, then the request's, then the GPU selection (which
    /// the job cannot override).
    static func environment(_ request: RunRequest, home: String, temp: String) -> [String] {
        var variables = ["HOME": home, "PATH": path, "LANG": "C.UTF-8", "TMPDIR": temp]
        variables.merge(request.environment) { _, new in new }
        variables["CUDA_VISIBLE_DEVICES"] = request.gpuDevices.joined(separator: ",")
        variables["NVIDIA_VISIBLE_DEVICES"] =
            request.gpuDevices.isEmpty ? "none" : request.gpuDevices.joined(separator: ",")
        return variables.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    }

    /// bubblewrap's options: the root, the devices, the job directory (`job`, or an empty tmpfs when nil),
    /// the namespaces. The tmpfs mounts (/tmp, /dev/shm) hold at most `temporaryBytes` each: their pages are
    /// memory that no process's resident size shows. The root and /dev are read-only.
    static func bubblewrapOptions(gpu: Bool, temporaryBytes: UInt64, job: String?) -> [String] {
        var arguments = ["--ro-bind", "/usr", "/usr"]
        for directory in ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] {
            var info = stat()
            guard lstat(directory, &info) == 0 else { continue }
            if info.st_mode & S_IFMT == S_IFLNK, let target = readLink(directory) {
                arguments += ["--symlink", target, directory]
            } else if info.st_mode & S_IFMT == S_IFDIR {
                arguments += ["--ro-bind", directory, directory]
            }
        }
        for file in ["/etc/ld.so.cache", "/etc/alternatives", "/etc/ssl/certs", "/etc/ca-certificates"] {
            arguments += ["--ro-bind-try", file, file]
        }
        let size = String(max(temporaryBytes, 1 << 20))
        arguments += ["--proc", "/proc", "--dev", "/dev", "--size", size, "--tmpfs", "/dev/shm"]
        arguments += ["--size", size, "--tmpfs", "/tmp"]
        if gpu {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: "/dev")) ?? []
            for name in names.sorted() where name.hasPrefix("nvidia") {
                arguments += ["--dev-bind", "/dev/" + name, "/dev/" + name]
            }
        }
        arguments += job.map { ["--bind", $0, "/job"] } ?? ["--tmpfs", "/job"]
        arguments += ["--chdir", "/job", "--remount-ro", "/dev", "--remount-ro", "/"]
        arguments += [
            "--unshare-all", "--hostname", "sluice", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
        ]
        return arguments
    }

    private static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
