import ArgumentParser
import Foundation
import SluiceAPI
import SluiceCore
import SluiceState

struct TestnetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "testnet",
        abstract: "Prepare a network of several validators.",
        subcommands: [Init.self])

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write keys, one genesis and a node.toml per validator.",
            discussion: """
                Writes OUT/validator-I/ for each validator I (its key.json and node.toml, data in chain/) and
                OUT/keys/dev-J.json for the accounts funded at genesis. Every node.toml holds the same genesis
                (accounts, genesis_time, the validator set with each one's network address). Copy each
                validator's folder to its host and run it there:

                  sluice node run --config OUT/validator-0/node.toml

                On one machine (--hosts left out) every validator listens on 127.0.0.1: API on
                --http-port + I, validator network on --p2p-port + I.
                """)

        @Option(help: "How many validators.")
        var validators: Int = 4

        @Option(help: "The folder to write (must not exist yet).")
        var out: String

        @Option(help: "Each validator's host, comma-separated, one per validator (default: all 127.0.0.1).")
        var hosts: String?

        @Option(help: "The first validator's API port.")
        var httpPort: Int = 8645

        @Option(help: "The first validator's validator-network port.")
        var p2pPort: Int = 9645

        @Option(help: "Accounts funded at genesis.")
        var accounts: Int = 10

        @Option(help: "Each account's genesis balance.")
        var balance: String = "1000000000000"

        @Option(help: "Each validator's voting power.")
        var power: UInt64 = 100

        @Option(help: "The chain id.")
        var chainId: UInt64 = 1337

        @Option(help: "The first round's timeout, e.g. 1s.")
        var roundTimeout: String = "1s"

        @Option(help: "The most transactions in one block.")
        var maxBlockSize: Int = 10_000

        @Flag(help: "Print what was written as JSON.")
        var json = false

        func validate() throws {
            guard (1...100).contains(validators) else { throw ValidationError("--validators must be from 1 to 100") }
            guard (1...10_000).contains(accounts) else { throw ValidationError("--accounts must be from 1 to 10000") }
            guard power > 0 else { throw ValidationError("--power must be above 0") }
            guard (1...65_535 - validators).contains(httpPort), (1...65_535 - validators).contains(p2pPort) else {
                throw ValidationError("--http-port and --p2p-port must leave room for one port per validator")
            }
        }

        struct Written: Encodable {
            var validator: Int
            var address: String
            var config: String
            var api: String
            var p2p: String
        }

        func run() throws {
            try reportingErrors {
                let root = URL(fileURLWithPath: out).standardizedFileURL.path
                guard !FileManager.default.fileExists(atPath: root) else {
                    throw CommandError("\(root) exists: choose a new --out (nothing was written)")
                }
                let hostList = hosts.map { $0.split(separator: ",").map(String.init) } ?? []
                guard hostList.isEmpty || hostList.count == validators else {
                    throw CommandError("--hosts names \(hostList.count) hosts for \(validators) validators")
                }
                guard let timeout = DurationText.parse(roundTimeout) else {
                    throw CommandError("--round-timeout: write e.g. 1s or 500ms")
                }
                let amount: Amount
                do { amount = try Amount(decimal: balance) } catch {
                    throw CommandError("--balance: \(describe(error))")
                }
                let files = try TestnetFiles.write(
                    root: root, validators: validators, hosts: hostList, httpPort: httpPort, p2pPort: p2pPort,
                    accounts: accounts, balance: amount, power: power, chainId: chainId, roundTimeout: timeout,
                    maxBlockSize: maxBlockSize)
                if json {
                    print(String(decoding: try prettyJSON(files), as: UTF8.self))
                } else {
                    print("Wrote a \(validators)-validator network to \(root):")
                    for f in files {
                        print("  validator \(f.validator)  \(f.address)  API \(f.api)  p2p \(f.p2p)")
                        print("    sluice node run --config \(f.config)")
                    }
                    print("  Funded keys: \(root)/keys/dev-0.json … dev-\(accounts - 1).json")
                }
            }
        }
    }
}

/// The files of a new multi-validator network (`testnet init`, `devnet --validators`).
enum TestnetFiles {
    static func write(
        root: String, validators: Int, hosts: [String], httpPort: Int, p2pPort: Int, accounts: Int, balance: Amount,
        power: UInt64, chainId: UInt64, roundTimeout: Duration, maxBlockSize: Int,
        configure: (inout NodeSettings) -> Void = { _ in }
    ) throws -> [TestnetCommand.Init.Written] {
        let keysDir = root + "/keys"
        do { try FileManager.default.createDirectory(atPath: keysDir, withIntermediateDirectories: true) } catch {
            throw CommandError("cannot create \(keysDir): \(error.localizedDescription)")
        }
        var genesis: [AccountJSON] = []
        for i in 0..<accounts {
            let key = try newKey()
            try writeSecretFile(try prettyJSON(KeyFile(key)), to: "\(keysDir)/dev-\(i).json")
            genesis.append(AccountJSON(address: key.address, balance: balance, sequence: 0))
        }
        let keys = try (0..<validators).map { _ in try newKey() }
        let members = keys.enumerated().map { i, key in
            ValidatorSettings.Member(
                address: key.address, publicKey: key.publicKey, power: power,
                p2p: "\(hosts.isEmpty ? "127.0.0.1" : hosts[i]):\(p2pPort + i)")
        }
        let genesisTime = UInt64(Date().timeIntervalSince1970)
        var written: [TestnetCommand.Init.Written] = []
        for (i, key) in keys.enumerated() {
            let folder = "\(root)/validator-\(i)"
            do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
                throw CommandError("cannot create \(folder): \(error.localizedDescription)")
            }
            try writeSecretFile(try prettyJSON(KeyFile(key)), to: folder + "/key.json")
            let host = hosts.isEmpty ? "127.0.0.1" : hosts[i]
            var settings = NodeSettings(
                chainId: chainId, dataDir: folder + "/chain", blobsDir: folder + "/blobs", host: host,
                port: httpPort + i, blockTime: .milliseconds(250), maxBlockSize: maxBlockSize,
                mempoolCapacity: 200_000, genesis: genesis)
            configure(&settings)
            settings.genesisTime = genesisTime
            settings.consensus = ValidatorSettings(
                keyPath: folder + "/key.json", listen: members[i].p2p, roundTimeout: roundTimeout,
                validators: members)
            try writeFileAtomically(Data(settings.toml(relativeTo: folder).utf8), to: folder + "/node.toml")
            written.append(
                .init(
                    validator: i, address: key.address.hex, config: folder + "/node.toml",
                    api: "http://\(host):\(httpPort + i)", p2p: members[i].p2p))
        }
        return written
    }

    static func newKey() throws -> SigningKey {
        do { return try SigningKey(scheme: .ed25519) } catch { throw CommandError(error.message) }
    }
}
