import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// A job is a tree of processes, not one: its memory is the sum over the tree, and ending it means ending
// all of it. The tree is read from /proc (each process's parent in /proc/<pid>/stat), so it includes
// processes that left the job's process group or session (bubblewrap's sandboxed child calls setsid).
// Killing freezes first: the tree is stopped with SIGSTOP until no new process appears, then everything
// gets SIGKILL, so a process cannot fork away between our reading the tree and our killing it. A process
// whose parent died earlier is reparented out of the tree; the process-group kill covers those that stay
// in the job's group, and bubblewrap's PID namespace (killed with its first process) covers the rest.

enum ProcessTree {
    struct Entry {
        var parent: pid_t
        var state: UInt8
    }

    /// Every process's parent and state, from /proc/<pid>/stat.
    static func snapshot() -> [pid_t: Entry] {
        var table: [pid_t: Entry] = [:]
        guard let proc = opendir("/proc") else { return table }
        defer { closedir(proc) }
        while let entry = readdir(proc) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            guard !name.isEmpty, name.allSatisfy({ (0x30...0x39).contains($0) }),
                let pid = pid_t(String(decoding: name, as: UTF8.self)),
                let stat = readSmallFile("/proc/\(pid)/stat")
            else { continue }
            // "pid (comm) state ppid …": comm may hold spaces and parentheses, so parse after the last ')'.
            guard let close = stat.lastIndex(of: UInt8(ascii: ")")), close + 4 < stat.count else { continue }
            let fields = stat[(close + 2)...].split(separator: 0x20, maxSplits: 2)
            guard fields.count >= 2, let state = fields[0].first,
                let parent = pid_t(String(decoding: fields[1], as: UTF8.self))
            else { continue }
            table[pid] = Entry(parent: parent, state: state)
        }
        return table
    }

    /// `root` and every process below it.
    static func descendants(of root: pid_t, in table: [pid_t: Entry]) -> [pid_t] {
        var children: [pid_t: [pid_t]] = [:]
        for (pid, entry) in table { children[entry.parent, default: []].append(pid) }
        var result: [pid_t] = table[root] == nil ? [] : [root]
        var queue = children[root] ?? []
        var seen: Set<pid_t> = [root]
        while let pid = queue.popLast() {
            guard seen.insert(pid).inserted else { continue }
            result.append(pid)
            queue.append(contentsOf: children[pid] ?? [])
        }
        return result
    }

    /// The summed resident memory of `pids` (shared pages count once per process).
    static func residentBytes(of pids: [pid_t]) -> UInt64 {
        let page = UInt64(sysconf(Int32(_SC_PAGESIZE)))
        var total: UInt64 = 0
        for pid in pids {
            // statm: "size resident shared text lib data dt", in pages
            guard let statm = readSmallFile("/proc/\(pid)/statm") else { continue }
            let fields = statm.split(separator: 0x20, maxSplits: 2)
            guard fields.count >= 2, let resident = UInt64(String(decoding: fields[1], as: UTF8.self)) else { continue }
            total += resident * page
        }
        return total
    }

    /// Kills `root`, its process group and every process below it. `root` stays unreaped (a zombie) so its
    /// process-group id cannot be reused meanwhile; the caller reaps it.
    static func kill(root: pid_t) {
        var frozen: Set<pid_t> = []
        for _ in 0..<16 {
            let tree = descendants(of: root, in: snapshot()).filter { !frozen.contains($0) }
            if tree.isEmpty { break }
            for pid in tree { Glibc.kill(pid, SIGSTOP) }
            frozen.formUnion(tree)
        }
        Glibc.kill(-root, SIGKILL)
        for pid in frozen { Glibc.kill(pid, SIGKILL) }
    }

    /// A file of /proc read whole (they are small); nil when it is gone.
    static func readSmallFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var count = 0
        while count < buffer.count {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            count += n
        }
        return Array(buffer[..<count])
    }
}
