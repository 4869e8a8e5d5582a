import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// Block-STM runs on dedicated threads, not Swift tasks: a worker must never be suspended by the
// cooperative pool while others spin on its locks. The threads live as long as the executor, so a
// block costs one wake-up per worker, not a thread creation.

/// A fixed set of threads that run one body at a time, the caller being worker 0.
final class WorkerPool: @unchecked Sendable {
    let size: Int
    private var body: (@Sendable (Int) -> Void)?
    private var stopping = false
    private let wake: [DispatchSemaphore]
    private let finished = DispatchSemaphore(value: 0)

    /// Threads are named `<name>-<n>` (at most 15 characters show) for profilers and tests.
    init(size: Int, name: String) {
        precondition(size >= 1)
        self.size = size
        wake = (0..<size).map { _ in DispatchSemaphore(value: 0) }
        for worker in 1..<max(size, 1) {
            let thread = Thread { [self] in self.loop(worker, name: "\(name)-\(worker)") }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    private func loop(_ worker: Int, name: String) {
        setCurrentThreadName(name)
        while true {
            wake[worker].wait()
            if stopping { return }
            body?(worker)
            finished.signal()
        }
    }

    /// Runs `body(w)` for every worker `w` in `0..<size` and returns when all have returned.
    func run(_ body: @escaping @Sendable (Int) -> Void) {
        self.body = body
        for w in 1..<size { wake[w].signal() }
        body(0)
        for _ in 1..<size { finished.wait() }
        self.body = nil
    }

    /// Ends the threads. The pool cannot be used afterwards.
    func shutdown() {
        stopping = true
        for w in 1..<size { wake[w].signal() }
    }
}

/// Names the calling thread for `top -H`, profilers and the allocation-counting tests.
/// `pthread_setname_np` is a GNU extension that the Glibc module does not export, so it is looked up.
private func setCurrentThreadName(_ name: String) {
    #if os(Linux)
        typealias SetName = @convention(c) (pthread_t, UnsafePointer<CChar>) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pthread_setname_np") else { return }
        let setName = unsafeBitCast(symbol, to: SetName.self)
        _ = name.withCString { setName(pthread_self(), $0) }
    #else
        Thread.current.name = name
    #endif
}
