import Foundation
import HTTPTypes
import SluiceServer

/// A parsed JSON value. Decoded with `JSONDecoder`, which keeps `true` and `1` apart.
enum JSONValue: Decodable, Equatable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int64.self) {
            self = .integer(i)
        } else if let u = try? c.decode(UInt64.self) {
            self = .number(Double(u))
        } else if let d = try? c.decode(Double.self) {
            self = .number(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    var object: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    var array: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    var kind: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer: "integer"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// The served OpenAPI document, and checks of routes and response bodies against it.
struct OpenAPIChecker {
    let document: JSONValue

    init(_ bytes: [UInt8]) throws {
        document = try JSONValue.parse(bytes)
    }

    /// Every operation as "METHOD /path/{param}".
    var operations: Set<String> {
        var out: Set<String> = []
        for (path, item) in document["paths"]?.object ?? [:] {
            for method in (item.object ?? [:]).keys where Self.methods.contains(method) {
                out.insert("\(method.uppercased()) \(path)")
            }
        }
        return out
    }

    static let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    /// The document path template a concrete request path matches ("/v1/blocks/3" → "/v1/blocks/{height}").
    func template(of path: String) -> String? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        let candidates = (document["paths"]?.object ?? [:]).keys.filter { template in
            let t = template.split(separator: "/", omittingEmptySubsequences: false)
            guard t.count == parts.count else { return false }
            return zip(t, parts).allSatisfy { a, b in (a.hasPrefix("{") && a.hasSuffix("}") && !b.isEmpty) || a == b }
        }
        // A literal segment wins over a parameter (as in the router): the template with fewest parameters.
        return candidates.min { $0.filter { $0 == "{" }.count < $1.filter { $0 == "{" }.count }
    }

    /// A concrete path for a template, each parameter filled by `fill`.
    static func instantiate(_ template: String, fill: (String) -> String) -> String {
        template.split(separator: "/", omittingEmptySubsequences: false).map { segment -> String in
            guard segment.hasPrefix("{"), segment.hasSuffix("}") else { return String(segment) }
            return fill(String(segment.dropFirst().dropLast()))
        }.joined(separator: "/")
    }

    /// Problems with a JSON reply: its operation and status must be documented, and its body must fit
    /// the documented schema. Replies that are not JSON (metrics) only need a documented status.
    func problems(with reply: Reply) -> [String] {
        let what = "\(reply.method) \(reply.uri) → \(reply.status)"
        guard let template = template(of: reply.path) else { return [] }  // an unknown route: no operation
        // A method the path does not have: not an operation (the route comparison covers missing ones).
        guard let operation = document["paths"]?[template]?[reply.method.rawValue.lowercased()] else { return [] }
        guard var response = operation["responses"]?[String(reply.status)] ?? operation["responses"]?["default"] else {
            return ["\(what): status \(reply.status) is not documented for \(reply.method) \(template)"]
        }
        if let ref = response["$ref"]?.string {
            guard let resolved = resolve(ref) else { return ["\(what): unresolvable \(ref)"] }
            response = resolved
        }
        guard reply.isJSON else { return [] }
        guard let schema = response["content"]?["application/json"]?["schema"] else {
            return ["\(what): a JSON body, but the document gives no application/json schema for it"]
        }
        let body: JSONValue
        do { body = try JSONValue.parse(reply.body) } catch { return ["\(what): the body is not JSON: \(reply.text)"] }
        return validate(body, schema, at: "\(what) body")
    }

    func resolve(_ ref: String) -> JSONValue? {
        guard ref.hasPrefix("#/") else { return nil }
        var node: JSONValue? = document
        for part in ref.dropFirst(2).split(separator: "/") { node = node?[String(part)] }
        return node
    }

    /// Checks `value` against a JSON Schema subset: $ref, type, required, properties (keys must be a
    /// subset of them), items, enum, pattern, minimum.
    func validate(_ value: JSONValue, _ schema: JSONValue, at path: String) -> [String] {
        var schema = schema
        var seen = 0
        while let ref = schema["$ref"]?.string {
            guard let resolved = resolve(ref), seen < 16 else { return ["\(path): unresolvable \(ref)"] }
            schema = resolved
            seen += 1
        }
        var problems: [String] = []
        if let type = schema["type"]?.string {
            let ok =
                switch (type, value) {
                case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool),
                    ("integer", .integer), ("number", .integer), ("number", .number), ("null", .null):
                    true
                case ("integer", .number(let d)): d == d.rounded()
                default: false
                }
            if !ok { return ["\(path): expected \(type), got \(value.kind)"] }
        }
        if let options = schema["enum"]?.array, !options.contains(value) {
            problems.append("\(path): \(value) is not one of \(options)")
        }
        if let pattern = schema["pattern"]?.string, let s = value.string,
            s.range(of: pattern, options: .regularExpression) == nil
        {
            problems.append("\(path): '\(s)' does not match \(pattern)")
        }
        if let minimum = schema["minimum"] {
            let bound: Double? =
                switch minimum {
                case .integer(let i): Double(i)
                case .number(let d): d
                default: nil
                }
            let v: Double? =
                switch value {
                case .integer(let i): Double(i)
                case .number(let d): d
                default: nil
                }
            if let bound, let v, v < bound { problems.append("\(path): \(v) is below the minimum \(bound)") }
        }
        if let object = value.object {
            for key in schema["required"]?.array?.compactMap(\.string) ?? [] where object[key] == nil {
                problems.append("\(path): required key '\(key)' is missing")
            }
            if let properties = schema["properties"]?.object {
                for (key, v) in object.sorted(by: { $0.key < $1.key }) {
                    guard let propertySchema = properties[key] else {
                        problems.append("\(path): key '\(key)' is not in the schema's properties")
                        continue
                    }
                    problems += validate(v, propertySchema, at: "\(path).\(key)")
                }
            }
        }
        if let array = value.array, let items = schema["items"] {
            for (i, v) in array.enumerated() { problems += validate(v, items, at: "\(path)[\(i)]") }
        }
        return problems
    }
}
