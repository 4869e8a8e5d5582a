import ArgumentParser
import Foundation
import SluiceCore
import Testing

@testable import SluiceClient
@testable import SluiceCommands

// The client and its commands without a node: what they accept, and what they say when nothing answers.
// (`DevnetSmokeTests` runs them against a real devnet.)

@Suite("Node client and commands")
struct ClientCommandTests {
    @Test(arguments: [
        ("http://127.0.0.1:8645", "http://127.0.0.1:8645"),
        ("http://127.0.0.1:8645/", "http://127.0.0.1:8645"),
        ("HTTP://localhost:1", "http://localhost:1"),
        ("http://[::1]:8645", "http://[::1]:8645"),
    ])
    func acceptsHostAndPort(text: String, base: String) throws {
        #expect(try SluiceClient(baseURL: text).baseURL == base)
    }

    @Test(arguments: [
        ("127.0.0.1:8645", "no http://"),
        ("https://127.0.0.1:8645", "plain HTTP"),
        ("ws://127.0.0.1:8645", "scheme must be http"),
        ("http://127.0.0.1", "port is missing"),
        ("http://127.0.0.1:0", "port must be"),
        ("http://127.0.0.1:8645/v1", "must not have a path"),
        ("http://127.0.0.1:8645/?a=1", "query"),
        ("http://me@127.0.0.1:8645", "user"),
        ("", "no http://"),
    ])
    func rejectsOtherURLs(text: String, reason: String) {
        #expect {
            _ = try SluiceClient(baseURL: text)
        } throws: { error in
            "\(error)".contains(reason) && "\(error)".contains("http://HOST:PORT")
        }
    }

    // (Whether it is reported at once is a matter of the client's configuration, no retry of refused
    // connections; no timing is asserted here: the test machines are too noisy for that.)
    @Test func aNodeThatIsNotRunningIsReported() async throws {
        let port = try UnansweredPort()
        defer { withExtendedLifetime(port) {} }
        let client = try SluiceClient(baseURL: "http://127.0.0.1:\(port.port)")
        do {
            _ = try await client.status()
            Issue.record("status() answered without a node")
        } catch {
            #expect(error.description.contains("cannot reach the node at \(client.baseURL)"))
            #expect(error.description.contains("sluice devnet"))
            #expect(error.code == nil && error.status == nil)
        }
    }

    @Test func theEventStreamOfANodeThatIsNotRunningThrows() async throws {
        let port = try UnansweredPort()
        defer { withExtendedLifetime(port) {} }
        let client = try SluiceClient(baseURL: "http://127.0.0.1:\(port.port)")
        await #expect {
            for try await _ in client.events() {}
        } throws: { error in
            "\(error)".contains("cannot reach the node")
        }
    }

    @Test func aRejectionPrintsItsCode() {
        #expect(
            ClientError("use sequence 2", code: "sequence_too_old", status: 400).description
                == "use sequence 2 (sequence_too_old)")
        #expect(ClientError("cannot reach").description == "cannot reach")
    }

    @Test(arguments: [("30s", 30_000), ("500ms", 500), ("2m", 120_000), ("1.5", 1_500), ("1h", 3_600_000)])
    func durations(text: String, milliseconds: Int64) throws {
        let d = try #require(DurationArgument(argument: text))
        #expect(d.duration == .milliseconds(milliseconds))
    }

    @Test(arguments: ["", "s", "-1s", "0", "abc", "25h", "inf"])
    func badDurations(text: String) {
        #expect(DurationArgument(argument: text) == nil)
    }

    @Test func transferDefaults() throws {
        let to = "0x" + String(repeating: "ab", count: 32)
        let t = try TxCommand.Transfer.parse(["--key", "k.json", "--to", to, "--amount", "5"])
        #expect(t.gasPrice == 1 && t.gasLimit == 20 && t.sequence == nil && t.expirySeconds == nil)
        #expect(!t.wait && t.timeout.duration == .seconds(30))
        #expect(t.options.node == nil && !t.options.json)
    }

    @Test func theNodeComesFromTheOptionThenTheEnvironment() throws {
        let s = try StatusCommand.parse(["--node", "http://10.0.0.1:1"])
        #expect(s.options.nodeURL == "http://10.0.0.1:1")
        let d = try StatusCommand.parse([])
        let env = ProcessInfo.processInfo.environment["SLUICE_NODE"]
        #expect(d.options.nodeURL == (env?.isEmpty == false ? env! : NodeOptions.defaultNode))
    }
}
