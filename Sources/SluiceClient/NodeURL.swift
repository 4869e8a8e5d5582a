import Foundation

/// The base URL of a node's API, checked once: `http://host:port`, with an optional trailing slash and
/// nothing else (no path, query, user or TLS: the API serves plain HTTP on one address).
struct NodeURL: Sendable, Equatable {
    /// The host as it goes into a URL (an IPv6 address keeps its brackets).
    let host: String
    let port: Int

    /// `http://host:port`, no trailing slash.
    var http: String { "http://\(host):\(port)" }
    /// `ws://host:port`, for the event stream.
    var webSocket: String { "ws://\(host):\(port)" }

    init(_ text: String) throws(ClientError) {
        let bad = { (why: String) in
            ClientError("'\(text)' is not a node URL: \(why) (expected http://HOST:PORT, e.g. http://127.0.0.1:8645)")
        }
        guard text.contains("://") else { throw bad("it has no http:// in front") }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw bad("it does not parse as a URL")
        }
        guard scheme == "http" else {
            throw bad(scheme == "https" ? "the node serves plain HTTP, not https" : "the scheme must be http")
        }
        guard let host = components.percentEncodedHost, !host.isEmpty else { throw bad("the host is missing") }
        guard let port = components.port else { throw bad("the port is missing") }
        guard (1...65535).contains(port) else { throw bad("the port must be 1 to 65535") }
        guard components.percentEncodedPath.isEmpty || components.percentEncodedPath == "/" else {
            throw bad("it must not have a path")
        }
        guard components.percentEncodedQuery == nil, components.percentEncodedFragment == nil else {
            throw bad("it must not have a query or fragment")
        }
        guard components.percentEncodedUser == nil, components.percentEncodedPassword == nil else {
            throw bad("it must not have a user or password")
        }
        self.host = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        self.port = port
    }
}
