import Foundation
import Synchronization
import SluiceJobs

#if canImport(Glibc)
    import Glibc
#endif

// A job's output goes through a pipe to a thread of ours rather than straight into the log file, so its size
// is ours to bound: the first `cap` bytes are kept, the rest is read and dropped (the job never blocks on a
// full pipe), and a last line says how much was dropped. The thread polls so that it can stop even when a
// process that escaped the job (outside bubblewrap) still holds the pipe open: once the job has ended, the
// pump reads until end of file or until a short grace period passes.

/// Copies one output stream of a job into a file, keeping at most `cap` bytes.
final class LogPump: @unchecked Sendable {
    /// The end the child writes to; the caller closes it once the child has it.
    let writeEnd: Int32
    private let readEnd: Int32
    private let file: Int32
    private let cap: Int
    /// The last bytes of the stream, whatever was dropped, for recognising an error message.
    static let tailBytes = 8192

    private struct State {
        var deadline: ContinuousClock.Instant?
        var done = false
        var waiter: CheckedContinuation<Void, Never>?
        var kept = 0
        var dropped = 0
        var tail: [UInt8] = []
    }
    private let state = Mutex(State())

    init(file url: URL, cap: Int) throws(SandboxSetupError) {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SandboxSetupError("cannot create log \(url.path): \(errnoText())") }
        guard let ends = ChildProcess.makePipe() else {
            let code = errno
            close(fd)
            throw SandboxSetupError("cannot make a pipe: \(errnoText(code))")
        }
        file = fd
        readEnd = ends.read
        writeEnd = ends.write
        self.cap = max(0, cap)
    }

    func start() {
        let thread = Thread { [self] in pump() }
        thread.name = "sluice-log"
        thread.start()
    }

    /// Closes everything of a pump that was never started.
    func abandon() {
        close(readEnd)
        close(file)
    }

    /// Asks the pump to stop at end of file, or after `grace` at the latest, and waits for it.
    func finish(grace: Duration) async -> (kept: Int, dropped: Int, tail: [UInt8]) {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                state.deadline = .now + grace
                if state.done { return true }
                state.waiter = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
        return state.withLock { ($0.kept, $0.dropped, $0.tail) }
    }

    private func pump() {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var kept = 0
        var dropped = 0
        var tail: [UInt8] = []
        loop: while true {
            var poller = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 50)
            if ready == 0 {
                let deadline = state.withLock { $0.deadline }
                if let deadline, ContinuousClock.now >= deadline { break }
                continue
            }
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            let n = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                break
            }
            if n == 0 { break }  // end of file: every writer is gone
            let chunk = buffer[0..<n]
            let keep = min(n, cap - kept)
            if keep > 0 {
                writeAll(chunk.prefix(keep))
                kept += keep
            }
            dropped += n - keep
            tail.append(contentsOf: chunk.suffix(Self.tailBytes))
            if tail.count > Self.tailBytes { tail.removeFirst(tail.count - Self.tailBytes) }
            // Past the deadline a writer that never stops must not keep us here.
            if let deadline = state.withLock({ $0.deadline }), ContinuousClock.now >= deadline + .seconds(1) {
                break loop
            }
        }
        if dropped > 0 {
            writeAll(ArraySlice("\n[sluice: log truncated: kept the first \(kept) bytes, dropped \(dropped)]\n".utf8))
        }
        close(readEnd)
        close(file)
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.done = true
            state.kept = kept
            state.dropped = dropped
            state.tail = tail
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    private func writeAll(_ bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(file, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                offset += n
            }
        }
    }
}
