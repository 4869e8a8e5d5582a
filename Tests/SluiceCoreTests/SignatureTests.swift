import Testing

@testable import SluiceCore

/// Keys from fixed seeds, so the suite draws no system randomness beyond the ML-DSA signer's own.
private func key(_ scheme: SignatureScheme, _ n: UInt8) throws -> SigningKey {
    try SigningKey(scheme: scheme, seed: (0..<32).map { UInt8($0) &+ n &* 37 })
}

/// A transfer from `key`'s account, signed by it (one signature).
private func signedTransfer(_ key: SigningKey, chainId: UInt64 = 1) -> Transaction {
    Transaction(
        chainId: chainId, sender: key.address, sequence: 7, gasLimit: 50_000, gasPrice: 3,
        payload: .transfer(to: Address(filled(0x42)), amount: 1_000)
    ).signed(with: key)
}

@Suite struct SignatureTests {
    @Test(arguments: SignatureScheme.allCases)
    func signedTransactionVerifies(scheme: SignatureScheme) throws {
        let k = try key(scheme, 1)
        let t = signedTransfer(k)
        #expect(t.verifySignature() == nil)
        let auth = try #require(t.authenticator)
        #expect(auth.scheme == scheme && auth.publicKey == k.publicKey)
        #expect(auth.publicKey.count == scheme.publicKeySize && auth.signature.count == scheme.signatureSize)
        #expect(scheme.isValid(signature: auth.signature, message: t.signingMessage, publicKey: auth.publicKey))
        // The real key and signature sizes survive the codec, and the decoded transaction still verifies.
        let decoded = try Transaction(canonicalBytes: t.canonicalBytes)
        #expect(decoded == t && decoded.verifySignature() == nil)
    }

    @Test(arguments: SignatureScheme.allCases)
    func tamperingInvalidates(scheme: SignatureScheme) throws {
        let t = signedTransfer(try key(scheme, 2))
        var tampers: [(String, (inout Transaction) -> Void)] = [
            ("amount", { $0.payload = .transfer(to: Address(filled(0x42)), amount: 1_001) }),
            ("recipient", { $0.payload = .transfer(to: Address(filled(0x43)), amount: 1_000) }),
            ("payload kind", { $0.payload = .computeTransfer(to: Address(filled(0x42)), amount: 1_000, rounds: 0) }),
            ("sequence", { $0.sequence += 1 }),
            ("chainId 1 → 2", { $0.chainId = 2 }),
            ("gasLimit", { $0.gasLimit -= 1 }),
            ("gasPrice", { $0.gasPrice += 1 }),
            ("expiry", { $0.expiry = 1_700_000_000 }),
            ("signature byte 0", { $0.authenticator!.signature[0] ^= 0x01 }),
            ("signature middle byte", { $0.authenticator!.signature[scheme.signatureSize / 2] ^= 0x80 }),
            ("signature last byte", { $0.authenticator!.signature[scheme.signatureSize - 1] ^= 0x01 }),
            ("signature truncated", { $0.authenticator!.signature.removeLast() }),
            ("signature of another message", { $0.authenticator!.signature = try! key(scheme, 2).sign([1, 2, 3]) }),
        ]
        if scheme == .ed25519 {  // S + ℓ must not verify, or one transaction would have two valid ids
            let order = try Hex.decode("edd3f55c1a631258d69cf7a2def9de14" + String(repeating: "00", count: 15) + "10")
            tampers.append(
                (
                    "signature S + ℓ",
                    { t in
                        var carry = 0
                        for i in 0..<32 {
                            let sum = Int(t.authenticator!.signature[32 + i]) + Int(order[i]) + carry
                            (t.authenticator!.signature[32 + i], carry) = (UInt8(sum & 0xff), sum >> 8)
                        }
                    }
                ))
        }
        for (field, tamper) in tampers {
            var changed = t
            tamper(&changed)
            #expect(changed.verifySignature() == .invalid, "\(field)")
        }
    }

    @Test(arguments: SignatureScheme.allCases)
    func keysThatDoNotDeriveTheSenderAreWrong(scheme: SignatureScheme) throws {
        let k = try key(scheme, 3)
        let t = signedTransfer(k)
        var switched = t
        switched.authenticator!.scheme = scheme == .ed25519 ? .mlDsa65 : .ed25519
        #expect(switched.verifySignature() == .wrongKey)

        var flippedKey = t
        flippedKey.authenticator!.publicKey[0] ^= 1
        #expect(flippedKey.verifySignature() == .wrongKey)

        var otherSender = t  // another account's key signs for this sender
        otherSender.sender = try key(scheme, 4).address
        #expect(otherSender.verifySignature() == .wrongKey)
        var otherSigner = Transaction(
            chainId: 1, sender: k.address, sequence: 0, gasLimit: 1, gasPrice: 1,
            payload: .transfer(to: .treasury, amount: 1))
        otherSigner.sign(with: try key(scheme, 4))
        #expect(otherSigner.verifySignature() == .wrongKey)

        var missing = t
        missing.authenticator = nil
        #expect(missing.verifySignature() == .missing)
    }

    @Test(arguments: SignatureScheme.allCases)
    func seedRestoresTheKey(scheme: SignatureScheme) throws {
        let fresh = try SigningKey(scheme: scheme)
        #expect(fresh.scheme == scheme && fresh.seed.count == 32 && fresh.publicKey.count == scheme.publicKeySize)
        let restored = try SigningKey(scheme: scheme, seed: fresh.seed)
        #expect(
            restored.publicKey == fresh.publicKey && restored.address == fresh.address && restored.seed == fresh.seed)
        #expect(fresh.address == Address(scheme: scheme, publicKey: fresh.publicKey))
        #expect(try key(scheme, 5).publicKey == key(scheme, 5).publicKey)
        #expect(try key(scheme, 5).publicKey != key(scheme, 6).publicKey)
        for count in [0, 31, 33, 64] {
            let error = #expect(throws: CoreError.self) {
                try SigningKey(scheme: scheme, seed: .init(repeating: 1, count: count))
            }
            #expect(error?.code == .badKey)
        }
    }

    @Test func addressDerivationDependsOnTheScheme() throws {
        let ed = try key(.ed25519, 7)
        #expect(Address(scheme: .mlDsa65, publicKey: ed.publicKey) != ed.address)
        forAll(seed: 40, iterations: 100) { c in
            let bytes = c.rng.bytes(c.rng.length())
            #expect(Address(scheme: .ed25519, publicKey: bytes) != Address(scheme: .mlDsa65, publicKey: bytes), c.note)
        }
    }
}
