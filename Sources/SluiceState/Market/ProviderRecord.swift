public import SluiceCore

// The market's records in the state map (docs/MARKET.md): one per provider (this file), one per job
// (JobRecord), and the book (MarketBook), which only the block-end step writes.

/// A registered provider.
public struct ProviderRecord: Hashable, Sendable {
    public enum Status: UInt8, Sendable, NamedCases, Codable {
        case active = 0
        /// Takes no new jobs; its stake can be withdrawn after the unbonding period.
        case unbonding = 1
        /// Its stake went back; it leaves the book.
        case withdrawn = 2

        public var name: String {
            switch self {
            case .active: "active"
            case .unbonding: "unbonding"
            case .withdrawn: "withdrawn"
            }
        }

        public init(from decoder: any Decoder) throws { self = try .decodeName(from: decoder) }
        public func encode(to encoder: any Encoder) throws { try encodeName(to: encoder) }
    }

    public var owner: Address
    public var offer: ProviderRegistration
    /// The stake held now (slashes reduce it).
    public var stake: Amount
    /// GPUs offered (all device classes).
    public var capacity: UInt32
    /// GPUs taken by matched jobs and audits, per device class of the offer (same indices and count as
    /// `offer.devices`): a job runs on the class it was matched at, so one class's jobs never take another's
    /// GPUs.
    public var busyByDevice: [UInt32]
    public var status: Status
    public var jobsDone: UInt32
    public var jobsFailed: UInt32
    public var jobsDisputed: UInt32
    /// The height of the block that registered it (set at block end).
    public var registeredHeight: UInt64
    /// The block of its last heartbeat, and how many it sent.
    public var lastHeartbeatHeight: UInt64
    public var heartbeats: UInt64
    /// The block of its `provider.unbond`.
    public var unbondHeight: UInt64
    /// Proof of GPU, one entry per device class of its offer (empty until the block-end step issues the
    /// first round, and when the chain asks for no proofs).
    public var proofs: [DeviceProof]
    /// Unix seconds of the block that issued its latest round.
    public var proofIssuedTimestamp: UInt64
    /// Bit i: a heartbeat arrived in uptime slot (`lastHeartbeatHeight` / `uptimeSlotBlocks`) − i
    /// (`uptimeBasisPoints`).
    public var heartbeatSlots: UInt64
    /// GPU-seconds of its jobs settled in epoch `workEpoch` (GPUs × seconds used): its weight in that
    /// epoch's emission.
    public var epochGPUSeconds: UInt64
    public var workEpoch: UInt64

    public init(owner: Address, offer: ProviderRegistration) {
        self.owner = owner
        self.offer = offer
        stake = offer.stake
        capacity = offer.devices.reduce(0) { $0 &+ $1.count }
        busyByDevice = Array(repeating: 0, count: offer.devices.count)
        status = .active
        jobsDone = 0
        jobsFailed = 0
        jobsDisputed = 0
        registeredHeight = 0
        lastHeartbeatHeight = 0
        heartbeats = 0
        unbondHeight = 0
        proofs = []
        proofIssuedTimestamp = 0
        heartbeatSlots = 0
        epochGPUSeconds = 0
        workEpoch = 0
    }

    /// GPUs taken, all classes together.
    public var busy: UInt32 { busyByDevice.reduce(0) { $0 &+ $1 } }
    public var free: UInt32 { capacity > busy ? capacity - busy : 0 }

    /// GPUs of device class `i` not taken.
    public func free(device i: Int) -> UInt32 {
        guard busyByDevice.indices.contains(i) else { return 0 }
        return offer.devices[i].count > busyByDevice[i] ? offer.devices[i].count - busyByDevice[i] : 0
    }

    /// Takes `gpus` GPUs of class `i` for a job or an audit.
    package mutating func take(_ gpus: UInt32, device i: Int) {
        guard busyByDevice.indices.contains(i) else { return }
        busyByDevice[i] &+= gpus
    }

