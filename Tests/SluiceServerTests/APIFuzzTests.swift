import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SluiceCore
import SluiceServer
import Testing

// The HTTP API fuzzed from its own OpenAPI document: every documented operation, with hostile path
// parameters, query values and bodies (JSON cut, changed and nested deep, binary garbage, wrong content
// types). Every answer must be one the document lists for that operation, with a body that fits its schema,
// never a 5xx, and the chain must not move: nothing hostile is admitted. SLUICE_FUZZ_ITERATIONS runs
// longer; a request that breaks a rule is printed whole, to be added to the cases below forever.

@Suite("The API fuzzed from its OpenAPI document")
struct APIFuzzTests {
    static let hostileSegments: [String] = [
        "", "0", "-1", "18446744073709551616", "latest", "0x", "0x" + String(repeating: "f", count: 64),
        "0x" + String(repeating: "g", count: 64), "0x" + String(repeating: "a", count: 4096), "%00", "%2e%2e",
        "..", "%ff%fe", "%F0%9F%92%A9", "a%2Fb", "%0d%0aX-Injected:%201", String(repeating: "9", count: 400),
        "1e9", "0x%00" + String(repeating: "0", count: 62), "true", "null",
    ]

    static let hostileQueries: [String] = [
        "?height=-1", "?height=99999999999999999999", "?full=maybe", "?limit=0", "?limit=100000000",
        "?since=abc", "?account=0xzz", "?status=%00", "?provider=" + String(repeating: "x", count: 5000),
        "?a=1&a=2&a=3", "?%zz=1", "?full", "?height=0&height=1",
    ]

    static func hostileBodies(_ random: inout SplitMix64) -> [(body: [UInt8], type: String?)] {
        let json = Array(
            #"{"from":"0x00","to":"0x01","amount":"1","sequence":0,"gasLimit":21000,"gasPrice":"1","signature":"0x"}"#
                .utf8)
        var cut = json
        cut.removeLast(random.below(json.count))
        var changed = json
        for _ in 0..<4 { changed[random.below(changed.count)] = UInt8(random.below(256)) }
        let deep = Array((String(repeating: "[", count: 20_000) + String(repeating: "]", count: 20_000)).utf8)
        let wide = Array(("[" + Array(repeating: "{}", count: 50_000).joined(separator: ",") + "]").utf8)
        var garbage = [UInt8](repeating: 0, count: 1 + random.below(2048))
        for i in garbage.indices { garbage[i] = UInt8(random.below(256)) }
        return [
            (cut, "application/json"), (changed, "application/json"), (deep, "application/json"),
            (wide, "application/json"), (garbage, "application/vnd.sluice.tx"), (garbage, "application/vnd.sluice.txs"),
            (garbage, "application/octet-stream"), (json, "text/plain"), (json, nil), ([], "application/json"),
            (Array(#"{"a":"\ud800"}"#.utf8), "application/json"), (Array("1e99999".utf8), "application/json"),
        ]
    }

    @Test func hostileRequestsGetDocumentedAnswersAndChangeNothing() async throws {
        let iterations = ProcessInfo.processInfo.environment["SLUICE_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 3
        try await withChain([TestSender()]) { chain in
            let app = Application(router: chain.server.router())
            let checker = try OpenAPIChecker(OpenAPIDocument.json)
            try await app.test(.router) { client in
                let api = APIClient(client: client)
                let before = try await api.get("/v1/status")
                var random = SplitMix64(seed: 0xF022_A91)
                for round in 0..<iterations {
                    for operation in checker.operations.sorted() where operation != "GET /v1/events" {
                        let parts = operation.split(separator: " ", maxSplits: 1)
                        let method = HTTPRequest.Method(String(parts[0]))!
                        let segments = Self.hostileSegments
                        var requests: [(String, [UInt8]?, String?)] = []
                        for segment in segments where parts[1].contains("{") || round == 0 {
                            let path = OpenAPIChecker.instantiate(String(parts[1])) { _ in segment }
                            requests.append((path, nil, nil))
                        }
                        let valid = OpenAPIChecker.instantiate(String(parts[1]), fill: sampleParameter)
                        for query in Self.hostileQueries { requests.append((valid + query, nil, nil)) }
                        if method == .post {
                            for (body, type) in Self.hostileBodies(&random) { requests.append((valid, body, type)) }
                        }
                        for (uri, body, type) in requests {
                            let reply = try await api.send(method, uri, body: body, contentType: type)
                            let shown = "\(operation) as \(method) \(uri) (\(body?.count ?? 0) bytes, \(type ?? "-"))"
                            #expect(reply.status < 500, "\(shown) → \(reply.status) \(reply.text.prefix(300))")
                            // A path the router does not match (an empty segment) is no operation of the document.
                            if checker.template(of: reply.path) != nil, reply.status != 404 || reply.isJSON {
                                let problems = checker.problems(with: reply)
                                #expect(problems.isEmpty, "\(shown): \(problems.joined(separator: "; "))")
                            }
                        }
                    }
                }
                // Still serving, and nothing hostile reached the chain's mempool.
                let after = try await api.get("/v1/status")
                #expect(after.status == 200 && before.status == 200)
                let status = try JSONSerialization.jsonObject(with: Data(after.body)) as? [String: Any]
                #expect(status?["mempoolSize"] as? Int == 0, "\(after.text)")
            }
        }
    }
}
