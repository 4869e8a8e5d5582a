public import ArgumentParser
import Foundation

/// `sluice`: the one command of the project. The executable only calls `SluiceCommand.main()`.
public struct SluiceCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "Sluice: a decentralized GPU compute network on a parallel proof-of-stake chain.",
        discussion: """
            Execute a block offline with `sluice t8n`, measure the executor with `sluice bench execution`,
            make keys with `sluice keys new`.
            """,
        version: "0.1.0",
        subcommands: [
            DevnetCommand.self, NodeCommand.self, TestnetCommand.self, T8nCommand.self, BenchCommand.self, KeysCommand.self, DbCommand.self,
            StateCommand.self,
            AccountCommand.self, TxCommand.self, BlockCommand.self, StatusCommand.self,
            ProviderCommand.self, MarketCommand.self, JobCommand.self, RewardCommand.self,
        ]
    )

    public init() {}

    /// Parses the process arguments and runs the command; the executable's only call.
    public static func start() async {
        await main()
    }
}

/// Runs a command's work: an error is printed as "error: …" on standard error and the process exits with
/// status 1 (an `ExitCode` passes through).
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

/// An error a command reports to the user: what went wrong and what to do next. Exits with code 1.
struct CommandError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
