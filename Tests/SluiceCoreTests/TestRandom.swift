// Deterministic randomness for property tests: every case is seeded, so a failure names the seed and
// iteration that replay it (`SplitMix64(seed:iteration:)`), and the suite draws the same values on every run.

import Testing

@testable import SluiceCore

extension SplitMix64 {
    /// The generator of one iteration of a property.
    init(seed: UInt64, iteration: Int) {
        var mixer = SplitMix64(seed: seed ^ (UInt64(iteration) &* 0xD1B5_4A32_D192_ED03))
        self.init(seed: mixer.next())
    }
}

/// One case of a property: its generator and the note that identifies it in failure messages.
struct PropertyCase {
    var rng: SplitMix64
    let iteration: Int
    let note: Comment
}

/// Checks `body` on `iterations` seeded cases; a thrown error is recorded against its case, not fatal.
func forAll(
    seed: UInt64, iterations: Int = 500, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (inout PropertyCase) throws -> Void
) {
    for i in 0..<iterations {
        let note: Comment = "seed \(seed) iteration \(i): replay with SplitMix64(seed: \(seed), iteration: \(i))"
        var c = PropertyCase(rng: SplitMix64(seed: seed, iteration: i), iteration: i, note: note)
        do { try body(&c) } catch { Issue.record(error, note, sourceLocation: sourceLocation) }
    }
}

extension SplitMix64 {
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
    mutating func bool() -> Bool { Bool.random(using: &self) }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in byte() } }

    /// A length that is often 0 or small and often straddles 127/128, where ULEB128 grows a byte.
    mutating func length() -> Int {
        switch int(0...3) {
        case 0: int(0...1)
        case 1: int(0...16)
        case 2: int(120...136)
        default: int(0...300)
        }
    }

    /// An integer biased toward the edges, where encoders go wrong.
    mutating func integer<I: FixedWidthInteger & UnsignedInteger>(_: I.Type = I.self) -> I {
        switch int(0...5) {
        case 0: 0
        case 1: .max
        case 2: I(truncatingIfNeeded: int(0...300))
        default: I.random(in: I.min...I.max, using: &self)
        }
    }

    mutating func hash() -> Hash { Hash(w0: next(), w1: next(), w2: next(), w3: next()) }
    mutating func address() -> Address { Address(hash()) }
    mutating func amount() -> Amount { Amount(integer(UInt128.self)) }
    mutating func scheme() -> SignatureScheme { SignatureScheme.allCases.randomElement(using: &self)! }

    mutating func payload() -> Payload {
        bool()
            ? .transfer(to: address(), amount: amount())
            : .computeTransfer(to: address(), amount: amount(), rounds: integer())
    }

    mutating func transaction() -> Transaction {
        Transaction(
            chainId: integer(), sender: address(), sequence: integer(), gasLimit: integer(), gasPrice: integer(),
            expiry: integer(), payload: payload(),
            authenticator: bool()
                ? Authenticator(scheme: scheme(), publicKey: bytes(length()), signature: bytes(length())) : nil)
    }

    mutating func header() -> BlockHeader {
        BlockHeader(
            chainId: integer(), height: integer(), round: integer(), parentHash: hash(), timestamp: integer(),
            proposer: address(), transactionsRoot: hash(), parentStateRoot: hash(), parentReceiptsRoot: hash(),
            parentCertificate: hash())
    }

    mutating func block() -> Block {
        Block(header: header(), transactions: (0..<int(0...4)).map { _ in transaction() })
    }

    /// Text mixing one- to four-byte UTF-8 scalars.
    mutating func text() -> String {
        let pools: [ClosedRange<UInt32>] = [0x00...0x7F, 0xA0...0x7FF, 0x4E00...0x9FFF, 0x1F600...0x1F64F]
        var s = String.UnicodeScalarView()
        for _ in 0..<int(0...40) { s.append(Unicode.Scalar(UInt32.random(in: pools[int(0...3)], using: &self))!) }
        return String(s)
    }

    mutating func receipt() -> Receipt {
        Receipt(
            transactionHash: hash(), status: Receipt.Status.allCases.randomElement(using: &self)!, gasUsed: integer(),
            fee: amount(), error: bool() ? text() : nil, output: bool() ? hash() : nil)
    }

    mutating func stateKey() -> StateKey { StateKey(space: StateKey.Space(rawValue: integer()), id: hash()) }
}

