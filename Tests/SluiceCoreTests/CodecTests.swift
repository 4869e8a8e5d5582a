import Testing

@testable import SluiceCore

/// A hash whose 32 bytes are all `byte`.
func filled(_ byte: UInt8) -> Hash {
    let word = UInt64(byte) * 0x0101_0101_0101_0101
    return Hash(w0: word, w1: word, w2: word, w3: word)
}

/// On random values: round trip and re-encoding; a trailing byte and every strict prefix (of the first
/// `truncations` cases) rejected; one byte flipped, inserted or deleted either rejected or re-encoded to itself.
private func checkCodec<T: CanonicalCodable & Equatable>(
    seed: UInt64, truncations: Int = 100, sourceLocation: SourceLocation = #_sourceLocation,
    _ make: (inout SplitMix64) -> T
) {
    var mutantsDecoded = 0
    forAll(seed: seed, sourceLocation: sourceLocation) { c throws in
        let value = make(&c.rng)
        let bytes = value.canonicalBytes
        let decoded = try T(canonicalBytes: bytes)
        #expect(decoded == value, c.note, sourceLocation: sourceLocation)
        #expect(decoded.canonicalBytes == bytes, c.note, sourceLocation: sourceLocation)
        let longer = bytes + [c.rng.byte()]
        #expect(throws: CoreError.self, c.note, sourceLocation: sourceLocation) { try T(canonicalBytes: longer) }
        if c.iteration < truncations {
            let accepted = (0..<bytes.count).filter { (try? T(canonicalBytes: Array(bytes[..<$0]))) != nil }
            #expect(
                accepted.isEmpty, "prefixes \(accepted) decoded; \(c.note.rawValue)", sourceLocation: sourceLocation)
        }
        var mutant = bytes
        let at = c.rng.int(0...bytes.count - 1)
        switch c.rng.int(0...2) {
        case 0: mutant[at] ^= UInt8(c.rng.int(1...255))
        case 1: mutant.insert(c.rng.byte(), at: at)
        default: mutant.remove(at: at)
        }
        guard let value = try? T(canonicalBytes: mutant) else { return }
        mutantsDecoded += 1
        #expect(value.canonicalBytes == mutant, c.note, sourceLocation: sourceLocation)
    }
    #expect(mutantsDecoded > 0, "no mutant decoded, so canonicality went unchecked", sourceLocation: sourceLocation)
}

private func ones(_ n: Int, _ byte: UInt8 = 0xff) -> [UInt8] { [UInt8](repeating: byte, count: n) }

private func uleb(_ bytes: [UInt8]) throws(CoreError) -> UInt64 {
    var r = CanonicalReader(bytes)
    let v = try r.readULEB()
    try r.finish()
    return v
}

@Suite struct CodecTests {
    // The generators draw each payload kind, authenticator, receipt error and output half the time.
    @Test func transactionsRoundTrip() { checkCodec(seed: 20) { $0.transaction() } }
    @Test func blocksRoundTrip() { checkCodec(seed: 21, truncations: 20) { $0.block() } }
    @Test func headersRoundTrip() { checkCodec(seed: 22) { $0.header() } }
    @Test func stateKeysRoundTrip() { checkCodec(seed: 23) { $0.stateKey() } }
    @Test func receiptsRoundTrip() { checkCodec(seed: 24) { $0.receipt() } }

    // MARK: Known answers, derived by hand from the layout: u64/u32/u128 little-endian, Hash as its 32 bytes,
    // enum tags and lengths ULEB128, optional = 0 | 1 ‖ value.

    static let transaction = Transaction(
        chainId: 1, sender: Address(filled(0x11)), sequence: 2, gasLimit: 0x0102_0304_0506_0708, gasPrice: 300,
        expiry: Transaction.never, payload: .computeTransfer(to: Address(filled(0x22)), amount: 1_000_000, rounds: 200),
        authenticator: Authenticator(
            scheme: .mlDsa65, publicKey: [0xaa, 0xbb, 0xcc], signature: [UInt8](repeating: 0x55, count: 130)))

