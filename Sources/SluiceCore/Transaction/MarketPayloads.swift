// The payloads of the GPU compute market (`Market` in SluiceRuntime executes them; docs/MARKET.md).

/// One class of GPU a provider offers.
public struct GPUDevice: Hashable, Sendable {
    /// e.g. "NVIDIA H100 80GB HBM3", as `nvidia-smi` names it; "cpu" for CPU capacity.
    public var model: String
    public var vramGB: UInt32
    public var count: UInt32
    /// The proof-of-GPU benchmark score the provider claims (checked by the chain's challenges).
    public var score: UInt64
    /// The ask for this class, per GPU-hour; zero: the provider's price (`pricePerGPUHour` of its offer).
    public var pricePerGPUHour: Amount

    public init(model: String, vramGB: UInt32, count: UInt32, score: UInt64, pricePerGPUHour: Amount = .zero) {
        self.model = model
        self.vramGB = vramGB
        self.count = count
        self.score = score
        self.pricePerGPUHour = pricePerGPUHour
    }
}

/// `provider.register`: stake and offer devices at a price.
public struct ProviderRegistration: Hashable, Sendable {
    public var devices: [GPUDevice]
    public var region: String
    /// Where the provider's agent can be reached (informational; jobs flow through the chain).
    public var endpoint: String
    /// Taken from the sender's balance into the provider's stake.
    public var stake: Amount
    /// Price per GPU-hour, in base units.
    public var pricePerGPUHour: Amount
    /// The runners its agent supports: it is matched only to jobs it can run.
    public var runners: [Runner]

    /// The most runners a provider lists, and the longest name (`WireLimits`).
    public static let maxRunners = WireLimits.offerRunners
    public static let maxRunnerName = WireLimits.runnerNameBytes

    public init(
        devices: [GPUDevice], region: String, endpoint: String, stake: Amount, pricePerGPUHour: Amount,
        runners: [Runner] = [.process]
    ) {
        self.devices = devices
        self.region = region
        self.endpoint = endpoint
        self.stake = stake
        self.pricePerGPUHour = pricePerGPUHour
        self.runners = runners
    }
}

/// `provider.update`: new devices and price per GPU-hour.
public struct ProviderUpdate: Hashable, Sendable {
    public var devices: [GPUDevice]
    public var pricePerGPUHour: Amount

    public init(devices: [GPUDevice], pricePerGPUHour: Amount) {
        self.devices = devices
        self.pricePerGPUHour = pricePerGPUHour
    }
}

extension ProviderUpdate: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.writeArray(devices)
        w.write(pricePerGPUHour)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        devices = try r.readArray(GPUDevice.self, max: WireLimits.offerDevices, field: "devices")
        pricePerGPUHour = try r.readAmount()
    }
}

/// How the k providers' results of a job are compared before it settles.
public enum VerificationMode: UInt8, CaseIterable, Sendable {
    /// The k results must be equal, byte for byte (their hashes, committed then revealed).
    case exact = 0

    public var name: String {
        switch self {
        case .exact: "exact"
        }
    }
}

/// What a job needs and may cost. The escrow, `redundancy × gpuCount × maxPricePerGPUHour × maxDuration`
/// (hours, rounded up to the base unit), is taken when the job is submitted.
public struct JobSpec: Hashable, Sendable {
    /// How the provider runs it.
    public var runner: Runner
    public var bundleHash: Hash
    public var bundleURI: String
    public var inputsHash: Hash
    public var gpuCount: UInt32
    public var minVramGB: UInt32
    /// A model the GPUs must be (empty: any).
    public var model: String
    public var maxDurationSeconds: UInt64
    public var maxPricePerGPUHour: Amount
    /// k: how many providers run it independently.
    public var redundancy: UInt8
    /// How the k results are compared: a `VerificationMode`'s raw value. Kept as the byte on the wire so
    /// that a stored job with a value this build does not know still reads back; the mempool refuses one
    /// and execution fails it (`BankError.unknownVerification`).
    public var verification: UInt8

    public init(
        runner: Runner, bundleHash: Hash, bundleURI: String, inputsHash: Hash, gpuCount: UInt32, minVramGB: UInt32,
        model: String, maxDurationSeconds: UInt64, maxPricePerGPUHour: Amount, redundancy: UInt8, verification: UInt8
    ) {
        self.runner = runner
        self.bundleHash = bundleHash
        self.bundleURI = bundleURI
        self.inputsHash = inputsHash
        self.gpuCount = gpuCount
        self.minVramGB = minVramGB
        self.model = model
        self.maxDurationSeconds = maxDurationSeconds
        self.maxPricePerGPUHour = maxPricePerGPUHour
        self.redundancy = redundancy
        self.verification = verification
    }

