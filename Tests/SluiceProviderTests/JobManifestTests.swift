import Foundation
import SluiceCore
import Testing

@testable import SluiceJobs
@testable import SluiceProvider

@Suite struct JobManifestTests {
    let good = JobManifest(
        name: "render", runner: .process, command: ["python3", "render.py"], outputs: ["out/*.ppm"], memoryMB: 256,
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
        m.command = []
        #expect(throws: ManifestError.self) { try m.validate() }
        m = good
        m.outputs = ["../etc/passwd"]
        #expect(throws: ManifestError.self) { try m.validate() }
        m = good
        m.outputs = ["/abs"]
        #expect(throws: ManifestError.self) { try m.validate() }
        m = good
        m.runner = .container
        #expect(throws: ManifestError.self) { try m.validate() }
        // A runner nobody knows is refused when the manifest is read, naming the runners that exist.
        let vm = String(decoding: try good.encoded(), as: UTF8.self).replacingOccurrences(
            of: "\"runner\" : \"process\"", with: "\"runner\" : \"vm\"")
        let error = #expect(throws: ManifestError.self) { try JobManifest.decode(Data(vm.utf8)) }
        #expect(
            error?.description.contains("'vm' is not one of process, container") == true, "\(String(describing: error))"
        )
        #expect(throws: ManifestError.self) { try JobManifest.decode(Data("{}".utf8)) }
        #expect(throws: ManifestError.self) { try JobManifest.decode(Data(count: JobManifest.maxBytes + 1)) }
    }
}
