import ArgumentParser
import Foundation
import SluiceAPI
import SluiceCore
import SluiceRuntime
import SluiceState
import SluiceStorage

struct StateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "State proofs and snapshots.",
        subcommands: [Proof.self, Verify.self, Export.self, Import.self]
    )

    struct Proof: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a state value with its Merkle proof against the state root (JSON).",
            discussion: """
                KEY is an account address (0x + 64 hex), bank/account/0x…, or an encoded state key (0x + 72 hex).
                The proof shows the value, or that the key is absent. Check it with `sluice state verify`,
                which needs nothing but the proof and the root.
                """)

        @Option(help: "The data dir.")
        var data: String

        @Option(help: "The block whose state to prove (default: the head).")
        var height: UInt64?

        @Argument(help: "The state key.")
        var key: String

        func run() throws {
            try reportingErrors {
                let stateKey = try parseStateKey(key)
                let store = try ChainStore(path: data, chainId: nil)
                let proof = try store.proof(for: stateKey, at: height)
                print(String(decoding: try prettyJSON(StateProofJSON(proof)), as: UTF8.self), terminator: "")
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a proof printed by `sluice state proof` (exit 0: valid, 1: invalid).")

        @Option(help: "The proof file ('-' for standard input).")
        var proof: String = "-"

        @Option(help: "The state root you trust; the proof must be against it.")
        var root: String?

        func run() throws {
            try reportingErrors {
                let data = proof == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try readFile(proof)
                let parsed: StateProofJSON
                do { parsed = try JSONDecoder().decode(StateProofJSON.self, from: data) } catch {
                    throw CommandError("\(proof == "-" ? "standard input" : proof): \(describe(error))")
                }
                let stateProof = try parsed.stateProof()
                var trusted: Hash? = nil
                if let root {
                    do { trusted = try Hash(hex: root) } catch { throw CommandError("--root: \(error)") }
                }
                guard stateProof.verify(against: trusted) else {
                    print(
                        "invalid: the proof does not show that \(parsed.key) \(parsed.valueHash == nil ? "is absent" : "holds that value") under root \(parsed.root.hex)"
                    )
                    throw ExitCode(1)
                }
                print(
                    "valid: \(parsed.key) \(parsed.valueHash == nil ? "is absent" : "holds the value") under root \(parsed.root.hex) (block \(parsed.height))"
                )
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a snapshot of the latest state and head block.")

        @Option(help: "The data dir.")
        var data: String

        @Option(help: "The snapshot file to write.")
        var out: String

        func run() throws {
            try reportingErrors {
                let store = try ChainStore(path: data, chainId: nil)
                let count = try store.exportSnapshot(to: URL(fileURLWithPath: out))
                print(
                    "exported \(count) state entries at block \(store.head!.height) (root \(store.head!.state.root.hex)) to \(out)"
                )
            }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a data dir from a snapshot, verified against its state root.")

        @Option(help: "The snapshot file.")
        var snapshot: String

        @Option(help: "The new, empty data dir.")
        var data: String

        func run() throws {
            try reportingErrors {
                let store = try ChainStore.importSnapshot(from: URL(fileURLWithPath: snapshot), into: data)
                print("imported block \(store.head!.height) with root \(store.head!.state.root.hex) into \(data)")
            }
        }
    }
}
