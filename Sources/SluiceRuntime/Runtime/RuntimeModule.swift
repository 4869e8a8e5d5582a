public import SluiceCore
import SluiceExecution
import SluiceState

// The runtime is one state machine (`RuntimeVM`, the BlockVM the executors run) made of modules. Each
// module owns its payloads, its state spaces, its error type (`BankError`, `MarketError`), its effects on
// the block-end step and its block-end step itself; `RuntimeVM` applies the rules every transaction shares
// (discard checks, fee, sequence), dispatches the payload to its module, and runs the modules' block-end
// steps in a fixed order (`RuntimeModuleID.allCases`).
//
// Gas has two parts. Intrinsic gas is known from the payload before it runs: the mempool checks the gas
// limit against it (`RuntimeVM.intrinsicGas`), and it is charged whatever happens. Metered gas is counted
// while a transaction runs (WebAssembly fuel, for contracts): a module that meters reports it in the
// receipt's `gasUsed` on top of the intrinsic gas, within the gas limit. The Bank and the market meter
// nothing: their gas is all intrinsic.

/// The modules, in the order their block-end steps run.
public enum RuntimeModuleID: UInt8, Sendable, CaseIterable {
    case bank = 0
    case market = 1
    /// Validators and their stake (consensus).
    case staking = 2
    /// WebAssembly contracts.
    case contracts = 3

    public var name: String {
        switch self {
        case .bank: "bank"
        case .market: "market"
        case .staking: "staking"
        case .contracts: "contracts"
        }
    }
}

/// A module of the runtime: what the rest of the node needs to know of its payloads before execution.
public protocol RuntimeModule {
    static var id: RuntimeModuleID { get }
    /// The gas `payload` needs before it runs (charged in full); nil when it is not this module's.
    static func intrinsicGas(of payload: Payload) -> UInt64?
    /// The largest encoding the mempool admits for `payload` when this module needs more than the node's
    /// default (nil: the default).
    static func admissionBytes(of payload: Payload) -> Int?
}

extension Payload {
    /// The module that executes it.
    public var module: RuntimeModuleID {
        switch self {
        case .transfer, .computeTransfer: .bank
        case .providerRegister, .providerUpdate, .providerHeartbeat, .providerUnbond, .providerWithdraw,
            .providerProve, .jobSubmit, .jobCancel, .jobCommit, .jobReveal, .auditReport, .jobDispute, .rewardClaim:
            .market
        }
    }
}