    static let transactionHex = [
        "0100000000000000",  // chainId 1
        String(repeating: "11", count: 32),  // sender
        "0200000000000000",  // sequence 2
        "0807060504030201",  // gasLimit 0x0102030405060708
        "2c01000000000000",  // gasPrice 300 = 0x012c
        "ffffffffffffffff",  // expiry never = 2^64-1
        "01",  // offset 72: payload tag 1, computeTransfer
        String(repeating: "22", count: 32),  // to
        "40420f" + String(repeating: "00", count: 13),  // amount 1_000_000 = 0x0f4240, 16 bytes
        "c8000000",  // rounds 200
        "01",  // offset 125: authenticator present
        "01",  // offset 126: scheme ML-DSA-65
        "03aabbcc",  // public key, length 3
        "8201" + String(repeating: "55", count: 130),  // signature, length 130 = ULEB 0x82 0x01
    ].joined()

    @Test func transactionKnownAnswer() throws {
        let t = Self.transaction
        #expect(Hex.encode(t.canonicalBytes) == Self.transactionHex)
        #expect(try Transaction(canonicalBytes: Hex.decode(Self.transactionHex)) == t)
        #expect(t.hash.bytes == ReferenceSHA256.digest(try Hex.decode(Self.transactionHex)))
        #expect(t.signingMessage == Array("SLUICE::Transaction::v1".utf8) + Array(t.canonicalBytes[..<125]))

        var unsigned = Self.transaction
        unsigned.authenticator = nil
        unsigned.payload = .transfer(to: Address(filled(0xab)), amount: Amount(UInt128(1) << 64 | 5))
        let hex =
            String(Self.transactionHex.prefix(144)) + "00" + String(repeating: "ab", count: 32)
            + "0500000000000000" + "0100000000000000" + "00"
        #expect(Hex.encode(unsigned.canonicalBytes) == hex)
    }

    @Test func receiptStateKeyAndBlockKnownAnswers() throws {
        let receipt = Receipt(
            transactionHash: filled(0x33), status: .failed, gasUsed: 21_000, fee: 21_000, error: "é",
            output: filled(0x44))
        let receiptHex =
            String(repeating: "33", count: 32) + "01" + "0852000000000000"
            + "0852" + String(repeating: "00", count: 14) + "01" + "02c3a9" + "01" + String(repeating: "44", count: 32)
            + "00"  // no events
        #expect(Hex.encode(receipt.canonicalBytes) == receiptHex)
        // A receipt with a transfer event: count 1, tag 0, from, to, amount (u128 LE).
        var withEvent = receipt
        withEvent.events = [.transfer(from: Address(filled(0x01)), to: Address(filled(0x02)), amount: 5)]
        #expect(
            Hex.encode(withEvent.canonicalBytes)
                == receiptHex.dropLast(2) + "01" + "00" + String(repeating: "01", count: 32)
                + String(repeating: "02", count: 32) + "05" + String(repeating: "00", count: 15))
        let key = StateKey(space: .init(rawValue: 0x0102_0304), id: filled(0x55))
        #expect(Hex.encode(key.canonicalBytes) == "04030201" + String(repeating: "55", count: 32))

