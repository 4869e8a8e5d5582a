import Foundation
import SluiceCore
import SluiceRuntime
import SluiceState
import SluiceStorage
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("A crash at any moment loses no committed block", .serialized)
struct CrashTests {
    /// Runs `sluice db stress` (a process committing blocks of random transfers in a loop), kills it with
    /// SIGKILL at random moments, and after every kill reopens the data dir and checks it.
    @Test func killedAtRandomMomentsTheStoreStaysConsistent() throws {
        let binary = try #require(sluiceBinary(), "the sluice executable was not built next to the tests")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-crash-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let accounts = 100
        let supply = UInt128(accounts) * 1_000_000
        var rng = SplitMix64(seed: 20_261_126)
        var lastHead: UInt64 = 0
        var printedMax: UInt64 = 0
        var kills = 0
        for round in 0..<24 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = [
                "db", "stress", "--data", dir, "--accounts", "\(accounts)", "--block-size", "400",
                "--seed", "\(round)",
            ]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            // Between 20 and 420 ms: sometimes before genesis ends, mostly in the middle of a block's commit.
            usleep(useconds_t(20_000 + rng.below(400_000)))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            #expect(p.terminationReason == .uncaughtSignal, "round \(round): the helper exited by itself")
            kills += 1
            let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                .split(separator: "\n").compactMap { $0.hasPrefix("committed ") ? UInt64($0.dropFirst(10)) : nil }
            printedMax = max(printedMax, printed.max() ?? 0)

            let store = try ChainStore(path: dir, chainId: 7)
            guard let head = store.head else {
                // Killed before the genesis batch landed: nothing may be there yet.
                #expect(lastHead == 0 && printedMax == 0, "round \(round): the head disappeared")
                continue
            }
            #expect(head.height >= lastHead, "round \(round): the head went back from \(lastHead) to \(head.height)")
            #expect(head.height >= printedMax, "round \(round): block \(printedMax) was reported committed but is gone")
            lastHead = head.height
            let report = try store.check()
            #expect(report.ok, "round \(round): \(report.problems)")
            #expect(report.supply.value == supply, "round \(round): supply \(report.supply) ≠ \(supply)")
        }
        #expect(kills >= 20)
        #expect(lastHead > 0, "no block was ever committed: the helper never got past genesis")
    }
}
