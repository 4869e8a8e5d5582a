import Foundation

/// Which of the machine's GPUs the provider offers: `auto` (all of them), `none` (offer CPU capacity instead),
/// or listed indices ("0,1"). The text form is what `--gpus` and the provider's config take.
public enum GPUSelection: Sendable, Equatable, CustomStringConvertible {
    case auto
    case none
    case indices([Int])

    /// Parses "auto", "none" or comma-separated indices ("0", "0,1", "2, 3"); indices must be distinct and ≥ 0.
    public static func parse(_ text: String) throws(DiscoveryError) -> GPUSelection {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        switch t {
        case "auto", "all": return .auto
        case "none", "cpu": return .none
        default: break
        }
        let usage = "write auto, none, or GPU indices such as 0,1"
        guard !t.isEmpty else { throw DiscoveryError(.badSelection, "the GPU selection is empty: \(usage)") }
        var indices: [Int] = []
        for part in t.split(separator: ",", omittingEmptySubsequences: false) {
            let p = part.trimmingCharacters(in: .whitespaces)
            guard !p.isEmpty, p.allSatisfy({ $0.isASCII && $0.isNumber }), let i = Int(p) else {
                throw DiscoveryError(.badSelection, "'\(text)' is not a GPU selection: \(usage)")
            }
            guard !indices.contains(i) else {
                throw DiscoveryError(.badSelection, "GPU \(i) is listed twice in '\(text)'")
            }
            indices.append(i)
        }
        return .indices(indices)
    }

    /// Parses a selection and checks its indices against the GPUs found on this machine.
    public static func parse(_ text: String, available: [DiscoveredGPU]) throws(DiscoveryError) -> GPUSelection {
        let selection = try parse(text)
        try selection.check(against: available)
        return selection
    }

    /// Refuses indices that name no GPU here, listing the ones there are.
    public func check(against available: [DiscoveredGPU]) throws(DiscoveryError) {
        guard case .indices(let indices) = self else { return }
        let present = Set(available.map(\.index))
        for i in indices where !present.contains(i) {
            let have =
                available.isEmpty
                ? "this machine has no NVIDIA GPU (select none to offer CPU capacity)"
                : "this machine has GPU \(available.map { String($0.index) }.joined(separator: ", "))"
            throw DiscoveryError(.unknownGPU, "GPU \(i) does not exist: \(have)")
        }
    }

    /// The GPUs this selection offers, in index order.
    public func selected(from gpus: [DiscoveredGPU]) -> [DiscoveredGPU] {
        switch self {
        case .auto: return gpus.sorted { $0.index < $1.index }
        case .none: return []
        case .indices(let indices):
            let wanted = Set(indices)
            return gpus.filter { wanted.contains($0.index) }.sorted { $0.index < $1.index }
        }
    }

    public var description: String {
        switch self {
        case .auto: return "auto"
        case .none: return "none"
        case .indices(let indices): return indices.map(String.init).joined(separator: ",")
        }
    }
}