        let header = BlockHeader(
            chainId: 1, height: 2, round: 4, parentHash: filled(0x0a), timestamp: 3, proposer: Address(filled(0x0b)),
            transactionsRoot: filled(0x0c), parentStateRoot: filled(0x0d), parentReceiptsRoot: filled(0x0e),
            parentCertificate: filled(0x0f))
        // Version 2 first, then the fields in order.
        let headerHex =
            "02" + "0100000000000000" + "0200000000000000" + "0400000000000000" + String(repeating: "0a", count: 32)
            + "0300000000000000" + ["0b", "0c", "0d", "0e", "0f"].map { String(repeating: $0, count: 32) }.joined()
        #expect(Hex.encode(header.canonicalBytes) == headerHex)
        let block = Block(header: header, transactions: [Self.transaction])
        #expect(Hex.encode(block.canonicalBytes) == headerHex + "01" + Self.transactionHex)
    }

    // MARK: Strictness

    @Test(
        arguments: [
            (72, 2), (72, 0x7f), (72, 0x81),  // unknown payload tag; a tag's ULEB128 cut short
            (125, 2), (125, 0xff),  // optional tag neither 0 nor 1
            (126, 2), (126, 0xff),  // unknown signature scheme
        ] as [(Int, UInt8)])
    func unknownTransactionTagsRejected(offset: Int, byte: UInt8) throws {
        var bytes = try Hex.decode(Self.transactionHex)
        bytes[offset] = byte
        #expect(throws: CoreError.self) { try Transaction(canonicalBytes: bytes) }
    }

    @Test(arguments: [(32, 3), (32, 0xff), (57, 2), (60, 0x28), (61, 2)] as [(Int, UInt8)])
    func badReceiptBytesRejected(offset: Int, byte: UInt8) {
        // 32: status; 57: error flag (a bool); 60: 2nd byte of "é" (invalid UTF-8); 61: output's optional tag.
        var bytes = Receipt(
            transactionHash: .zero, status: .failed, gasUsed: 0, fee: 0, error: "é", output: filled(1)
        ).canonicalBytes
        bytes[offset] = byte
        #expect(throws: CoreError.self) { try Receipt(canonicalBytes: bytes) }
    }

    @Test func nonMinimalTagsAndCountsRejected() throws {
        var bytes = try Hex.decode(Self.transactionHex)
        bytes.replaceSubrange(72...72, with: [0x81, 0x00])  // tag 1, non-minimal
        #expect(throws: CoreError.self) { try Transaction(canonicalBytes: bytes) }
        var rng = SplitMix64(seed: 28)
        let header = rng.header()
        #expect(throws: CoreError.self) { try Block(canonicalBytes: header.canonicalBytes + [0x80, 0x00]) }
        #expect(try Block(canonicalBytes: header.canonicalBytes + [0x00]) == Block(header: header, transactions: []))
    }

    @Test func primitivesReadStrictly() throws {
        var r = CanonicalReader([1, 2, 3, 4, 0, 1])
        #expect(try r.read(UInt32.self) == 0x0403_0201 && r.readBool() == false && r.readBool() == true)
        var bool2 = CanonicalReader([2])
        var optional2 = CanonicalReader([2] + filled(9).bytes)
        var short = CanonicalReader([1, 2, 3])
        #expect(throws: CoreError.self) { try bool2.readBool() }
        #expect(throws: CoreError.self) { try optional2.readOptional(Hash.self) }
        #expect(throws: CoreError.self) { try short.read(UInt32.self) }
    }

    @Test(
        arguments: [
            (0, [0x00]), (1, [0x01]), (127, [0x7f]), (128, [0x80, 0x01]), (300, [0xac, 0x02]),
            (16_384, [0x80, 0x80, 0x01]), (UInt64.max, [UInt8](repeating: 0xff, count: 9) + [0x01]),
        ] as [(UInt64, [UInt8])])
    func ulebKnownAnswers(value: UInt64, bytes: [UInt8]) throws {
        var w = CanonicalWriter()
        w.writeULEB(value)
        #expect(w.bytes == bytes)
        #expect(try uleb(bytes) == value)
    }

    @Test func ulebRoundTripsMinimally() {
        forAll(seed: 29) { c throws in
            let v = c.rng.next() >> UInt64(c.rng.int(0...64) % 64)
            var w = CanonicalWriter()
            w.writeULEB(v)
            #expect(w.bytes.count == max(1, (64 - v.leadingZeroBitCount + 6) / 7), c.note)
            #expect(w.bytes.dropLast().allSatisfy { $0 & 0x80 != 0 } && w.bytes.last! & 0x80 == 0, c.note)
            #expect(try uleb(w.bytes) == v, c.note)
        }
    }

    @Test(
        arguments: [
            [0x80, 0x00], [0x81, 0x00], [0xff, 0x80, 0x00], ones(9, 0x80) + [0x00],  // non-minimal
            ones(9) + [0x02], ones(9) + [0x7f], ones(10) + [0x01],  // over 64 bits
            ones(10, 0x80) + [0x01], ones(9, 0x80) + [0x81, 0x00],  // 11 bytes
            [0x80], [],  // cut short
        ] as [[UInt8]])
    func badULEBRejected(bytes: [UInt8]) {
        #expect(throws: CoreError.self) { try uleb(bytes) }
    }

    @Test func lengthsOverTheLimitRejected() throws {
        let small = CanonicalReader.Limits(maxBytes: 8, maxElements: 2)
        var atLimit = CanonicalReader([8] + ones(8, 7), limits: small)
        #expect(try atLimit.readBytes() == ones(8, 7))
        for (bytes, max) in [([9] + ones(9, 7), nil), ([5] + ones(5, 7), 4), ([9] + ones(9, 7), 100)]
            as [([UInt8], Int?)]
        {
            var r = CanonicalReader(bytes, limits: small)
            #expect(throws: CoreError.self) { try r.readBytes(max: max) }
        }
        var huge = CanonicalReader([0xff, 0xff, 0xff, 0xff, 0x0f])  // 2^32-1 bytes, over the default bound
        #expect(throws: CoreError.self) { try huge.readBytes() }
        var array = CanonicalReader([3] + filled(1).bytes + filled(2).bytes + filled(3).bytes, limits: small)
        #expect(throws: CoreError.self) { try array.readArray(Hash.self) }
        var tighter = CanonicalReader([2] + filled(1).bytes + filled(2).bytes)  // a caller's own, lower bound
        #expect(throws: CoreError.self) { try tighter.readArray(Hash.self, max: 1) }

        var rng = SplitMix64(seed: 30)
        var t = rng.transaction()
        t.authenticator = Authenticator(scheme: .ed25519, publicKey: rng.bytes(9), signature: [])
        #expect(throws: CoreError.self) { try Transaction(canonicalBytes: t.canonicalBytes, limits: small) }
        #expect(try Transaction(canonicalBytes: t.canonicalBytes) == t)
        t.authenticator = nil  // so that only the count is over the limit
        var block = Block(header: rng.header(), transactions: [t, t, t])
        #expect(throws: CoreError.self) { try Block(canonicalBytes: block.canonicalBytes, limits: small) }
        block.transactions.removeLast()
        #expect(try Block(canonicalBytes: block.canonicalBytes, limits: small) == block)
    }

    @Test(arguments: [(4096, 8192, 512), (4097, 0, 0), (0, 8193, 0), (0, 0, 513)])
    func typeBoundsEnforced(key: Int, signature: Int, errorScalars: Int) {
        // Authenticator keys ≤ 4096 bytes, signatures ≤ 8192, receipt errors ≤ 1024 bytes of UTF-8 ("é" is 2).
        var t = Self.transaction
        t.authenticator = Authenticator(scheme: .mlDsa65, publicKey: ones(key), signature: ones(signature))
        let r = Receipt(
            transactionHash: .zero, status: .failed, gasUsed: 0, fee: 0,
            error: String(repeating: "é", count: errorScalars))
        #expect(((try? Transaction(canonicalBytes: t.canonicalBytes)) == t) == (key <= 4096 && signature <= 8192))
        #expect(((try? Receipt(canonicalBytes: r.canonicalBytes)) == r) == (errorScalars <= 512))
    }
}

@Suite("Length prefixes inserted after the fact")
struct InsertLengthTests {
    @Test(arguments: [0, 5, 127, 128, 300, 20_000])
    func insertedLengthReadsBackAsBytes(count: Int) throws {
        var w = CanonicalWriter()
        w.write(UInt8(0xAA))
        let start = w.bytes.count
        for i in 0..<count { w.write(UInt8(truncatingIfNeeded: i)) }
        w.insertLength(at: start)
        w.write(UInt8(0xBB))
        var r = CanonicalReader(w.bytes)
        #expect(try r.readByte() == 0xAA)
        #expect(try r.readBytes() == (0..<count).map { UInt8(truncatingIfNeeded: $0) })
        #expect(try r.readByte() == 0xBB)
        try r.finish()
        // The same bytes as a length written up front.
        var up = CanonicalWriter()
        up.write(UInt8(0xAA))
        up.writeBytes((0..<count).map { UInt8(truncatingIfNeeded: $0) })
        up.write(UInt8(0xBB))
        #expect(up.bytes == w.bytes)
    }
}
