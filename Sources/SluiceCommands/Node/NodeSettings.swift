import Foundation
import SluiceAPI
import SluiceCore
import SluiceJobs
import SluiceProvider
import SluiceRuntime
import SluiceState
import TOMLKit

/// Everything a node needs to run, from `node.toml` (`sluice node run --config`) or from `sluice devnet`'s
/// options; both then take the same path (`NodeRunner`).
///
/// ```toml
/// chain_id = 1337
/// data = "chain"                 # relative to the config file's folder
/// http = "127.0.0.1:8645"
/// block_time = "250ms"
/// max_block_size = 10000
/// mempool_capacity = 200000
///
/// [[genesis.accounts]]           # used only when the data dir is new
/// address = "0x…"
/// balance = "1000000000000"
/// ```
struct NodeSettings: Equatable {
    var chainId: UInt64
    var dataDir: String
    /// Job bundles and results (`/v1/blobs`); by default the folder `blobs` beside the data dir.
    var blobsDir: String
    var host: String
    var port: Int
    var blockTime: Duration
    var maxBlockSize: Int
    var mempoolCapacity: Int
    var genesis: [AccountJSON]
    /// The market's parameters, written at genesis (`[market]`).
    var market = MarketParameters.default
    /// The genesis block's time (Unix seconds); every validator of a chain must use the same one. Nil: the
    /// time the data dir is created (a single validator).
    var genesisTime: UInt64?
    /// This node's part in consensus when the chain has several validators (`[consensus]`).
    var consensus: ValidatorSettings?

    /// Where the validator keeps its safety data and consensus ledger: `consensus` beside the data dir.
    var consensusDir: String {
        URL(fileURLWithPath: dataDir).deletingLastPathComponent().appendingPathComponent("consensus").path
    }

    static let knownKeys: Set<String> = [
        "chain_id", "data", "blobs", "http", "block_time", "max_block_size", "mempool_capacity", "genesis", "market",
        "genesis_time", "consensus",
    ]

