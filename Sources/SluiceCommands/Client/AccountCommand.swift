import ArgumentParser
import SluiceAPI
import SluiceClient
import SluiceCore
import SluiceRuntime
import SluiceState

struct AccountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account",
        abstract: "Inspect accounts on a running node.",
        subcommands: [Show.self, Proof.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show an account's balance, sequence and pending transactions.",
            discussion: """
                Asks the node (`sluice devnet`, or --node URL). An address never seen shows balance 0 and \
                sequence 0. `pending` counts the account's transactions waiting in the mempool, so the next \
                sequence to sign with is sequence + pending.

                Example:
                  sluice account show ADDRESS
                """)

        @OptionGroup var options: NodeOptions

        @Argument(help: "The account's address (0x + 64 hex digits).")
        var address: String

        func run() async throws {
            try await reportingErrors {
                let address = try parseAddress(address, "ADDRESS")
                let info = try await options.client().account(address)
                if options.json { return try printAPIJSON(info) }
                print(
                    """
                    address:  \(info.address.hex)\(info.exists ? "" : " (never seen)")
                    balance:  \(info.balance)
                    sequence: \(info.sequence)
                    pending:  \(info.pending)
                    height:   \(info.height)
                    """)
            }
        }
    }

    struct Proof: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch a state value with its Merkle proof from the node and verify it here.",
            discussion: """
                KEY is an account address (0x + 64 hex), bank/account/0x…, or an encoded state key (0x + 72 \
                hex). The proof is checked against the state root it names before anything is printed; a \
                proof that does not verify exits with status 1. Keep the JSON (--json) to check it again \
                offline with `sluice state verify --proof FILE --root ROOT`, against a root you trust.

                Example:
                  sluice account proof --json ADDRESS > proof.json
                """)

        @OptionGroup var options: NodeOptions

        @Option(help: "The block whose state to prove (default: the head).")
        var height: UInt64?

        @Argument(help: "The state key: an address, bank/account/0x…, or an encoded key.")
        var key: String

        func run() async throws {
            try await reportingErrors {
                do { _ = try parseStateKey(key) } catch { throw CommandError("KEY: \(describe(error))") }
                let proof = try await options.client().proof(key: key, height: height)
                let stateProof: StateProof
                do { stateProof = try proof.stateProof() } catch {
                    throw CommandError("the node's proof is malformed: \(describe(error)); do not trust this node")
                }
                guard stateProof.verify() else {
                    throw CommandError(
                        "the node's proof for \(proof.key) does not verify against root \(proof.root.hex): do not trust this node's answer"
                    )
                }
                if options.json { return try printAPIJSON(proof) }
                print("verified: \(proof.key) \(summary(proof)) under root \(proof.root.hex) (block \(proof.height))")
            }
        }

        private func summary(_ proof: StateProofJSON) -> String {
            guard proof.valueHash != nil else { return "is absent" }
            guard let value = proof.value else { return "holds the value with hash \(proof.valueHash?.hex ?? "")" }
            switch value.type {
            case "account":
                return
                    "holds balance \(value.balance.map(String.init(describing:)) ?? "?"), sequence \(value.sequence.map(String.init) ?? "?")"
            default:
                return "holds \(value.hex ?? "bytes")"
            }
        }
    }
}
