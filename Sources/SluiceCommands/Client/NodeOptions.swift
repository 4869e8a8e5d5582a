import ArgumentParser
import Foundation
import SluiceAPI
import SluiceClient
import SluiceCore

// What every command that talks to a running node shares: where the node is, JSON or text output,
// and how errors reach the user.

/// `--node URL` and `--json`, for the commands that talk to a node's HTTP API.
struct NodeOptions: ParsableArguments {
    static let defaultNode = "http://127.0.0.1:8645"

    @Option(
        name: .long,
        help: ArgumentHelp("The node's API (default: $SLUICE_NODE, else \(defaultNode)).", valueName: "url"))
    var node: String?

    @Flag(help: "Print the API's JSON (pretty, sorted keys) instead of text.")
    var json = false

    /// The URL the command uses: `--node`, else `$SLUICE_NODE`, else the devnet's default.
    var nodeURL: String {
        if let node { return node }
        if let env = ProcessInfo.processInfo.environment["SLUICE_NODE"], !env.isEmpty { return env }
        return Self.defaultNode
    }

    /// A client of the node; a malformed URL says which option or variable to fix.
    func client() throws -> SluiceClient {
        do { return try SluiceClient(baseURL: nodeURL) } catch {
            let source = node != nil ? "--node" : "$SLUICE_NODE"
            throw CommandError("\(source): \(error.message)")
        }
    }
}

/// Runs an async command's work like `reportingErrors(_:)`: an error is printed as "error: …" on
/// standard error and the process exits with status 1 (an `ExitCode` passes through).
func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

/// Prints a value of the API as pretty JSON with sorted keys, as the node sends it.
func printAPIJSON<T: Encodable>(_ value: T) throws {
    var data = try APIJSON.encoder(pretty: true).encode(value)
    data.append(0x0a)
    FileHandle.standardOutput.write(data)
}

/// Parses an address option or argument, naming it in the error.
func parseAddress(_ text: String, _ what: String) throws -> Address {
    do { return try Address(hex: text) } catch {
        throw CommandError("\(what): '\(text)' is not an address: \(error.message) (0x followed by 64 hex digits)")
    }
}

/// Parses a hash argument, naming it in the error.
func parseHash(_ text: String, _ what: String) throws -> Hash {
    do { return try Hash(hex: text) } catch {
        throw CommandError("\(what): '\(text)' is not a hash: \(error.message) (0x followed by 64 hex digits)")
    }
}

/// A duration as people type it (`DurationText`: `30s`, `500ms`, `2m`, or a number of seconds), more than 0
/// and at most a day.
struct DurationArgument: ExpressibleByArgument, CustomStringConvertible {
    var duration: Duration
    let text: String

    init(_ duration: Duration, text: String) {
        self.duration = duration
        self.text = text
    }

    init?(argument: String) {
        guard let d = DurationText.parse(argument), d > .zero, d <= .seconds(86_400) else { return nil }
        duration = d
        text = argument
    }

    var description: String { text }
    static var defaultCompletionKind: CompletionKind { .default }
}