    /// Reads a config file; every error names the file, the key and what to write instead.
    static func load(path: String) throws -> NodeSettings {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw CommandError("\(path): cannot read the config file (\(error.localizedDescription)); check --config")
        }
        let table: TOMLTable
        do { table = try TOMLText.parse(text) } catch {
            throw CommandError("\(path):\(error.line):\(error.column): \(error.message)")
        }
        for key in table.keys where !knownKeys.contains(key) {
            throw CommandError(
                "\(path): unknown key '\(key)' (known: \(knownKeys.sorted().joined(separator: ", ")))")
        }
        func fail(_ key: String, _ why: String) -> CommandError { CommandError("\(path): key '\(key)': \(why)") }
        func string(_ key: String) throws -> String? {
            guard let v = table[key] else { return nil }
            guard let s = v.string else { throw fail(key, "expected a string") }
            return s
        }
        func int(_ key: String, min: Int) throws -> Int? {
            guard let v = table[key] else { return nil }
            guard let i = v.int, i >= min else { throw fail(key, "expected an integer ≥ \(min)") }
            return i
        }
        guard let chain = try int("chain_id", min: 0) else { throw fail("chain_id", "missing (e.g. chain_id = 1337)") }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        guard let data = try string("data") else { throw fail("data", "missing (the data dir, e.g. data = \"chain\")") }
        let dataDir = data.hasPrefix("/") ? data : base.appendingPathComponent(data).standardizedFileURL.path
        var blobsDir = URL(fileURLWithPath: dataDir).deletingLastPathComponent().appendingPathComponent("blobs").path
        if let blobs = try string("blobs") {
            blobsDir = blobs.hasPrefix("/") ? blobs : base.appendingPathComponent(blobs).standardizedFileURL.path
        }
        var settings = NodeSettings(
            chainId: UInt64(chain), dataDir: dataDir, blobsDir: blobsDir, host: "127.0.0.1", port: 8645,
            blockTime: .milliseconds(250),
            maxBlockSize: 10_000, mempoolCapacity: 200_000, genesis: [])
        if let http = try string("http") {
            do { (settings.host, settings.port) = try parseHostPort(http) } catch { throw fail("http", "\(error)") }
        }
        if let t = try string("block_time") {
            do { settings.blockTime = try parseBlockTime(t) } catch { throw fail("block_time", "\(error)") }
        }
        if let n = try int("max_block_size", min: 1) { settings.maxBlockSize = n }
        if let n = try int("mempool_capacity", min: 1) { settings.mempoolCapacity = n }
        if let genesis = table["genesis"] {
            guard let g = genesis.table, let accounts = g["accounts"]?.array else {
                throw fail("genesis", "expected [[genesis.accounts]] tables with address and balance")
            }
            for (i, item) in accounts.enumerated() {
                guard let t = item.table, let address = t["address"]?.string, let balance = t["balance"]?.string else {
                    throw fail("genesis.accounts[\(i)]", "needs address = \"0x…\" and balance = \"decimal\"")
                }
                do {
                    settings.genesis.append(
                        AccountJSON(
                            address: Address(try Hash(hex: address)), balance: try Amount(decimal: balance), sequence: 0
                        ))
                } catch {
                    throw fail("genesis.accounts[\(i)]", describe(error))
                }
            }
        }
        if let t = table["genesis_time"] {
            guard let i = t.int, i > 0 else { throw fail("genesis_time", "expected Unix seconds, e.g. 1764770000") }
            settings.genesisTime = UInt64(i)
        }
        if let c = table["consensus"] {
            settings.consensus = try ValidatorSettings.parse(c, base: base, fail: fail)
            guard settings.genesisTime != nil else {
                throw fail("genesis_time", "missing: validators of one chain need the same genesis time")
            }
        }
        if let market = table["market"] {
            guard let t = market.table else { throw fail("market", "expected a [market] table") }
            for (name, value) in t {
                let text: String
                if let i = value.int {
                    text = "\(i)"
                } else if let s = value.string {
                    text = s
                } else {
                    throw fail("market.\(name)", "expected a whole number or a decimal string")
                }
                do { try MarketSettings.set(name, text, &settings.market) } catch {
                    throw fail("market.\(name)", "\(error)")
                }
            }
            do { settings.market = try MarketSettings.checked(settings.market) } catch {
                throw fail("market", "\(error)")
            }
        }
        return settings
    }

    /// The config file for these settings (`data` relative to `folder` when inside it).
    func toml(relativeTo folder: String) -> String {
        let folderPath = URL(fileURLWithPath: folder).standardizedFileURL.path
        func relative(_ path: String) -> String {
            path.hasPrefix(folderPath + "/") ? String(path.dropFirst(folderPath.count + 1)) : path
        }
        var out = """
            # A Sluice node. Run it with: sluice node run --config <this file>
            chain_id = \(chainId)
            data = "\(relative(dataDir))"
            blobs = "\(relative(blobsDir))"
            http = "\(host):\(port)"
            block_time = "\(DurationText.format(blockTime))"
            max_block_size = \(maxBlockSize)
            mempool_capacity = \(mempoolCapacity)

            """
        if let genesisTime { out += "genesis_time = \(genesisTime)\n\n" }
        if let consensus { out += consensus.toml(relative: relative) }
        out += """
            # The genesis accounts: used only when the data dir is new.

            """
        out += MarketSettings.toml(market) + "\n"
        for a in genesis {
            out += """
                [[genesis.accounts]]
                address = "\(a.address.hex)"
                balance = "\(a.balance)"


                """
        }
        return out
    }

    /// The genesis state: the listed accounts, funded, sequence 0.
    func genesisState() throws -> [StateKey: StateValue] {
        var state: [StateKey: StateValue] = [:]
        var supply: UInt128 = 0
        for a in genesis {
            let (sum, overflow) = supply.addingReportingOverflow(a.balance.value)
            guard !overflow else { throw CommandError("the genesis supply would exceed 2^128-1") }
            supply = sum
            guard
                state.updateValue(.account(AccountState(balance: a.balance, sequence: 0)), forKey: .account(a.address))
                    == nil
            else { throw CommandError("genesis account \(a.address.hex) is listed twice") }
        }
        do {
            let (key, value) = try market.genesisEntry()
            state[key] = value
        } catch {
            throw CommandError("\(error)")
        }
        return state
    }
}

/// Parses "host:port" (the host defaults to 127.0.0.1 when only ":port" or "port" is given).
func parseHostPort(_ text: String) throws -> (String, Int) {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    let host: String
    let portText: Substring
    switch parts.count {
    case 1:
        host = "127.0.0.1"
        portText = parts[0]
    case 2:
        host = parts[0].isEmpty ? "127.0.0.1" : String(parts[0])
        portText = parts[1]
    default:
        throw CommandError("'\(text)' is not host:port (e.g. 127.0.0.1:8645)")
    }
    guard let port = Int(portText), (0...65535).contains(port) else {
        throw CommandError("'\(text)': the port must be a number from 0 to 65535 (0 picks a free one)")
    }
    return (host, port)
}

/// A block time (`DurationText`): more than 0, at most an hour.
func parseBlockTime(_ text: String) throws -> Duration {
    guard let d = DurationText.parse(text), d > .zero, d <= .seconds(3600) else {
        throw CommandError("'\(text)' is not a block time: write e.g. 250ms, 1s or 1.5s (more than 0, at most an hour)")
    }
    return d
}
