import Foundation
import SluiceJobs

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
//
// bubblewrap reads its options from a descriptor (--args 4), and gets the job's folder as descriptor 5
// (--bind-fd), not as a path on its command line: inside the PID namespace
// bubblewrap is process 1, and its command line, which any job can read at /proc/1/cmdline, would show the
// provider's paths. A provider running as root runs the job as a user of its own (setpriv, after prlimit):
// the kernel does not count root's processes against RLIMIT_NPROC, so only then does the process limit
// hold. RLIMIT_FSIZE bounds a single file by the disk limit; the folder's total is sampled by the sandbox.

struct SandboxInvocation {
    /// argv; `arguments[0]` is an absolute path.
    var arguments: [String]
    var environment: [String]
    var workingDirectory: String?
    /// Whether bubblewrap reports the job's exit on descriptor 3.
    var statusDescriptor: Bool
    /// Whether RLIMIT_AS was set.
    var addressSpaceLimited: Bool
    /// bubblewrap's options, to be read from descriptor 4 (NUL-separated); nil without bubblewrap.
    var bubblewrapArguments: [String]?

    /// The unprivileged user a job runs as: setpriv's path and the uid (also the gid).
    struct User {
        var setpriv: String
        var uid: UInt32
    }

    static let path = "/usr/local/bin:/usr/bin:/bin"
    static let maxProcesses = 4096
    static let maxOpenFiles = 8192

    static func make(
        kind: SandboxKind, request: RunRequest, prlimit: String, privateTemp: URL?, user: User? = nil
    ) -> SandboxInvocation {
        let gpu = !request.gpuDevices.isEmpty
        var limits = [prlimit, "--core=0", "--nproc=\(request.limits.maxProcesses)", "--nofile=\(maxOpenFiles)"]
        if !gpu { limits.append("--as=\(addressSpace(for: request.limits.memoryBytes))") }
        if let disk = request.limits.diskBytes { limits.append("--fsize=\(disk)") }
        limits.append("--")
        // The job's user is taken last: a network namespace (unshare) needs root to be made.
        let becomeUser =
            user.map { [$0.setpriv, "--reuid=\($0.uid)", "--regid=\($0.uid)", "--clear-groups", "--"] } ?? []

        switch kind {
        case .bubblewrap(let bwrap):
            let options =
                bubblewrapOptions(gpu: gpu, temporaryBytes: request.limits.memoryBytes, jobDescriptor: true)
                + ["--json-status-fd", "3"]
            return SandboxInvocation(
                arguments: limits + becomeUser + [bwrap, "--args", "4", "--"] + request.command,
                environment: environment(request, home: "/job", temp: "/tmp"),
                workingDirectory: nil, statusDescriptor: true, addressSpaceLimited: !gpu, bubblewrapArguments: options)
        case .prlimit, .prlimitNoNetwork:
            var arguments = limits
            if case .prlimitNoNetwork(let unshare) = kind { arguments += [unshare, "--net", "--"] }
            arguments += becomeUser + request.command
            let directory = request.jobDirectory.standardizedFileURL.path
            return SandboxInvocation(
                arguments: arguments,
                environment: environment(request, home: directory, temp: privateTemp?.path ?? directory),
                workingDirectory: directory, statusDescriptor: false, addressSpaceLimited: !gpu,
                bubblewrapArguments: nil)
        }
    }

    /// An unlinked file holding `arguments` NUL-separated, opened for reading: bubblewrap's --args.
    static func argumentFile(_ arguments: [String]) -> Int32? {
        var template = Array("/tmp/sluice-bwrap-args-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { return nil }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        var bytes: [UInt8] = []
        for argument in arguments { bytes += Array(argument.utf8) + [0] }
        guard SafeFile.writeAll(fd, bytes) else {
            close(fd)
            return nil
        }
        guard lseek(fd, 0, SEEK_SET) == 0 else {
            close(fd)
            return nil
        }
        return fd
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

    /// bubblewrap's options: the root, the devices, the job directory (descriptor 5 with `jobDescriptor`,
    /// opened by the provider, so the job's user needs no access to the path above it; else an empty tmpfs),
    /// the namespaces. The tmpfs mounts (/tmp, /dev/shm) hold at most `temporaryBytes` each: their pages are
    /// memory that no process's resident size shows. The root and /dev are read-only.
    static func bubblewrapOptions(gpu: Bool, temporaryBytes: UInt64, jobDescriptor: Bool) -> [String] {
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
        arguments += jobDescriptor ? ["--bind-fd", "5", "/job"] : ["--tmpfs", "/job"]
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
