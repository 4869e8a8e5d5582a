import Foundation

/// How a job's run ended.
public struct RunOutcome: Sendable, Equatable, CustomStringConvertible {
    public enum Ending: Sendable, Equatable {
        /// The command exited with this status.
        case exited(Int32)
        /// The command was killed by this signal (not by the sandbox).
        case signalled(Int32)
        /// It ran past `wallSeconds`; the sandbox killed its process tree.
        case timedOut
        /// Its process tree went over `memoryBytes` (seen by the sandbox's sampling, or an allocation refused
        /// by the address-space limit); the sandbox killed it or it died of it.
        case memoryExceeded
        /// Its folder went over `diskBytes` or `maxDiskEntries` (or a file over `diskBytes`); the sandbox
        /// killed it, or it died of SIGXFSZ.
        case diskExceeded
        /// The sandbox could not start the command; the text says why (e.g. bubblewrap's error).
        case failedToStart(String)
    }

    public var ending: Ending
    /// Seconds from the start to the end of the process tree.
    public var wallSeconds: Double
    /// The most resident memory the process tree was seen to use, summed over its processes.
    public var peakMemoryBytes: UInt64

    public init(ending: Ending, wallSeconds: Double, peakMemoryBytes: UInt64) {
        self.ending = ending
        self.wallSeconds = wallSeconds
        self.peakMemoryBytes = peakMemoryBytes
    }

    /// Whether the command ran and exited with status 0.
    public var succeeded: Bool { ending == .exited(0) }

    public var description: String {
        let time = String(format: "%.2f s", wallSeconds)
        let memory = "peak memory \(peakMemoryBytes >> 20) MiB"
        switch ending {
        case .exited(let status): return "exited with status \(status) after \(time) (\(memory))"
        case .signalled(let signal): return "killed by signal \(signal) after \(time) (\(memory))"
        case .timedOut: return "timed out: killed after \(time) (\(memory))"
        case .memoryExceeded: return "went over its memory limit: stopped after \(time) (\(memory))"
        case .diskExceeded: return "went over its disk limit: stopped after \(time) (\(memory))"
        case .failedToStart(let why): return "failed to start: \(why)"
        }
    }
}
