import Foundation
import SluiceAPI
import SluiceCore
import SluiceRuntime
import SluiceState

/// The market's genesis parameters by their config names (`[market]` in node.toml, `sluice devnet
/// --market NAME=VALUE`): one table, so the file, the option and the written config agree.
enum MarketSettings {
    struct Setting: Sendable {
        let name: String
        let help: String
        let read: @Sendable (MarketParameters) -> String
        let write: @Sendable (inout MarketParameters, String) throws -> Void
    }

    static func integer<T: FixedWidthInteger & Sendable>(
        _ name: String, _ help: String, _ path: any WritableKeyPath<MarketParameters, T> & Sendable
    ) -> Setting {
        Setting(
            name: name, help: help, read: { "\($0[keyPath: path])" },
            write: { params, text in
                guard let v = T(text) else {
                    throw CommandError("market \(name): '\(text)' is not a whole number in range")
                }
                params[keyPath: path] = v
            })
    }

    static func amount(
        _ name: String, _ help: String, _ path: any WritableKeyPath<MarketParameters, Amount> & Sendable
    ) -> Setting {
        Setting(
            name: name, help: help, read: { "\($0[keyPath: path])" },
            write: { params, text in
                do { params[keyPath: path] = try Amount(decimal: text) } catch {
                    throw CommandError("market \(name): '\(text)' is not an amount (\(describe(error)))")
                }
            })
    }

    static let all: [Setting] = [
        amount("minimum_stake", "least stake of a provider", \.minimumStake),
        integer("open_job_blocks", "blocks an unmatched job stays open", \.openJobBlocks),
        integer("unbonding_blocks", "blocks before an unbonding stake can be withdrawn", \.unbondingBlocks),
        integer("commit_grace_seconds", "seconds after max_duration for the commitments", \.commitGraceSeconds),
        integer("reveal_window_seconds", "seconds for the reveals after the last commitment", \.revealWindowSeconds),
        integer("fee_basis_points", "protocol fee on payments", \.feeBasisPoints),
        integer(
            "missed_deadline_slash_basis_points", "stake lost for a missed deadline",
            \.missedDeadlineSlashBasisPoints),
        integer("audit_probability_basis_points", "agreeing jobs audited at random", \.auditProbabilityBasisPoints),
        integer(
            "dishonest_slash_basis_points", "stake lost for a result an audit contradicts", \.dishonestSlashBasisPoints),
        integer("slash_burn_basis_points", "share of a dishonest slash burned", \.slashBurnBasisPoints),
        integer("slash_auditor_basis_points", "share of a dishonest slash to the auditor", \.slashAuditorBasisPoints),
        integer(
            "slash_consumer_basis_points", "share of a dishonest slash to the consumer", \.slashConsumerBasisPoints),
        integer("max_audit_rounds", "auditors drawn before an audit gives up", \.maxAuditRounds),
        integer("audit_grace_seconds", "seconds after max_duration for an audit report", \.auditGraceSeconds),
        amount("dispute_bond", "least bond of a job.dispute", \.disputeBond),
        integer("dispute_window_seconds", "seconds after settlement for a job.dispute", \.disputeWindowSeconds),
        integer(
            "proof_interval_seconds", "seconds between proof-of-GPU rounds (0: no proofs)", \.proofIntervalSeconds),
        integer("proof_window_seconds", "seconds to answer a proof-of-GPU challenge", \.proofWindowSeconds),
        integer(
            "proof_target_milliseconds", "time a challenge's product takes at the claimed speed",
            \.proofTargetMilliseconds),
        amount("emission_per_epoch", "base units minted at the end of each epoch", \.emissionPerEpoch),
        integer("epoch_blocks", "blocks per epoch", \.epochBlocks),
        integer(
            "provider_share_basis_points", "providers' share of an epoch's emission (the rest: validators)",
            \.providerShareBasisPoints),
        integer("uptime_slot_blocks", "blocks per uptime slot (one heartbeat expected in each)", \.uptimeSlotBlocks),
        integer(
            "heartbeat_timeout_blocks", "blocks without a heartbeat before a provider is skipped (0: never)",
            \.heartbeatTimeoutBlocks),
    ]

    static var names: String { all.map(\.name).joined(separator: ", ") }

    /// Applies `NAME=VALUE`.
    static func apply(_ assignment: String, to params: inout MarketParameters) throws {
        let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw CommandError("--market '\(assignment)': use NAME=VALUE (names: \(names))") }
        try set(parts[0].trimmingCharacters(in: .whitespaces), parts[1].trimmingCharacters(in: .whitespaces), &params)
    }

    static func set(_ name: String, _ value: String, _ params: inout MarketParameters) throws {
        guard let setting = all.first(where: { $0.name == name }) else {
            throw CommandError("unknown market parameter '\(name)' (known: \(names))")
        }
        try setting.write(&params, value)
    }

    /// The checked parameters, or an error naming what is wrong.
    static func checked(_ params: MarketParameters) throws -> MarketParameters {
        do { try params.validate() } catch { throw CommandError("\(error)") }
        return params
    }

    /// `[market]` lines for node.toml.
    static func toml(_ params: MarketParameters) -> String {
        var out = "# The market's genesis parameters (used only when the data dir is new).\n[market]\n"
        for s in all {
            let value = s.read(params)
            let quoted =
                s.name == "minimum_stake" || s.name == "dispute_bond" || s.name == "emission_per_epoch"
                ? "\"\(value)\"" : value
            out += "\(s.name) = \(quoted)   # \(s.help)\n"
        }
        return out
    }
}
