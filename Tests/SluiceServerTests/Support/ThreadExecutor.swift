import Foundation

/// A task executor with threads of its own, for the tests that drive a live server over sockets.
///
/// Swift concurrency's global executor has one thread per core (two here), and the test process runs
/// suites side by side, some of which compute for seconds at a time on those threads (property tests,
/// Block-STM, fuzzers). A live server's connection tasks waiting behind them for tens of seconds made
/// its tests fail on timeouts that had nothing to do with the server. Under this executor the server's
/// tasks and the test's client run on their own threads, which the kernel time-slices with the rest.
final class ThreadExecutor: TaskExecutor, @unchecked Sendable {
    /// The one the live-server tests share. Never stopped: a continuation resumed late must still run.
    static let liveServers = ThreadExecutor(threads: 4, name: "live-server")

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var next = 0

    init(threads: Int, name: String) {
        for i in 0..<threads {
            let thread = Thread { [unowned self] in self.work() }
            thread.name = "\(name)-\(i)"
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while next == jobs.count { condition.wait() }
            let job = jobs[next]
            next += 1
            if next == jobs.count {  // drained: reuse the storage
                jobs.removeAll(keepingCapacity: true)
                next = 0
            }
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
