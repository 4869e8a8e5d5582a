import Foundation
import SluiceCore

/// An error in data that came from outside (a file, a request body): what is wrong, naming the field.
public struct WireError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A decoding error as a person reads it: the path of the field and what is wrong.
public func describe(_ error: any Error) -> String {
    guard let e = error as? DecodingError else {
        if let c = error as? CoreError { return c.message }
        if let w = error as? WireError { return w.message }
        return "\(error)"
    }
    func path(_ keys: [any CodingKey]) -> String {
        keys.isEmpty
            ? "the top level"
            : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
                .replacingOccurrences(of: ".[", with: "[")
    }
    switch e {
    case .keyNotFound(let key, let ctx):
        return "field \(path(ctx.codingPath + [key])): missing"
    case .typeMismatch(let type, let ctx):
        return "field \(path(ctx.codingPath)): expected \(type) (\(ctx.debugDescription))"
    case .valueNotFound(let type, let ctx):
        return "field \(path(ctx.codingPath)): expected \(type), found null"
    case .dataCorrupted(let ctx):
        if ctx.codingPath.isEmpty {
            let underlying = (ctx.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return "malformed JSON: \(underlying ?? ctx.debugDescription)"
        }
        return "field \(path(ctx.codingPath)): \(ctx.debugDescription)"
    @unknown default:
        return "\(e)"
    }
}

/// A decoding error with the index of the item and the field, e.g. "transaction 3, field payload.amount: …".
public func describe(_ error: any Error, item: String) -> String {
    guard let e = error as? DecodingError else { return describe(error) }
    let ctx: DecodingError.Context
    var path: [any CodingKey]
    switch e {
    case .keyNotFound(let key, let c):
        ctx = c
        path = c.codingPath + [key]
    case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
        ctx = c
        path = c.codingPath
    @unknown default:
        return describe(error)
    }
    guard let at = path.firstIndex(where: { $0.intValue != nil }) else { return describe(error) }
    let index = path[at].intValue!
    path = Array(path[(at + 1)...])
    let field = path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    let what: String
    switch e {
    case .keyNotFound: what = "missing"
    case .valueNotFound: what = "null where a value is required"
    case .typeMismatch(let type, _): what = "expected \(type)"
    default: what = ctx.debugDescription
    }
    return field.isEmpty ? "\(item) \(index): \(what)" : "\(item) \(index), field \(field): \(what)"
}
