import Foundation
public import SluiceCore

// The JSON shapes of accounts, transactions and receipts, shared by `sluice t8n`'s files, the HTTP API
// and its client. Amounts are decimal strings; hashes, addresses, keys and signatures are 0x-prefixed
// hex.

public struct AccountJSON: Codable, Sendable, Equatable {
    public var address: Address
    public var balance: Amount
    public var sequence: UInt64

    public init(address: Address, balance: Amount, sequence: UInt64) {
        self.address = address
        self.balance = balance
        self.sequence = sequence
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        address = try c.decode(Address.self, forKey: .address)
        balance = try c.decode(Amount.self, forKey: .balance)
        sequence = try c.decodeUnsigned(UInt64.self, forKey: .sequence)
    }
}

extension KeyedDecodingContainer {
    /// Decodes a non-negative integer with a message that names the field. (Foundation reports a
    /// negative or fractional number for an unsigned field as "not valid JSON", without the field.)
    public func decodeUnsigned<T: FixedWidthInteger & UnsignedInteger & Decodable>(_: T.Type, forKey key: Key) throws
        -> T
    {
        if let v = try? decode(T.self, forKey: key) { return v }
        if let v = try? decode(Int64.self, forKey: key), v < 0 {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self, debugDescription: "must not be negative, got \(v)")
        }
        if let v = try? decode(Double.self, forKey: key) {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self, debugDescription: "expected an integer from 0 to \(T.max), got \(v)")
        }
        _ = try decode(T.self, forKey: key)  // missing, null or not a number: Foundation's own message
        throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "expected an unsigned integer")
    }

    public func decodeUnsignedIfPresent<T: FixedWidthInteger & UnsignedInteger & Decodable>(_: T.Type, forKey key: Key)
        throws
        -> T?
    {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try decodeUnsigned(T.self, forKey: key)
    }
}

/// A payload: `{"type": "transfer", "to", "amount"}`, `{"type": "compute-transfer", "to", "amount",
/// "rounds"}`, `{"type": "provider.register", "offer": {…}}`, `{"type": "job.submit", "job": {…}}`,
/// `{"type": "job.cancel", "jobId"}`, `{"type": "job.commit", "jobId", "commitment"}`,
/// `{"type": "job.reveal", "jobId", "result", "salt", "usageSeconds"}`, `{"type": "audit.report", "jobId",
/// "result", "usageSeconds"}`, `{"type": "job.dispute", "jobId"}`, `{"type": "reward.claim"}`. Only the
/// fields of its type may be present.
public struct PayloadJSON: Codable, Sendable, Equatable {
    public var type: PayloadKind
    public var to: Address?
    public var amount: Amount?
    /// Only for `compute-transfer`.
    public var rounds: UInt32?
    /// Only for `provider.register`.
    public var offer: ProviderOfferJSON?
    /// Only for `job.submit`.
    public var job: JobSpecJSON?
    /// For `job.cancel`, `job.commit`, `job.reveal`, `audit.report` and `job.dispute`.
    public var jobId: Hash?
    /// Only for `job.commit`.
    public var commitment: Hash?
    /// Only for `provider.update`.
    public var update: ProviderUpdateJSON?
    /// For `job.reveal` and `audit.report` (`salt` only for `job.reveal`).
    public var result: Hash?
    public var salt: Hash?
    public var usageSeconds: UInt64?
    /// Optional for `job.reveal` and `audit.report`: the blob of the run's logs (absent: none).
    public var logs: Hash?
    /// Only for `provider.prove`: the answer to a device's proof-of-GPU challenge.
    public var answer: ProofAnswerJSON?

    enum CodingKeys: String, CodingKey {
        case type, to, amount, rounds, offer, job, jobId, commitment, result, salt, usageSeconds, update, logs, answer
    }