    /// Gives back `gpus` GPUs of class `i` (never below zero).
    package mutating func release(_ gpus: UInt32, device i: Int) {
        guard busyByDevice.indices.contains(i) else { return }
        busyByDevice[i] = busyByDevice[i] >= gpus ? busyByDevice[i] - gpus : 0
    }

    /// Higher is better: done jobs, less twice the failed and three times the disputed.
    public var reputation: Int64 { Int64(jobsDone) - 2 * Int64(jobsFailed) - 3 * Int64(jobsDisputed) }

    /// Whether it has shown signs of life within `timeoutBlocks` blocks of `height`: its last heartbeat, or
    /// its registration when it has sent none (0: always).
    public func isLive(at height: UInt64, timeoutBlocks: UInt64) -> Bool {
        guard timeoutBlocks > 0 else { return true }
        let last = max(lastHeartbeatHeight, registeredHeight)
        return height <= last || height - last <= timeoutBlocks
    }

    /// Whether its devices meet a job's requirements; with `proven`, only devices that passed their latest
    /// decided proof-of-GPU round count.
    public func fits(_ spec: JobSpec, proven: Bool = false) -> Bool {
        offer.devices.indices.contains { fits(spec, device: $0, proven: proven) }
    }

    /// Whether device class `i` meets a job's requirements (and the provider runs the job's runner).
    public func fits(_ spec: JobSpec, device i: Int, proven: Bool) -> Bool {
        let d = offer.devices[i]
        return offer.runners.contains(spec.runner) && d.vramGB >= spec.minVramGB
            && (spec.model.isEmpty || d.model == spec.model) && d.count >= spec.gpuCount
            && (!proven || (i < proofs.count && proofs[i].eligible))
    }

    /// The ask of device class `i`: its own price, or the provider's when it names none.
    public func ask(device i: Int) -> Amount {
        let own = offer.devices[i].pricePerGPUHour
        return own > .zero ? own : offer.pricePerGPUHour
    }

    /// The cheapest ask among the device classes that fit a job, nil when none does.
    /// The device class a job (or an audit) would run on: the cheapest that fits it and has its GPUs free
    /// (lowest index on a tie), with its ask.
    public func cheapestFreeClass(for spec: JobSpec, proven: Bool) -> (device: Int, ask: Amount)? {
        var best: (device: Int, ask: Amount)? = nil
        for i in offer.devices.indices where free(device: i) >= spec.gpuCount && fits(spec, device: i, proven: proven) {
            let a = ask(device: i)
            if best == nil || a < best!.ask { best = (i, a) }
        }
        return best
    }

    /// The lowest and highest ask over its device classes.
    public var askRange: (low: Amount, high: Amount) {
        let asks = offer.devices.indices.map { ask(device: $0) }
        return (asks.min() ?? offer.pricePerGPUHour, asks.max() ?? offer.pricePerGPUHour)
    }
}

