extension Payload: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        switch self {
        case let .transfer(to, amount):
            w.writeULEB(0)
            w.write(to)
            w.write(amount)
        case let .computeTransfer(to, amount, rounds):
            w.writeULEB(1)
            w.write(to)
            w.write(amount)
            w.write(rounds)
        case .providerRegister(let registration):
            w.writeULEB(2)
            w.write(registration)
        case .jobSubmit(let spec):
            w.writeULEB(3)
            w.write(spec)
        case .jobCancel(let job):
            w.writeULEB(4)
            w.write(job)
        case let .jobCommit(job, commitment):
            w.writeULEB(5)
            w.write(job)
            w.write(commitment)
        case let .jobReveal(job, result, salt, usage, logs):
            w.writeULEB(6)
            w.write(job)
            w.write(result)
            w.write(salt)
            w.write(usage)
            w.write(logs)
        case .providerUpdate(let update):
            w.writeULEB(7)
            w.write(update)
        case .providerHeartbeat: w.writeULEB(8)
        case .providerUnbond: w.writeULEB(9)
        case .providerWithdraw: w.writeULEB(10)
        case let .auditReport(job, result, usage, logs):
            w.writeULEB(11)
            w.write(job)
            w.write(result)
            w.write(usage)
            w.write(logs)
        case .jobDispute(let job):
            w.writeULEB(12)
            w.write(job)
        case .providerProve(let answer):
            w.writeULEB(13)
            w.write(answer)
        case .rewardClaim: w.writeULEB(14)
        }
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        let at = r.offset
        switch try r.readULEB() {
        case 0: self = .transfer(to: try r.readAddress(), amount: try r.readAmount())
        case 1:
            self = .computeTransfer(
                to: try r.readAddress(), amount: try r.readAmount(), rounds: try r.read(UInt32.self))
        case 2: self = .providerRegister(try r.read(ProviderRegistration.self))
        case 3: self = .jobSubmit(try r.read(JobSpec.self))
        case 4: self = .jobCancel(job: try r.readHash())
        case 5: self = .jobCommit(job: try r.readHash(), commitment: try r.readHash())
        case 6:
            self = .jobReveal(
                job: try r.readHash(), result: try r.readHash(), salt: try r.readHash(),
                usageSeconds: try r.read(UInt64.self), logs: try r.readHash())
        case 7: self = .providerUpdate(try r.read(ProviderUpdate.self))
        case 8: self = .providerHeartbeat
        case 9: self = .providerUnbond
        case 10: self = .providerWithdraw
        case 11:
            self = .auditReport(
                job: try r.readHash(), result: try r.readHash(), usageSeconds: try r.read(UInt64.self),
                logs: try r.readHash())
        case 12: self = .jobDispute(job: try r.readHash())
        case 13: self = .providerProve(try r.read(GPUChallengeAnswer.self))
        case 14: self = .rewardClaim
        case let tag: throw CoreError(.codec, "unknown payload type \(tag) at offset \(at)")
        }
    }
}

extension SignatureScheme: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) { w.write(rawValue) }
    public init(from r: inout CanonicalReader) throws(CoreError) {
        let at = r.offset
        let b = try r.readByte()
        guard let s = SignatureScheme(rawValue: b) else {
            throw CoreError(.codec, "unknown signature scheme \(b) at offset \(at)")
        }
        self = s
    }
}

extension Authenticator: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(scheme)
        w.writeBytes(publicKey)
        w.writeBytes(signature)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        scheme = try r.read(SignatureScheme.self)
        publicKey = try r.readBytes(max: WireLimits.publicKeyBytes, field: "public key")
        signature = try r.readBytes(max: WireLimits.signatureBytes, field: "signature")
    }
}

extension Transaction: CanonicalCodable {
    /// Everything but the authenticator: the part that is signed.
    public func encodeUnsigned(to w: inout CanonicalWriter) {
        w.write(chainId)
        w.write(sender)
        w.write(sequence)
        w.write(gasLimit)
        w.write(gasPrice)
        w.write(expiry)
        w.write(payload)
    }

    public func encode(to w: inout CanonicalWriter) {
        encodeUnsigned(to: &w)
        w.writeOptional(authenticator)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        chainId = try r.read(UInt64.self)
        sender = try r.readAddress()
        sequence = try r.read(UInt64.self)
        gasLimit = try r.read(UInt64.self)
        gasPrice = try r.read(UInt64.self)
        expiry = try r.read(UInt64.self)
        payload = try r.read(Payload.self)
        authenticator = try r.readOptional(Authenticator.self)
    }
}