    /// The fields each kind carries.
    static func fields(_ kind: PayloadKind) -> Set<CodingKeys> {
        switch kind {
        case .transfer: [.to, .amount]
        case .computeTransfer: [.to, .amount, .rounds]
        case .providerRegister: [.offer]
        case .jobSubmit: [.job]
        case .jobCancel, .jobDispute: [.jobId]
        case .jobCommit: [.jobId, .commitment]
        case .jobReveal: [.jobId, .result, .salt, .usageSeconds, .logs]
        case .providerUpdate: [.update]
        case .providerHeartbeat, .providerUnbond, .providerWithdraw, .rewardClaim: []
        case .auditReport: [.jobId, .result, .usageSeconds, .logs]
        case .providerProve: [.answer]
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.decode(String.self, forKey: .type)
        guard let kind = PayloadKind(name: name) else {
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: c,
                debugDescription:
                    "unknown payload type '\(name)' (use \(PayloadKind.names.sorted().joined(separator: ", ")))")
        }
        type = kind
        let expected = Self.fields(kind)
        for key in c.allKeys.sorted(by: { $0.stringValue < $1.stringValue })
        where key != .type && !expected.contains(key) {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: c, debugDescription: "not a field of a \(type) payload")
        }
        // Sorted, so the message names the same missing field every time.
        for key in expected.sorted(by: { $0.stringValue < $1.stringValue }) where key != .rounds && key != .logs {
            guard c.contains(key) else {
                throw DecodingError.keyNotFound(
                    key, .init(codingPath: c.codingPath, debugDescription: "a \(type) payload needs \(key.stringValue)")
                )
            }
        }
        to = try c.decodeIfPresent(Address.self, forKey: .to)
        amount = try c.decodeIfPresent(Amount.self, forKey: .amount)
        rounds = try c.decodeUnsignedIfPresent(UInt32.self, forKey: .rounds)
        offer = try c.decodeIfPresent(ProviderOfferJSON.self, forKey: .offer)
        job = try c.decodeIfPresent(JobSpecJSON.self, forKey: .job)
        jobId = try c.decodeIfPresent(Hash.self, forKey: .jobId)
        commitment = try c.decodeIfPresent(Hash.self, forKey: .commitment)
        result = try c.decodeIfPresent(Hash.self, forKey: .result)
        salt = try c.decodeIfPresent(Hash.self, forKey: .salt)
        usageSeconds = try c.decodeUnsignedIfPresent(UInt64.self, forKey: .usageSeconds)
        logs = try c.decodeIfPresent(Hash.self, forKey: .logs)
        update = try c.decodeIfPresent(ProviderUpdateJSON.self, forKey: .update)
        answer = try c.decodeIfPresent(ProofAnswerJSON.self, forKey: .answer)
    }

    public init(_ p: Payload) {
        type = p.kind
        switch p {
        case let .transfer(to, amount):
            self.to = to
            self.amount = amount
        case let .computeTransfer(to, amount, rounds):
            self.to = to
            self.amount = amount
            self.rounds = rounds
        case .providerRegister(let registration): offer = ProviderOfferJSON(registration)
        case .jobSubmit(let spec): job = JobSpecJSON(spec)
        case .jobCancel(let id), .jobDispute(let id): jobId = id
        case let .jobCommit(id, commitment):
            jobId = id
            self.commitment = commitment
        case let .jobReveal(id, result, salt, usage, logs):
            jobId = id
            self.result = result
            self.salt = salt
            usageSeconds = usage
            self.logs = logs == .zero ? nil : logs
        case let .auditReport(id, result, usage, logs):
            jobId = id
            self.result = result
            usageSeconds = usage
            self.logs = logs == .zero ? nil : logs
        case .providerUpdate(let u): update = ProviderUpdateJSON(u)
        case .providerHeartbeat, .providerUnbond, .providerWithdraw, .rewardClaim: break
        case .providerProve(let a): answer = ProofAnswerJSON(a)
        }
    }

    /// One line for people: "transfer 100 to 0x…", "job.submit 2 × 1 GPU …".
    public var summary: String {
        switch type {
        case .transfer, .computeTransfer:
            let r = rounds.map { " (\($0) rounds)" } ?? ""
            return "\(type.name) \(amount.map(\.description) ?? "?") to \(to?.hex ?? "?")\(r)"
        case .providerRegister:
            guard let offer else { return type.name }
            let gpus = offer.devices.map { "\($0.count) × \($0.model) \($0.vramGb) GB" }.joined(separator: ", ")
            return "provider.register \(gpus) at \(offer.pricePerGpuHour)/GPU-hour, stake \(offer.stake)"
        case .jobSubmit:
            guard let job else { return type.name }
            return
                "job.submit \(job.redundancy) × \(job.gpuCount) GPU, ≤ \(job.maxPricePerGpuHour)/GPU-hour, ≤ \(job.maxDurationSeconds) s"
        case .jobCancel, .jobCommit, .jobDispute: return "\(type.name) \(jobId?.hex ?? "?")"
        case .auditReport:
            return "audit.report \(jobId?.hex ?? "?") result \(result?.hex ?? "?"), \(usageSeconds ?? 0) s"
        case .jobReveal: return "job.reveal \(jobId?.hex ?? "?") result \(result?.hex ?? "?"), \(usageSeconds ?? 0) s"
        case .providerProve:
            return "provider.prove device \(answer?.device ?? 0) root \(answer?.root.hex ?? "?")"
        case .providerUpdate, .providerHeartbeat, .providerUnbond, .providerWithdraw, .rewardClaim: return type.name
        }
    }

    public func payload() throws(WireError) -> Payload {
        switch type {
        case .transfer:
            guard let to, let amount else { throw WireError("field payload: a transfer needs to and amount") }
            return .transfer(to: to, amount: amount)
        case .computeTransfer:
            guard let to, let amount else { throw WireError("field payload: a compute-transfer needs to and amount") }
            guard let rounds else {
                throw WireError("field payload.rounds: missing (compute-transfer needs rounds)")
            }
            return .computeTransfer(to: to, amount: amount, rounds: rounds)
        case .providerRegister:
            guard let offer else { throw WireError("field payload.offer: missing") }
            return .providerRegister(offer.registration)
        case .jobSubmit:
            guard let job else { throw WireError("field payload.job: missing") }
            return .jobSubmit(job.spec)
        case .jobCancel:
            guard let jobId else { throw WireError("field payload.jobId: missing") }
            return .jobCancel(job: jobId)
        case .providerUpdate:
            guard let update else { throw WireError("field payload.update: missing") }
            return .providerUpdate(update.update)
        case .providerHeartbeat: return .providerHeartbeat
        case .providerUnbond: return .providerUnbond
        case .providerWithdraw: return .providerWithdraw
        case .rewardClaim: return .rewardClaim
        case .jobCommit:
            guard let jobId, let commitment else {
                throw WireError("field payload: job.commit needs jobId and commitment")
            }
            return .jobCommit(job: jobId, commitment: commitment)
        case .jobReveal:
            guard let jobId, let result, let salt, let usageSeconds else {
                throw WireError("field payload: job.reveal needs jobId, result, salt and usageSeconds")
            }
            return .jobReveal(job: jobId, result: result, salt: salt, usageSeconds: usageSeconds, logs: logs ?? .zero)
        case .auditReport:
            guard let jobId, let result, let usageSeconds else {
                throw WireError("field payload: audit.report needs jobId, result and usageSeconds")
            }
            return .auditReport(job: jobId, result: result, usageSeconds: usageSeconds, logs: logs ?? .zero)
        case .jobDispute:
            guard let jobId else { throw WireError("field payload.jobId: missing") }
            return .jobDispute(job: jobId)
        case .providerProve:
            guard let answer else { throw WireError("field payload.answer: missing") }
            return .providerProve(answer.answer)
        }
    }
}

