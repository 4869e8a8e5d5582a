// The one test of "can every node read this back": decode the value's own encoding with the strict reader.
//
// Admission (the mempool), execution (a job spec before it is stored) and commit (a block before it is
// written) all ask this question, and the decoder with its `WireLimits` is the only place that answers
// it: there is no second list of field limits on the encoding side that could drift from the decoder's.

extension CanonicalEncodable where Self: CanonicalDecodable & Equatable {
    /// Checks that this value reads back, equal, from its canonical encoding.
    /// - Throws: the decoder's error (which field is over which limit), or a `.codec` error when the value
    ///   read back differs.
    /// - Complexity: O(n) in the encoded size: one decode and one comparison.
    public func checkRoundTrip() throws(CoreError) {
        try checkRoundTrip(encoded: canonicalBytes)
    }

    /// The same, from `bytes`, this value's canonical encoding, already computed (for its hash, say).
    public func checkRoundTrip(encoded bytes: [UInt8]) throws(CoreError) {
        let back = try Self(canonicalBytes: bytes)
        guard back == self else {
            throw CoreError(
                .codec, "the value does not read back as itself from its \(bytes.count)-byte encoding: do not send it")
        }
    }
}
