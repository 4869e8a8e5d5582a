import SluiceCore
import SluiceRuntime
import SluiceState

enum SluiceRuntimeValue {
    static func account(balance: UInt128, sequence: UInt64 = 0) -> StateValue {
        .account(AccountState(balance: Amount(balance), sequence: sequence))
    }
}