/// `provider.register`'s offer.
public struct ProviderOfferJSON: Codable, Sendable, Equatable {
    public struct Device: Codable, Sendable, Equatable {
        public var model: String
        public var vramGb: UInt32
        public var count: UInt32
        public var score: UInt64
        /// This class's own ask per GPU-hour; absent: the provider's `pricePerGpuHour`.
        public var pricePerGpuHour: Amount? = nil
    }

    public var devices: [Device]
    public var region: String
    public var endpoint: String
    public var stake: Amount
    public var pricePerGpuHour: Amount
    /// The runners the provider supports; absent means ["process"].
    public var runners: [Runner]?

    public init(_ r: ProviderRegistration) {
        devices = r.devices.map(Device.init)
        region = r.region
        endpoint = r.endpoint
        stake = r.stake
        pricePerGpuHour = r.pricePerGPUHour
        runners = r.runners
    }

    public var registration: ProviderRegistration {
        ProviderRegistration(
            devices: devices.map(\.device),
            region: region, endpoint: endpoint, stake: stake, pricePerGPUHour: pricePerGpuHour,
            runners: runners ?? [.process])
    }
}

/// `provider.update`'s new devices and price.
public struct ProviderUpdateJSON: Codable, Sendable, Equatable {
    public var devices: [ProviderOfferJSON.Device]
    public var pricePerGpuHour: Amount

    public init(_ u: ProviderUpdate) {
        devices = u.devices.map(ProviderOfferJSON.Device.init)
        pricePerGpuHour = u.pricePerGPUHour
    }

    public var update: ProviderUpdate {
        ProviderUpdate(
            devices: devices.map(\.device),
            pricePerGPUHour: pricePerGpuHour)
    }
}

/// `job.submit`'s spec.
public struct JobSpecJSON: Codable, Sendable, Equatable {
    public var runner: Runner
    public var bundleHash: Hash
    public var bundleUri: String
    public var inputsHash: Hash
    public var gpuCount: UInt32
    public var minVramGb: UInt32
    public var model: String
    public var maxDurationSeconds: UInt64
    public var maxPricePerGpuHour: Amount
    public var redundancy: UInt8
    public var verification: UInt8

    public init(_ s: JobSpec) {
        runner = s.runner
        bundleHash = s.bundleHash
        bundleUri = s.bundleURI
        inputsHash = s.inputsHash
        gpuCount = s.gpuCount
        minVramGb = s.minVramGB
        model = s.model
        maxDurationSeconds = s.maxDurationSeconds
        maxPricePerGpuHour = s.maxPricePerGPUHour
        redundancy = s.redundancy
        verification = s.verification
    }