extension ProviderRecord: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(owner)
        w.write(offer)
        w.write(stake)
        w.write(capacity)
        w.writeULEB(UInt64(busyByDevice.count))
        for b in busyByDevice { w.write(b) }
        w.write(status.rawValue)
        w.write(jobsDone)
        w.write(jobsFailed)
        w.write(jobsDisputed)
        w.write(registeredHeight)
        w.write(lastHeartbeatHeight)
        w.write(heartbeats)
        w.write(unbondHeight)
        w.writeArray(proofs)
        w.write(proofIssuedTimestamp)
        w.write(heartbeatSlots)
        w.write(epochGPUSeconds)
        w.write(workEpoch)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        owner = try r.readAddress()
        offer = try r.read(ProviderRegistration.self)
        stake = try r.readAmount()
        capacity = try r.read(UInt32.self)
        // One count per device class of the offer (register and update keep them in step).
        let classes = try r.readLength(max: WireLimits.offerDevices, field: "busy classes")
        guard classes == offer.devices.count else {
            throw CoreError(
                .codec, "a provider record counts busy GPUs for \(classes) classes, not \(offer.devices.count)")
        }
        busyByDevice = []
        for _ in 0..<classes { busyByDevice.append(try r.read(UInt32.self)) }
        let s = try r.readByte()
        guard let status = Status(rawValue: s) else { throw CoreError(.codec, "unknown provider status \(s)") }
        self.status = status
        jobsDone = try r.read(UInt32.self)
        jobsFailed = try r.read(UInt32.self)
        jobsDisputed = try r.read(UInt32.self)
        registeredHeight = try r.read(UInt64.self)
        lastHeartbeatHeight = try r.read(UInt64.self)
        heartbeats = try r.read(UInt64.self)
        unbondHeight = try r.read(UInt64.self)
        proofs = try r.readArray(DeviceProof.self, max: WireLimits.offerDevices, field: "proofs")
        proofIssuedTimestamp = try r.read(UInt64.self)
        heartbeatSlots = try r.read(UInt64.self)
        epochGPUSeconds = try r.read(UInt64.self)
        workEpoch = try r.read(UInt64.self)
    }
}

extension ProviderRecord {
    /// Slots the uptime figure looks back over.
    public static let uptimeWindowSlots: UInt64 = 64

    /// Records a heartbeat at `height` in the slot map.
    package mutating func recordHeartbeat(height: UInt64, slotBlocks: UInt64) {
        let slot = height / slotBlocks
        if heartbeats == 0 {
            heartbeatSlots = 1
        } else {
            let last = lastHeartbeatHeight / slotBlocks
            let shift = slot >= last ? slot - last : 0
            heartbeatSlots = shift >= 64 ? 1 : (heartbeatSlots << shift) | 1
        }
        lastHeartbeatHeight = height
        heartbeats += 1
    }

    /// Whether a heartbeat arrived in uptime slot `slot`.
    func heartbeat(inSlot slot: UInt64, slotBlocks: UInt64) -> Bool {
        guard heartbeats > 0 else { return false }
        let last = lastHeartbeatHeight / slotBlocks
        guard slot <= last, last - slot < 64 else { return false }
        return heartbeatSlots >> (last - slot) & 1 == 1
    }

    /// Uptime at `height`, in basis points: of the completed slots among the last 64 that began after
    /// the registration's slot, the share with a heartbeat; the current slot counts only once it has
    /// one. 10,000 while nothing was expected yet (a provider in its first slot).
    /// - Complexity: O(64).
    public func uptimeBasisPoints(at height: UInt64, slotBlocks: UInt64) -> UInt32 {
        let slotBlocks = max(slotBlocks, 1)
        let current = height / slotBlocks
        let first = max(
            registeredHeight / slotBlocks + 1, current >= Self.uptimeWindowSlots ? current - Self.uptimeWindowSlots : 0)
        var expected: UInt64 = 0
        var received: UInt64 = 0
        var slot = first
        while slot < current {
            expected += 1
            if heartbeat(inSlot: slot, slotBlocks: slotBlocks) { received += 1 }
            slot += 1
        }
        if heartbeat(inSlot: current, slotBlocks: slotBlocks) {
            expected += 1
            received += 1
        }
        guard expected > 0 else { return 10_000 }
        return UInt32(received * 10_000 / expected)
    }

    /// GPU-seconds of its jobs settled in `epoch`.
    public func verifiedGPUSeconds(inEpoch epoch: UInt64) -> UInt64 { workEpoch == epoch ? epochGPUSeconds : 0 }

    package mutating func addVerifiedWork(_ gpuSeconds: UInt64, epoch: UInt64) {
        if workEpoch != epoch {
            workEpoch = epoch
            epochGPUSeconds = 0
        }
        let (sum, overflow) = epochGPUSeconds.addingReportingOverflow(gpuSeconds)
        epochGPUSeconds = overflow ? .max : sum
    }
}