    /// The verification mode, nil when `verification` names none.
    public var verificationMode: VerificationMode? { VerificationMode(rawValue: verification) }

    /// The escrow the job takes: k × GPUs × price × duration in hours, rounded up; nil on overflow.
    public var escrow: Amount? {
        let (perHour, o1) = maxPricePerGPUHour.value.multipliedReportingOverflow(
            by: UInt128(gpuCount) * UInt128(redundancy))
        let (total, o2) = perHour.multipliedReportingOverflow(by: UInt128(maxDurationSeconds))
        guard !o1, !o2 else { return nil }
        let (hours, remainder) = total.quotientAndRemainder(dividingBy: 3600)
        return Amount(hours + (remainder > 0 ? 1 : 0))
    }
}

extension GPUDevice: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.writeString(model)
        w.write(vramGB)
        w.write(count)
        w.write(score)
        w.write(pricePerGPUHour)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        model = try r.readString(max: WireLimits.deviceModelBytes, field: "device model")
        vramGB = try r.read(UInt32.self)
        count = try r.read(UInt32.self)
        score = try r.read(UInt64.self)
        pricePerGPUHour = try r.readAmount()
    }
}

extension ProviderRegistration: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.writeArray(devices)
        w.writeString(region)
        w.writeString(endpoint)
        w.write(stake)
        w.write(pricePerGPUHour)
        w.writeULEB(UInt64(runners.count))
        for runner in runners { runner.encode(to: &w) }
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        devices = try r.readArray(GPUDevice.self, max: WireLimits.offerDevices, field: "devices")
        region = try r.readString(max: WireLimits.regionBytes, field: "region")
        endpoint = try r.readString(max: WireLimits.endpointBytes, field: "endpoint")
        stake = try r.readAmount()
        pricePerGPUHour = try r.readAmount()
        let count = try r.readLength(max: WireLimits.offerRunners, field: "runners")
        runners = []
        for _ in 0..<count { runners.append(try Runner(from: &r)) }
    }
}

extension JobSpec: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        runner.encode(to: &w)
        w.write(bundleHash)
        w.writeString(bundleURI)
        w.write(inputsHash)
        w.write(gpuCount)
        w.write(minVramGB)
        w.writeString(model)
        w.write(maxDurationSeconds)
        w.write(maxPricePerGPUHour)
        w.write(redundancy)
        w.write(verification)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        runner = try Runner(from: &r)
        bundleHash = try r.readHash()
        bundleURI = try r.readString(max: WireLimits.bundleURIBytes, field: "bundleURI")
        inputsHash = try r.readHash()
        gpuCount = try r.read(UInt32.self)
        minVramGB = try r.read(UInt32.self)
        model = try r.readString(max: WireLimits.jobModelBytes, field: "model")
        maxDurationSeconds = try r.read(UInt64.self)
        maxPricePerGPUHour = try r.readAmount()
        redundancy = try r.read(UInt8.self)
        verification = try r.read(UInt8.self)
    }
}

/// A provider's commitment to a result: SHA-256 of a domain tag, the job, the provider, the result and a
/// salt. Binding the job and the provider means another provider cannot reuse it (copy the commitment
/// now, replay the reveal later).
public enum JobCommitment {
    public static func make(job: Hash, provider: Address, result: Hash, salt: Hash) -> Hash {
        var w = CanonicalWriter(capacity: 160)
        for b in "SLUICE::commit".utf8 { w.write(b) }
        w.write(job)
        w.write(provider)
        w.write(result)
        w.write(salt)
        return Hash.sha256(w.bytes)
    }
}

/// How a provider runs a job: `process` (a command in the sandbox) or `container` (an OCI image, by
/// digest). On the wire a runner is its name, so a name this build does not know is refused where it is
/// decoded (the mempool answers `undecodable` with the names that exist).
public enum Runner: Sendable, Hashable, NamedCases, Codable, CanonicalCodable {
    case process
    case container

    public var name: String {
        switch self {
        case .process: "process"
        case .container: "container"
        }
    }

    public init(from decoder: any Decoder) throws { self = try .decodeName(from: decoder) }
    public func encode(to encoder: any Encoder) throws { try encodeName(to: encoder) }

    public func encode(to w: inout CanonicalWriter) { w.writeString(name) }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        let name = try r.readString(max: WireLimits.runnerNameBytes, field: "runner")
        guard let runner = Runner(name: name) else {
            throw CoreError(
                .codec, "field runner: unknown runner '\(name)' (known: \(Self.names.joined(separator: ", ")))")
        }
        self = runner
    }
}
