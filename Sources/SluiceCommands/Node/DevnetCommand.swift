import ArgumentParser
import Foundation
import Logging
import SluiceAPI
import SluiceCore
import SluiceState

struct DevnetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devnet",
        abstract: "Run a local network: one validator, funded dev accounts, the HTTP + WebSocket API.",
        discussion: """
            The first run creates the data dir (default .sluice/devnet): a genesis block that funds --accounts
            dev accounts, their key files in DATA/keys/, and DATA/node.toml (the same node runs with
            `sluice node run --config DATA/node.toml`). Later runs go on from the stored head. Stop with Ctrl-C
            or SIGTERM: the block in progress commits, nothing committed is lost.

            Then, in another terminal:
              sluice status
              sluice tx transfer --key .sluice/devnet/keys/dev-0.json --to <address> --amount 100 --wait
              sluice account show <address>
            """)

    @Option(help: "The data dir (created when missing).")
    var data: String = ".sluice/devnet"

    @Option(help: "Where the API listens: host:port (port 0 picks a free one).")
    var http: String = "127.0.0.1:8645"

    @Option(help: "The longest time between blocks, e.g. 250ms or 1s (a full block is cut at once).")
    var blockTime: String = "250ms"

    @Option(help: "Dev accounts funded at genesis (only when the data dir is new).")
    var accounts: Int = 10

    @Option(help: "Each dev account's genesis balance (only when the data dir is new).")
    var balance: String = "1000000000000"

    @Option(help: "The chain id (only when the data dir is new).")
    var chainId: UInt64 = 1337

    @Option(help: "The most transactions in one block.")
    var maxBlockSize: Int = 10_000

    @Option(help: "Server log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "warning"

    @Flag(help: "No live status line.")
    var noStatus = false

    @Option(
        help:
            "Validators (only when the data dir is new): the first runs in this process, the others as supervised child processes on the next ports."
    )
    var validators: Int = 1

    @Option(help: "Local provider agents to start, each its own process with its own key and work dir.")
    var providers: Int = 2

    @Option(help: "The GPUs the first provider offers: auto, none or indices such as 0,1 (the others offer CPU).")
    var providerGpus: String = "auto"

    @Option(
        help: ArgumentHelp(
            "A market parameter of a new devnet, NAME=VALUE (repeatable), e.g. commit_grace_seconds=30; see node.toml's [market].",
            valueName: "name=value"))
    var market: [String] = []

    /// Test-only: a fault of the last provider's agent (`provider run --fault`).
    @Option(help: .hidden)
    var providerFault: String?

    func validate() throws {
        guard (0...16).contains(providers) else { throw ValidationError("--providers must be from 0 to 16") }
        guard (1...16).contains(validators) else { throw ValidationError("--validators must be from 1 to 16") }
        guard (1...10_000).contains(accounts) else { throw ValidationError("--accounts must be from 1 to 10000") }
        guard maxBlockSize >= 1 else { throw ValidationError("--max-block-size must be at least 1") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let root = URL(fileURLWithPath: data).standardizedFileURL.path
            let keysDir = root + "/keys"
            var configPath = root + "/node.toml"
            var settings: NodeSettings
            var validatorChildren: DevnetValidators? = nil
            let network = try existingNetwork(root: root)
            if network > 0 || validators > 1 {
                if FileManager.default.fileExists(atPath: configPath) {
                    throw CommandError(
                        "\(root) holds a one-validator devnet: run it without --validators, or remove it (or choose "
                            + "another --data) for a new \(validators)-validator devnet")
                }
                if network == 0 {
                    try createNetwork(root: root)
                } else if network != validators && validators != 1 {
                    throw CommandError(
                        "\(root) holds a \(network)-validator devnet, not \(validators): run it with --validators "
                            + "\(network), or remove the data dir for a new one")
                }
                let count = max(network, validators)
                configPath = root + "/validator-0/node.toml"
                settings = try NodeSettings.load(path: configPath)
                validatorChildren = DevnetValidators(
                    children: (1..<count).map { i in
                        .init(
                            index: i, config: "\(root)/validator-\(i)/node.toml", log: "\(root)/validator-\(i)/node.log"
                        )
                    })
            } else if FileManager.default.fileExists(atPath: configPath) {
                settings = try NodeSettings.load(path: configPath)
                if !market.isEmpty {
                    FileHandle.standardError.write(
                        Data("warning: --market applies to a new devnet only; \(configPath) keeps its [market]\n".utf8))
                }
            } else {
                settings = try createDevnet(root: root, keysDir: keysDir)
            }
            if validatorChildren == nil {
                (settings.host, settings.port) = try parseHostPort(http)
                settings.blockTime = try parseBlockTime(blockTime)
                settings.maxBlockSize = maxBlockSize
                try writeFileAtomically(Data(settings.toml(relativeTo: root).utf8), to: configPath)
            }
            let funder = try lastDevKey(keysDir)
            let agents = DevnetProviders(
                root: root, count: providers, firstGPUs: providerGpus, funder: funder, lastFault: providerFault)
            var runner = NodeRunner(settings: settings)
            runner.notes = ["  Config:     \(configPath)"] + listKeys(keysDir) + (try agents.prepare())
            if let validatorChildren {
                runner.notes.append(
                    "  Validators (\(validatorChildren.children.count + 1); validator-0 is this process, "
                        + "each one's API on the next port):")
                runner.notes += try validatorChildren.start()
            }
            if providers > 0 {
                runner.notes.append(
                    "  Try a job:  sluice job submit examples/render/job.toml --key \(keysDir)/dev-0.json --wait")
            }
            runner.logLevel = Logger.Level(rawValue: logLevel) ?? .warning
            runner.statusLine = !noStatus
            runner.onListening = { base in Task { await agents.start(node: base) } }
            runner.companions = [agents] + (validatorChildren.map { [$0] } ?? [])
            defer {
                agents.stop()
                validatorChildren?.stop()
            }
            try await runner.run()
        }
    }

    /// How many validators the devnet in `root` was created with (0: none yet, or a one-validator devnet).
    private func existingNetwork(root: String) throws -> Int {
        let first = root + "/validator-0/node.toml"
        guard FileManager.default.fileExists(atPath: first) else { return 0 }
        guard let consensus = try NodeSettings.load(path: first).consensus else {
            throw CommandError("\(first) has no [consensus]: remove \(root) for a new devnet")
        }
        return consensus.validators.count
    }

    /// A new multi-validator devnet: the files of `sluice testnet init` on loopback, with this command's
    /// accounts, block time, block size and market parameters. Port 0 picks free ports.
    private func createNetwork(root: String) throws {
        let (host, port) = try parseHostPort(http)
        guard host == "127.0.0.1" || host == "localhost" else {
            throw CommandError("--http: a multi-validator devnet listens on 127.0.0.1 (use testnet init for hosts)")
        }
        let amount: Amount
        do { amount = try Amount(decimal: balance) } catch { throw CommandError("--balance: \(error.message)") }
        let httpPort = port == 0 ? try freeLoopbackPorts(validators) : port
        var p2pPort = httpPort + 1000
        if port == 0 || p2pPort + validators > 65_535 {
            repeat { p2pPort = try freeLoopbackPorts(validators) } while abs(p2pPort - httpPort) < validators
        }
        let time = try parseBlockTime(blockTime)
        var marketParameters = MarketParameters.default
        for assignment in market { try MarketSettings.apply(assignment, to: &marketParameters) }
        marketParameters = try MarketSettings.checked(marketParameters)
        _ = try TestnetFiles.write(
            root: root, validators: validators, hosts: [], httpPort: httpPort, p2pPort: p2pPort, accounts: accounts,
            balance: amount, power: 100, chainId: chainId, roundTimeout: max(.seconds(1), time * 4),
            maxBlockSize: maxBlockSize
        ) { settings in
            settings.blockTime = time
            settings.market = marketParameters
        }
    }

    /// A new devnet: dev keys on disk, their genesis accounts in the settings.
    private func createDevnet(root: String, keysDir: String) throws -> NodeSettings {
        let amount: Amount
        do { amount = try Amount(decimal: balance) } catch { throw CommandError("--balance: \(error.message)") }
        do {
            try FileManager.default.createDirectory(atPath: keysDir, withIntermediateDirectories: true)
        } catch {
            throw CommandError("cannot create \(keysDir): \(error.localizedDescription); check --data")
        }
        var genesis: [AccountJSON] = []
        for i in 0..<accounts {
            let path = "\(keysDir)/dev-\(i).json"
            let key: SigningKey
            if FileManager.default.fileExists(atPath: path) {
                key = try KeyFile.load(path: path)[0]
            } else {
                do { key = try SigningKey(scheme: .ed25519) } catch { throw CommandError(error.message) }
                try writeSecretFile(try prettyJSON(KeyFile(key)), to: path)
            }
            genesis.append(AccountJSON(address: key.address, balance: amount, sequence: 0))
        }
        var settings = NodeSettings(
            chainId: chainId, dataDir: root + "/chain", blobsDir: root + "/blobs", host: "127.0.0.1", port: 8645,
            blockTime: .milliseconds(250),
            maxBlockSize: maxBlockSize, mempoolCapacity: 200_000, genesis: genesis)
        for assignment in market { try MarketSettings.apply(assignment, to: &settings.market) }
        settings.market = try MarketSettings.checked(settings.market)
        return settings
    }

    /// The highest-numbered dev key: it funds the local providers.
    private func lastDevKey(_ keysDir: String) throws -> String {
        let numbers = ((try? FileManager.default.contentsOfDirectory(atPath: keysDir)) ?? []).compactMap { name in
            name.hasPrefix("dev-") && name.hasSuffix(".json") ? Int(name.dropFirst(4).dropLast(5)) : nil
        }
        guard let last = numbers.max() else {
            throw CommandError("\(keysDir) holds no dev key: remove the data dir to start afresh")
        }
        return "\(keysDir)/dev-\(last).json"
    }

    /// "  dev-0  0x…  DATA/keys/dev-0.json" for each key file.
    private func listKeys(_ keysDir: String) -> [String] {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: keysDir)) ?? [])
            .filter { $0.hasSuffix(".json") }
            .sorted { $0.localizedStandardCompare($1) == .orderedAscending }
        guard !files.isEmpty else { return [] }
        var lines = ["  Dev keys (funded at genesis; sign with --key FILE):"]
        for f in files.prefix(20) {
            let path = "\(keysDir)/\(f)"
            let address = (try? KeyFile.load(path: path).first?.address.hex) ?? "(unreadable)"
            lines.append("    \(address)  \(path)")
        }
        if files.count > 20 { lines.append("    … and \(files.count - 20) more in \(keysDir)") }
        return lines
    }
}

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run a node from a config file.",
        subcommands: [Run.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a node from node.toml until Ctrl-C / SIGTERM.",
            discussion: """
                node.toml (paths relative to its folder):
                  chain_id = 1337
                  data = "chain"
                  http = "127.0.0.1:8645"
                  block_time = "250ms"
                  max_block_size = 10000
                  mempool_capacity = 200000
                  [[genesis.accounts]]          # used only when the data dir is new
                  address = "0x…"
                  balance = "1000000000000"
                `sluice devnet` writes one into its data dir.
                """)

        @Option(help: "The config file.")
        var config: String

        @Option(help: "Server log level: trace, debug, info, notice, warning, error, critical.")
        var logLevel: String = "info"

        @Flag(help: "No live status line.")
        var noStatus = false

        @Option(help: ArgumentHelp("Stop when the process with this pid is no longer the parent.", visibility: .hidden))
        var parentPid: Int32?

        func run() async throws {
            try await reportingErrors {
                if let parentPid {
                    stopWhenParentIsGone(parentPid) { FileHandle.standardError.write(Data("node: \($0)\n".utf8)) }
                }
                let settings = try NodeSettings.load(path: config)
                var runner = NodeRunner(settings: settings)
                guard let level = Logger.Level(rawValue: logLevel) else {
                    throw CommandError(
                        "--log-level must be one of trace, debug, info, notice, warning, error, critical")
                }
                runner.logLevel = level
                runner.statusLine = !noStatus
                try await runner.run()
            }
        }
    }
}
