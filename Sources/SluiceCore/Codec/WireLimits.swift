// Every bound of the canonical wire format, in one place.
//
// The decoders read with these bounds and nothing else defines them: the mempool admits a transaction only
// if it reads back from its own encoding, execution refuses a job spec that does not, and a block is
// committed only if it reads back. So the limits that admission, execution and decoding apply are one and
// the same, and a value a node accepts is a value every node can read back forever (issue 13, item 4: a
// `job.submit` whose bundle URI was over the decoder's bound was admitted and committed, and its block
// could never be read again).
//
// Changing a bound is a change of the wire format: raising one lets new blocks through that older nodes
// cannot read, lowering one makes stored blocks unreadable.

/// The bounds of the canonical encoding: lengths of byte strings and counts of lists, per field.
public enum WireLimits {
    /// An authenticator's public key (ML-DSA-65's is 1,952 bytes, Ed25519's 32).
    public static let publicKeyBytes = 4096
    /// An authenticator's signature (ML-DSA-65's is 3,309 bytes, Ed25519's 64).
    public static let signatureBytes = 8192
    /// Transactions in one block.
    public static let blockTransactions = 100_000
    /// Device classes in a provider's offer (`provider.register`, `provider.update`).
    public static let offerDevices = 64
    /// A device class's model name, as `nvidia-smi` prints it.
    public static let deviceModelBytes = 128
    /// A provider's region.
    public static let regionBytes = 64
    /// A provider's endpoint URL.
    public static let endpointBytes = 256
    /// Runners a provider lists.
    public static let offerRunners = 8
    /// A runner's name, in an offer or a job spec.
    public static let runnerNameBytes = 32
    /// A job's bundle URI.
    public static let bundleURIBytes = 512
    /// The GPU model a job asks for.
    public static let jobModelBytes = 128
    /// The error text of a receipt.
    public static let receiptErrorBytes = 1024
    /// Sibling hashes on the path of one proof-of-GPU opening.
    public static let openingPathHashes = 64
    /// Events in one transaction's receipt.
    public static let receiptEvents = 16
    /// Events of one block's end step (an epoch's last block credits every provider and validator).
    public static let blockEndEvents = 1 << 20
    /// Addresses named by one event (a job's providers, its payouts).
    public static let eventAddresses = 256
}