    public var spec: JobSpec {
        JobSpec(
            runner: runner, bundleHash: bundleHash, bundleURI: bundleUri, inputsHash: inputsHash, gpuCount: gpuCount,
            minVramGB: minVramGb, model: model, maxDurationSeconds: maxDurationSeconds,
            maxPricePerGPUHour: maxPricePerGpuHour, redundancy: redundancy, verification: verification)
    }
}

/// `{"scheme": "ed25519"|"ml-dsa-65", "publicKey": "0x…", "signature": "0x…"}`
public struct AuthenticatorJSON: Codable, Sendable, Equatable {
    public var scheme: String
    public var publicKey: String
    public var signature: String

    public init(_ a: Authenticator) {
        scheme = a.scheme.name
        publicKey = "0x" + Hex.encode(a.publicKey)
        signature = "0x" + Hex.encode(a.signature)
    }

    public func authenticator() throws(WireError) -> Authenticator {
        do {
            let s = try SignatureScheme(name: scheme)
            let pk: [UInt8]
            let sig: [UInt8]
            do { pk = try Hex.decode(publicKey) } catch {
                throw WireError("field authenticator.publicKey: \(error.message)")
            }
            do { sig = try Hex.decode(signature) } catch {
                throw WireError("field authenticator.signature: \(error.message)")
            }
            return Authenticator(scheme: s, publicKey: pk, signature: sig)
        } catch let e as CoreError {
            throw WireError("field authenticator.scheme: \(e.message)")
        } catch let e as WireError {
            throw e
        } catch {
            throw WireError("field authenticator: \(error)")
        }
    }
}

public struct TransactionJSON: Codable, Sendable, Equatable {
    public var chainId: UInt64?
    public var sender: Address
    public var sequence: UInt64
    public var gasLimit: UInt64
    public var gasPrice: UInt64
    public var expiry: UInt64?
    public var payload: PayloadJSON
    public var authenticator: AuthenticatorJSON?

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        chainId = try c.decodeUnsignedIfPresent(UInt64.self, forKey: .chainId)
        sender = try c.decode(Address.self, forKey: .sender)
        sequence = try c.decodeUnsigned(UInt64.self, forKey: .sequence)
        gasLimit = try c.decodeUnsigned(UInt64.self, forKey: .gasLimit)
        gasPrice = try c.decodeUnsigned(UInt64.self, forKey: .gasPrice)
        expiry = try c.decodeUnsignedIfPresent(UInt64.self, forKey: .expiry)
        payload = try c.decode(PayloadJSON.self, forKey: .payload)
        authenticator = try c.decodeIfPresent(AuthenticatorJSON.self, forKey: .authenticator)
    }

    public init(_ tx: Transaction) {
        chainId = tx.chainId
        sender = tx.sender
        sequence = tx.sequence
        gasLimit = tx.gasLimit
        gasPrice = tx.gasPrice
        expiry = tx.expiry == Transaction.never ? nil : tx.expiry
        payload = PayloadJSON(tx.payload)
        authenticator = tx.authenticator.map(AuthenticatorJSON.init)
    }

    public func transaction(defaultChainId: UInt64) throws(WireError) -> Transaction {
        Transaction(
            chainId: chainId ?? defaultChainId, sender: sender, sequence: sequence, gasLimit: gasLimit,
            gasPrice: gasPrice, expiry: expiry ?? Transaction.never, payload: try payload.payload(),
            authenticator: try authenticator?.authenticator())
    }
}

public struct ReceiptJSON: Codable, Sendable, Equatable {
    public var index: Int
    public var transactionHash: Hash
    public var status: Receipt.Status
    public var gasUsed: UInt64
    public var fee: Amount
    public var error: String?
    public var output: Hash?
    /// What the transaction did (empty when it failed or was discarded).
    public var events: [EventJSON]

    public init(index: Int, _ r: Receipt) {
        events = r.events.map(EventJSON.init)
        self.index = index
        transactionHash = r.transactionHash
        status = r.status
        gasUsed = r.gasUsed
        fee = r.fee
        error = r.error
        output = r.output
    }
}

/// `provider.prove`'s answer: the device's index in the offer, the Merkle root over the product and the
/// openings (`GPUChallenge`).
public struct ProofAnswerJSON: Codable, Sendable, Equatable {
    public struct Opening: Codable, Sendable, Equatable {
        public var leaf: UInt64
        public var values: [UInt32]
        public var path: [Hash]
    }

    public var device: UInt8
    public var root: Hash
    public var openings: [Opening]

    public init(_ a: GPUChallengeAnswer) {
        device = a.device
        root = a.root
        openings = a.openings.map { Opening(leaf: $0.leaf, values: $0.values, path: $0.path) }
    }

    public var answer: GPUChallengeAnswer {
        GPUChallengeAnswer(
            device: device, root: root,
            openings: openings.map { GPUChallengeOpening(leaf: $0.leaf, values: $0.values, path: $0.path) })
    }
}
