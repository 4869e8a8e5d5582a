public import Hummingbird
public import HummingbirdWebSocket

/// The request context of the API: plain HTTP plus the WebSocket upgrade of `/v1/events`.
public struct APIRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>

    public init(source: Source) {
        coreContext = .init(source: source)
        webSocket = .init()
    }
}
