import Foundation
import SluiceAPI
import SluiceCore
import SluiceRuntime
import SluiceState

// The JSON files of `sluice t8n`, as in Ethereum's t8n tools: a pre-state, a list of transactions,
// and the post-state with receipts. Amounts are decimal strings; hashes, addresses, keys and
// signatures are 0x-prefixed hex.

struct PreStateJSON: Codable {
    var accounts: [AccountJSON]
}

struct PostStateJSON: Codable {
    var stateRoot: Hash
    var feesCollected: Amount
    var accounts: [AccountJSON]
    var receipts: [ReceiptJSON]
}
