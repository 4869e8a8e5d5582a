public import Hummingbird
public import HummingbirdWebSocket
import NIOCore

/// The request context of the API: plain HTTP plus the WebSocket upgrade of `/v1/events`.
public struct APIRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>
    /// The connection the request came on: the event stream closes a subscriber that falls behind on it.
    let channel: any Channel

    public init(source: Source) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }
}
