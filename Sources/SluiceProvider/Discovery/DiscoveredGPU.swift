/// One GPU as `nvidia-smi` reports it.
public struct DiscoveredGPU: Sendable, Equatable {
    /// nvidia-smi's index, the one `CUDA_VISIBLE_DEVICES` and `--gpus` select by (with the default PCI order).
    public var index: Int
    public var uuid: String
    /// e.g. "NVIDIA H100 80GB HBM3".
    public var model: String
    /// Total memory in MiB; 0 when the driver does not report it.
    public var vramMiB: UInt64
    public var driver: String
    /// "9.0"; nil when the driver is too old to report it.
    public var computeCapability: String?

    public init(
        index: Int, uuid: String, model: String, vramMiB: UInt64, driver: String, computeCapability: String? = nil
    ) {
        self.index = index
        self.uuid = uuid
        self.model = model
        self.vramMiB = vramMiB
        self.driver = driver
        self.computeCapability = computeCapability
    }

    /// Memory in whole GB as the market counts it: MiB / 1024 rounded to the nearest, so an H100 with 81559 MiB
    /// offers 80 (rounding down would say 79, below the name on the box).
    public var vramGB: UInt32 {
        UInt32(clamping: (vramMiB + 512) / 1024)
    }
}

/// What went wrong finding or selecting GPUs; the message says what to do.
public struct DiscoveryError: Error, CustomStringConvertible, Sendable, Equatable {
    enum Code: Sendable, Equatable { case badOutput, badSelection, unknownGPU }

    let code: Code
    public let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
