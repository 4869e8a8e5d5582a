import Dispatch
import Foundation
import Synchronization

/// What a finished command printed and how it exited.
public struct CommandOutput: Sendable, Equatable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// A command that could not be run at all (not installed, not executable, hung).
public struct SystemCommandError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Runs argv and returns its output; discovery takes one so tests can stand in for `nvidia-smi`.
public typealias CommandRunner = @Sendable (_ argv: [String]) throws -> CommandOutput

/// Runs short system commands (`nvidia-smi`) with a deadline: a wedged driver makes nvidia-smi hang, and the
/// provider must then start without GPUs rather than never start.
public enum SystemCommand {
    /// Runs argv (the program looked up on PATH) and waits for it, at most `timeout`.
    /// - Throws: `SystemCommandError` when the program is not found, cannot start, or runs past the deadline.
    public static func run(_ argv: [String], timeout: Duration = .seconds(30)) throws(SystemCommandError)
        -> CommandOutput
    {
        guard let program = argv.first else { throw SystemCommandError("no command given") }
        guard let executable = find(program) else { throw SystemCommandError("\(program) was not found on PATH") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = Array(argv.dropFirst())
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        do { try process.run() } catch {
            throw SystemCommandError("\(executable) could not be started: \(error.localizedDescription)")
        }
        // Both pipes are drained while the command runs, so neither can fill and stall it.
        let stdout = CapturedOutput()
        let stderr = CapturedOutput()
        let readers = DispatchGroup()
        // On threads of their own: a busy Dispatch pool (the provider runs jobs beside this) could start
        // them too late and the output would be lost.
        for (pipe, sink) in [(out, stdout), (err, stderr)] {
            let handle = pipe.fileHandleForReading
            readers.enter()
            Thread.detachNewThread {
                sink.set(handle.readDataToEndOfFile())
                readers.leave()
            }
        }
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        if exited.wait(timeout: .now() + seconds) == .timedOut {
            process.terminate()
            if exited.wait(timeout: .now() + 1) == .timedOut { kill(process.processIdentifier, SIGKILL) }
            _ = readers.wait(timeout: .now() + 1)
            throw SystemCommandError("\(program) did not finish within \(timeout) and was stopped")
        }
        // A grandchild that kept the pipes open must not hang us either.
        if readers.wait(timeout: .now() + 10) == .timedOut {
            throw SystemCommandError("\(program) exited but its output did not close (a child process kept it open)")
        }
        return CommandOutput(status: process.terminationStatus, stdout: stdout.text, stderr: stderr.text)
    }

    /// The path of an executable: argv[0] itself when it contains a slash, else the first match on PATH.
    static func find(_ program: String) -> String? {
        let fm = FileManager.default
        if program.contains("/") { return fm.isExecutableFile(atPath: program) ? program : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":") where !folder.isEmpty {
            let candidate = "\(folder)/\(program)"
            if fm.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

/// Bytes read from a pipe on another thread.
private final class CapturedOutput: Sendable {
    private let data = Mutex(Data())
    func set(_ d: Data) { data.withLock { $0 = d } }
    var text: String { data.withLock { String(decoding: $0, as: UTF8.self) } }
}