/// SHA-256 from FIPS 180-4, written out so the tests check `Hash.sha256` and derivations against an
/// implementation that shares no code with the module.
enum ReferenceSHA256 {
    private static let k: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]

    private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { x >> n | x << (32 - n) }

    static func digest(_ message: [UInt8]) -> [UInt8] {
        var h: [UInt32] = [
            0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19,
        ]
        var m = message + [0x80]
        while m.count % 64 != 56 { m.append(0) }
        let bits = UInt64(message.count) * 8
        for i in (0..<8).reversed() { m.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(i)))) }
        for chunk in stride(from: 0, to: m.count, by: 64) {
            var w = [UInt32](repeating: 0, count: 64)
            for t in 0..<16 { w[t] = (0..<4).reduce(0) { $0 << 8 | UInt32(m[chunk + 4 * t + $1]) } }
            for t in 16..<64 {
                let s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3)
                let s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10)
                w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
            }
            var v = h
            for t in 0..<64 {
                let t1 =
                    v[7] &+ (rotr(v[4], 6) ^ rotr(v[4], 11) ^ rotr(v[4], 25)) &+ (v[4] & v[5] ^ ~v[4] & v[6]) &+ k[t]
                    &+ w[t]
                let t2 = (rotr(v[0], 2) ^ rotr(v[0], 13) ^ rotr(v[0], 22)) &+ (v[0] & v[1] ^ v[0] & v[2] ^ v[1] & v[2])
                v = [t1 &+ t2, v[0], v[1], v[2], v[3] &+ t1, v[4], v[5], v[6]]
            }
            for i in 0..<8 { h[i] &+= v[i] }
        }
        return h.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> (24 - 8 * UInt32($0))) } }
    }
}

extension SplitMix64 {
    /// An event of any kind, with random fields.
    mutating func anyEvent() -> Event {
        let kinds = Event.Kind.allCases
        switch kinds[int(0...kinds.count - 1)] {
        case .transfer: return .transfer(from: address(), to: address(), amount: amount())
        case .providerRegistered: return .providerRegistered(provider: address(), stake: amount())
        case .providerUpdated: return .providerUpdated(provider: address())
        case .providerHeartbeat: return .providerHeartbeat(provider: address())
        case .providerUnbonding: return .providerUnbonding(provider: address())
        case .providerWithdrawn: return .providerWithdrawn(provider: address(), amount: amount())
        case .proofPassed: return .proofPassed(provider: address(), device: integer())
        case .jobSubmitted: return .jobSubmitted(job: hash(), consumer: address(), escrow: amount())
        case .jobCancelled: return .jobCancelled(job: hash(), consumer: address(), refund: amount())
        case .resultCommitted: return .resultCommitted(job: hash(), provider: address())
        case .resultRevealed: return .resultRevealed(job: hash(), provider: address(), result: hash())
        case .auditReported: return .auditReported(job: hash(), auditor: address())
        case .jobDisputed: return .jobDisputed(job: hash(), consumer: address())
        case .rewardClaimed: return .rewardClaimed(account: address(), amount: amount())
        case .feesCollected: return .feesCollected(amount: amount())
        case .jobStatus:
            return .jobStatus(
                job: hash(), status: JobStatus.allCases[int(0...7)], providers: (0..<int(0...3)).map { _ in address() })
        case .jobSettled:
            return .jobSettled(
                job: hash(), consumer: address(),
                payouts: (0..<int(0...3)).map { _ in Payout(provider: address(), amount: amount()) }, refund: amount())
        case .jobRefunded: return .jobRefunded(job: hash(), consumer: address(), amount: amount())
        case .jobPaid, .auditPaid, .slashShared, .rewardCredited, .providerSlashed:
            return .income(
                account: address(), kind: IncomeKind.allCases[int(0...4)], amount: amount(), fee: amount(),
                job: bool() ? hash() : nil)
        case .proofIssued: return .proofIssued(provider: address(), round: integer())
        case .proofFailed: return .proofFailed(provider: address(), device: integer())
        case .auditAssigned: return .auditAssigned(job: hash(), auditor: address())
        }
    }
}
