import Foundation
import Testing

@testable import SluiceProvider
@testable import SluiceJobs

@Suite struct JobManifestTests {
    let good = JobManifest(
        name: "render", runner: "process", command: ["python3", "render.py"], outputs: ["out/*.ppm"], memoryMB: 256,
        maxDurationSeconds: 60)

    @Test func roundTripsWithSortedKeys() throws {
        let data = try good.encoded()
        #expect(try JobManifest.decode(data) == good)
        // The same manifest always gives the same bytes (it is hashed with the bundle).
        #expect(try good.encoded() == data)
        let text = String(decoding: data, as: UTF8.self)
        let keys = ["command", "environment", "maxDurationSeconds", "memoryMB", "name", "outputs", "runner"]
        let positions = keys.map { text.range(of: "\"\($0)\"")!.lowerBound }
        #expect(positions == positions.sorted())
    }

    @Test func refusesBadManifests() throws {
        var m = good
        m.runner = "vm"
        #expect(throws: ManifestError.self) { try m.validate() }
        m = good
        m.command = []
        #expect(throws: ManifestError.self) { try m.validate() }
        m = good
        m.outputs = ["../etc/passwd"]
        #expect(throws: ManifestError.self) { try m.validate() }
        m = good
        m.outputs = ["/abs"]
        #expect(throws: ManifestError.self) { try m.validate() }
        m = good
        m.runner = "container"
        #expect(throws: ManifestError.self) { try m.validate() }
        #expect(throws: ManifestError.self) { try JobManifest.decode(Data("{}".utf8)) }
        #expect(throws: ManifestError.self) { try JobManifest.decode(Data(count: JobManifest.maxBytes + 1)) }
    }
}
