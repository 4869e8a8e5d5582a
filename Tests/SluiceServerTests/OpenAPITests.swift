import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SluiceAPI
import SluiceCore
import SluiceNode
import SluiceRuntime
import SluiceState
import SluiceServer
import SluiceStorage
import Testing

/// A value for a path parameter that the route accepts.
func sampleParameter(_ name: String) -> String {
    switch name {
    case "height": "0"
    case "hash", "address", "key": Address(Hash.sha256(Array(name.utf8))).hex
    default: name
    }
}

@Suite("The OpenAPI document equals the server")
struct OpenAPITests {
    /// The routes the router has are exactly the operations the document lists, and each path parameter
    /// is declared.
    @Test func documentListsExactlyTheRouterRoutes() async throws {
        try await withChain([TestSender()]) { chain in
            let router = chain.server.router()
            let served = Set(router.routes.map { "\($0.method) \($0.path)" })
            let checker = try OpenAPIChecker(OpenAPIDocument.json)
            #expect(
                served == checker.operations,
                "served but not documented: \(served.subtracting(checker.operations)); documented but not served: \(checker.operations.subtracting(served))"
            )

            for (path, item) in checker.document["paths"]?.object ?? [:] {
                let inPath = Set(
                    path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) })
                for (method, operation) in item.object ?? [:] where OpenAPIChecker.methods.contains(method) {
                    let declared = Set(
                        (operation["parameters"]?.array ?? []).filter { $0["in"] == .string("path") }.compactMap {
                            $0["name"]?.string
                        })
                    #expect(declared == inPath, "\(method) \(path): path parameters \(inPath), declared \(declared)")
                    #expect(operation["responses"]?.object?.isEmpty == false, "\(method) \(path) has no responses")
                    #expect(operation["operationId"]?.string != nil, "\(method) \(path) has no operationId")
                }
            }
        }
    }

    /// Every operation of the served document reaches a handler (no "no route" 404), and what the
    /// handler answers is documented.
    @Test func everyDocumentedOperationIsServed() async throws {
        try await withChain([TestSender()]) { chain in
            let app = Application(router: chain.server.router())
            try await app.test(.router) { client in
                let api = APIClient(client: client)
                let served = try await api.get("/openapi.json")
                #expect(served.body == OpenAPIDocument.json)
                let checker = try OpenAPIChecker(served.body)
                #expect(!checker.operations.isEmpty)
                for operation in checker.operations.sorted() {
                    let parts = operation.split(separator: " ", maxSplits: 1)
                    let method = HTTPRequest.Method(String(parts[0]))!
                    let path = OpenAPIChecker.instantiate(String(parts[1]), fill: sampleParameter)
                    let reply = try await api.send(method, path)
                    let noRoute = reply.status == 404 && reply.text.contains("no route")
                    #expect(!noRoute && reply.status != 405, "\(operation) → \(reply.status) \(reply.text)")
                }
            }
        }
    }

    /// The routes the route test exercises are the documented ones, and every JSON body they returned
    /// fits its schema: keys within `properties`, all `required` keys present, types, enums, patterns.
    @Test func responsesFitTheirSchemas() async throws {
        let (alice, bob, carol) = (TestSender(), TestSender(), TestSender())
        try await withChain([alice, bob, carol]) { chain in
            let log = ReplyLog()
            let app = Application(router: chain.server.router())
            try await app.test(.router) { client in
                try await walkEveryRoute(
                    chain, APIClient(client: client, log: log), alice: alice, bob: bob, carol: carol)
            }
            let checker = try OpenAPIChecker(OpenAPIDocument.json)
            var exercised: Set<String> = ["GET /v1/events"]  // over a WebSocket, in EventsTests
            for reply in log.all {
                let template = try #require(checker.template(of: reply.path), "\(reply.uri) is not a documented path")
                exercised.insert("\(reply.method) \(template)")
                let problems = checker.problems(with: reply)
                #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
            }
            #expect(exercised == checker.operations, "not exercised: \(checker.operations.subtracting(exercised))")
            // Every kind of body was seen, so every schema above was really checked.
            let jsonReplies = log.all.filter(\.isJSON)
            #expect(Set(jsonReplies.map(\.status)) == [200, 201, 202, 404])
        }
    }

    /// The schema check itself catches drift: an extra key, a missing required key, a wrong type.
    @Test func schemaCheckCatchesDrift() throws {
        let checker = try OpenAPIChecker(OpenAPIDocument.json)
        let schema = JSONValue.object(["$ref": .string("#/components/schemas/Error")])
        #expect(
            checker.validate(try JSONValue.parse(Array(#"{"error":"x","code":"not_found"}"#.utf8)), schema, at: "e")
                .isEmpty)
        #expect(
            !checker.validate(
                try JSONValue.parse(Array(#"{"error":"x","code":"not_found","extra":1}"#.utf8)), schema, at: "e"
            ).isEmpty)
        #expect(!checker.validate(try JSONValue.parse(Array(#"{"error":"x"}"#.utf8)), schema, at: "e").isEmpty)
        #expect(
            !checker.validate(try JSONValue.parse(Array(#"{"error":1,"code":"not_found"}"#.utf8)), schema, at: "e")
                .isEmpty)
        #expect(
            !checker.validate(try JSONValue.parse(Array(#"{"error":"x","code":"no_such_code"}"#.utf8)), schema, at: "e")
                .isEmpty)
        // Nested objects, arrays, integers and patterns, on a document of its own.
        let own = try OpenAPIChecker(
            Array(
                #"""
                {"components": {"schemas": {
                  "Outer": {"type": "object", "required": ["id", "items"], "properties": {
                    "id": {"type": "string", "pattern": "^0x[0-9a-f]{4}$"},
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Inner"}}
                  }},
                  "Inner": {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer", "minimum": 0}}}
                }}}
                """#.utf8))
        let outer = JSONValue.object(["$ref": .string("#/components/schemas/Outer")])
        func problems(_ text: String) throws -> [String] {
            own.validate(try JSONValue.parse(Array(text.utf8)), outer, at: "o")
        }
        #expect(try problems(#"{"id":"0xab12","items":[{"n":1},{"n":0}]}"#).isEmpty)
        #expect(try problems(#"{"id":"0xAB12","items":[]}"#).count == 1)  // pattern
        #expect(try problems(#"{"id":"0xab12","items":[{"n":1},{"n":-1}]}"#).count == 1)  // minimum, nested
        #expect(try problems(#"{"id":"0xab12","items":[{"n":1.5}]}"#).count == 1)  // integer
        #expect(try problems(#"{"id":"0xab12","items":[{"n":true}]}"#).count == 1)  // boolean is not integer
        #expect(try problems(#"{"id":"0xab12","items":[{"m":1}]}"#).count == 2)  // missing n, extra m
        #expect(try problems(#"{"id":"0xab12","items":{"n":1}}"#).count == 1)  // not an array
    }

    /// A plain GET of the WebSocket endpoint (no upgrade) must answer something the document lists for
    /// it (101 or 400), not an empty 200.
    @Test func plainGetOfEventsIsDocumented() async throws {
        try await withChain([TestSender()]) { chain in
            let app = Application(router: chain.server.router())
            try await app.test(.router) { client in
                let api = APIClient(client: client)
                let reply = try await api.get("/v1/events")
                let problems = try OpenAPIChecker(OpenAPIDocument.json).problems(with: reply)
                #expect(
                    problems.isEmpty, "GET /v1/events without an upgrade → \(reply.status) '\(reply.text)': \(problems)"
                )
            }
        }
    }
}
