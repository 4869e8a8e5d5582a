import Foundation
import SluiceAPI
import SluiceConsensus
import SluiceCore
import SluiceNetwork
import SluiceNode
import TOMLKit

/// A validator's `[consensus]` table: its key, where its validator network listens, and the genesis
/// validator set with each one's network address.
///
/// ```toml
/// genesis_time = 1764770000        # Unix seconds, the same on every validator
/// [consensus]
/// key = "validator.json"           # relative to the config file's folder
/// listen = "127.0.0.1:9100"
/// round_timeout = "1s"
/// [[consensus.validators]]
/// address = "0x…"
/// public_key = "0x…"
/// power = 100
/// p2p = "127.0.0.1:9100"
/// ```
struct ValidatorSettings: Equatable {
    struct Member: Equatable {
        var address: Address
        var publicKey: [UInt8]
        var power: UInt64
        var p2p: String
    }

    var keyPath: String
    var listen: String
    var roundTimeout: Duration = .seconds(1)
    var validators: [Member]

    static let knownKeys: Set<String> = ["key", "listen", "round_timeout", "validators"]

    static func parse(_ value: any TOMLValueConvertible, base: URL, fail: (String, String) -> CommandError) throws
        -> ValidatorSettings
    {
        guard let t = value.table else { throw fail("consensus", "expected a [consensus] table") }
        for key in t.keys where !knownKeys.contains(key) {
            throw fail("consensus.\(key)", "unknown (known: \(knownKeys.sorted().joined(separator: ", ")))")
        }
        guard let key = t["key"]?.string else { throw fail("consensus.key", "missing: the validator's key file") }
        guard let listen = t["listen"]?.string else {
            throw fail("consensus.listen", "missing: where the validator network listens, e.g. \"127.0.0.1:9100\"")
        }
        do { _ = try parseHostPort(listen) } catch { throw fail("consensus.listen", "\(error)") }
        var settings = ValidatorSettings(
            keyPath: key.hasPrefix("/") ? key : base.appendingPathComponent(key).standardizedFileURL.path,
            listen: listen, validators: [])
        if let timeout = t["round_timeout"]?.string {
            guard let d = DurationText.parse(timeout), d >= .milliseconds(50), d <= .seconds(60) else {
                throw fail("consensus.round_timeout", "write e.g. 1s or 500ms (50ms to 60s)")
            }
            settings.roundTimeout = d
        }
        guard let members = t["validators"]?.array, !members.isEmpty else {
            throw fail("consensus.validators", "missing: [[consensus.validators]] tables, one per validator")
        }
        for (i, item) in members.enumerated() {
            let field = "consensus.validators[\(i)]"
            guard let m = item.table, let address = m["address"]?.string, let key = m["public_key"]?.string,
                let power = m["power"]?.int, power > 0, let p2p = m["p2p"]?.string
            else {
                throw fail(
                    field, "needs address = \"0x…\", public_key = \"0x…\", power = N (> 0) and p2p = \"host:port\"")
            }
            do {
                _ = try parseHostPort(p2p)
                let publicKey = try Hex.decode(key)
                let member = Member(
                    address: Address(try Hash(hex: address)), publicKey: publicKey, power: UInt64(power), p2p: p2p)
                guard Address(scheme: .ed25519, publicKey: publicKey) == member.address else {
                    throw CommandError("the public key does not derive the address (validators use Ed25519 keys)")
                }
                settings.validators.append(member)
            } catch let e as CommandError {
                throw fail(field, e.message)
            } catch {
                throw fail(field, describe(error))
            }
        }
        return settings
    }

    func toml(relative: (String) -> String) -> String {
        var out = """
            # This validator: its key, where its validator network listens, and the genesis validator set.
            [consensus]
            key = "\(relative(keyPath))"
            listen = "\(listen)"
            round_timeout = "\(DurationText.format(roundTimeout))"


            """
        for v in validators {
            out += """
                [[consensus.validators]]
                address = "\(v.address.hex)"
                public_key = "0x\(Hex.encode(v.publicKey))"
                power = \(v.power)
                p2p = "\(v.p2p)"


                """
        }
        return out
    }

    /// The set, the addresses and the key, ready for the driver.
    func consensusSettings(chainId: UInt64, directory: String, maxBlockSize: Int, blockTime: Duration) throws
        -> ConsensusSettings
    {
        let key = try KeyFile.load(path: keyPath)[0]
        let set: ValidatorSet
        do {
            set = try ValidatorSet(
                epoch: 1,
                validators: validators.map {
                    ConsensusValidator(address: $0.address, publicKey: $0.publicKey, power: $0.power)
                })
        } catch {
            throw CommandError("[consensus] validators: \(error.message)")
        }
        var addresses: [PeerAddress] = []
        for v in validators {
            guard let index = set.index(of: v.address) else { continue }
            let (host, port) = try parseHostPort(v.p2p)
            addresses.append(PeerAddress(index: index, publicKey: v.publicKey, host: host, port: port))
        }
        let (host, port) = try parseHostPort(listen)
        var configuration = ConsensusConfiguration(chainId: chainId)
        let c = roundTimeout.components
        configuration.roundTimeout = UInt64(c.seconds) * 1000 + UInt64(c.attoseconds / 1_000_000_000_000_000)
        let b = blockTime.components
        configuration.minBlockInterval = UInt64(b.seconds) * 1000 + UInt64(b.attoseconds / 1_000_000_000_000_000)
        guard configuration.minBlockInterval * 2 <= configuration.roundTimeout else {
            throw CommandError(
                "block_time \(DurationText.format(blockTime)) is over half of [consensus] round_timeout "
                    + "\(DurationText.format(roundTimeout)): rounds would time out between blocks; lower block_time")
        }
        return ConsensusSettings(
            configuration: configuration, validators: set, addresses: addresses, key: key, listenHost: host,
            listenPort: port, directory: directory, maxBlockSize: maxBlockSize)
    }
}
