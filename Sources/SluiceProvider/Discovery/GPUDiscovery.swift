import Foundation
public import SluiceCore

/// Finds the machine's NVIDIA GPUs with `nvidia-smi` and turns a selection of them into the devices a provider
/// offers on chain.
///
/// nvidia-smi is the one interface every NVIDIA driver ships, from a bare host to a container with the driver
/// mounted; NVML would need its headers at build time. No GPU is not an error: the provider then offers CPU
/// capacity (`cpuDevice`), and `Outcome.reason` keeps why for the log.
public enum GPUDiscovery {
    /// The query: one CSV line per GPU.
    public static let query = [
        "nvidia-smi", "--query-gpu=index,uuid,name,memory.total,driver_version,compute_cap",
        "--format=csv,noheader,nounits",
    ]
    /// The same without `compute_cap`, which drivers before 510 do not know.
    public static let legacyQuery = [
        "nvidia-smi", "--query-gpu=index,uuid,name,memory.total,driver_version", "--format=csv,noheader,nounits",
    ]

    /// What discovery found.
    public struct Outcome: Sendable, Equatable {
        public var gpus: [DiscoveredGPU]
        /// Why no GPU was found (nvidia-smi missing, failing, or unreadable); nil when nvidia-smi answered.
        public var reason: String?

        public init(gpus: [DiscoveredGPU], reason: String?) {
            self.gpus = gpus
            self.reason = reason
        }
    }

    /// Runs nvidia-smi and parses its answer; any failure gives no GPUs and says why. When the first query fails
    /// (an old driver refuses `compute_cap`), it is asked again without that field.
    public static func discover(runner: CommandRunner = { try SystemCommand.run($0) }) -> Outcome {
        var first: CommandOutput
        do { first = try runner(query) } catch { return Outcome(gpus: [], reason: "\(error)") }
        if first.status != 0, let legacy = try? runner(legacyQuery), legacy.status == 0 { first = legacy }
        guard first.status == 0 else {
            let said = (first.stderr.isEmpty ? first.stdout : first.stderr).trimmingCharacters(
                in: .whitespacesAndNewlines)
            return Outcome(gpus: [], reason: "nvidia-smi exited with status \(first.status): \(said)")
        }
        do {
            let gpus = try parse(csv: first.stdout)
            return Outcome(gpus: gpus, reason: gpus.isEmpty ? "nvidia-smi lists no GPU" : nil)
        } catch {
            return Outcome(gpus: [], reason: "nvidia-smi's answer could not be read: \(error)")
        }
    }

    /// Parses the CSV of `query` or `legacyQuery`: index, uuid, name, memory.total (MiB), driver_version and,
    /// optionally, compute_cap. Fields are trimmed and may be double-quoted; "[N/A]" and "[Not Supported]" mean
    /// unknown (0 MiB, an empty driver, no compute capability). Blank lines are skipped.
    /// - Complexity: O(n) in the text's length.
    public static func parse(csv: String) throws(DiscoveryError) -> [DiscoveredGPU] {
        var gpus: [DiscoveredGPU] = []
        for (number, raw) in csv.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            func bad(_ why: String) -> DiscoveryError {
                DiscoveryError(.badOutput, "nvidia-smi line \(number + 1) ('\(line)'): \(why)")
            }
            let fields = try splitFields(line).get()
            guard fields.count == 5 || fields.count == 6 else {
                throw bad(
                    "expected 5 or 6 fields (index, uuid, name, memory, driver[, compute_cap]), got \(fields.count)")
            }
            func known(_ s: String) -> String? { isUnknown(s) ? nil : s }
            guard let index = Int(fields[0]), index >= 0 else { throw bad("the index '\(fields[0])' is not a number") }
            let memory: UInt64
            if let text = known(fields[3]) {
                guard let m = UInt64(text) else { throw bad("the memory '\(text)' is not a number of MiB") }
                memory = m
            } else {
                memory = 0
            }
            guard let name = known(fields[2]), !name.isEmpty else { throw bad("the GPU has no name") }
            gpus.append(
                DiscoveredGPU(
                    index: index, uuid: known(fields[1]) ?? "", model: name, vramMiB: memory,
                    driver: known(fields[4]) ?? "", computeCapability: fields.count == 6 ? known(fields[5]) : nil))
        }
        return gpus
    }

    /// The devices offered for the selected GPUs: one `GPUDevice` per model and memory size, counting the GPUs
    /// of that kind, in order of first index. `scores` holds each GPU's benchmark score by index; a group claims
    /// its weakest member's (0 when one is missing), since the chain's challenges may land on any of them.
    public static func devices(
        gpus: [DiscoveredGPU], selection: GPUSelection, scores: [Int: UInt64] = [:]
    ) -> [GPUDevice] {
        var devices: [GPUDevice] = []
        for gpu in selection.selected(from: gpus) {
            let score = scores[gpu.index] ?? 0
            if let i = devices.firstIndex(where: { $0.model == gpu.model && $0.vramGB == gpu.vramGB }) {
                devices[i].count += 1
                devices[i].score = min(devices[i].score, score)
            } else {
                devices.append(GPUDevice(model: gpu.model, vramGB: gpu.vramGB, count: 1, score: score))
            }
        }
        return devices
    }

    /// CPU capacity, offered when no GPU is selected: `count` is half the machine's logical cores (at least
    /// one), since two hyperthreads share a core's floating-point units and the agent, the sandbox and the host
    /// need some of the machine; `score` is the single-thread score of `Benchmark.cpu`, per offered core.
    public static func cpuDevice(cores: Int, score: UInt64) -> GPUDevice {
        GPUDevice(model: "cpu", vramGB: 0, count: UInt32(clamping: max(1, cores / 2)), score: score)
    }

    static func isUnknown(_ field: String) -> Bool {
        let f = field.trimmingCharacters(in: CharacterSet(charactersIn: "[] ")).lowercased()
        return f == "n/a" || f == "not supported" || f == "unknown error" || f == "insufficient permissions"
    }

    /// Splits one CSV line at commas outside double quotes; a quoted field may hold commas and "" for a quote.
    static func splitFields(_ line: String) -> Result<[String], DiscoveryError> {
        var fields: [String] = []
        var field = ""
        var quoted = false
        var wasQuoted = false
        var chars = line.makeIterator()
        while let c = chars.next() {
            if quoted {
                if c == "\"" {
                    // A doubled quote is a literal one; a single one ends the field's quoted part.
                    var lookahead = chars
                    if lookahead.next() == "\"" {
                        field.append("\"")
                        chars = lookahead
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(c)
                }
            } else if c == "," {
                fields.append(wasQuoted ? field : field.trimmingCharacters(in: .whitespaces))
                field = ""
                wasQuoted = false
            } else if c == "\"" && field.allSatisfy(\.isWhitespace) {
                field = ""
                quoted = true
                wasQuoted = true
            } else if wasQuoted {
                if !c.isWhitespace {
                    return .failure(DiscoveryError(.badOutput, "text after a quoted field in '\(line)'"))
                }
            } else {
                field.append(c)
            }
        }
        guard !quoted else { return .failure(DiscoveryError(.badOutput, "an unclosed quote in '\(line)'")) }
        fields.append(wasQuoted ? field : field.trimmingCharacters(in: .whitespaces))
        return .success(fields)
    }
}
