import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

// Connections that cannot hold the node (docs/THREAT_MODEL.md, "HTTP connections").
//
// Hummingbird closes a keep-alive connection idle for `idleTimeout` and a request whose body stops
// arriving for as long (`HTTPConnectionStateHandler`), but only once the first request head has been read:
// before it, with the WebSocket upgrade in the pipeline, nothing times a connection out, so a client that
// opens a socket and sends nothing, or a head one byte at a time, holds it forever. `FirstRequestDeadline`
// (at the front of every connection's pipeline) closes it unless a whole head arrives within
// `headerTimeout`. Heads are bounded by the HTTP decoder's limits; one over them is answered 431 by
// `ParseErrorResponder` (any other parse error 400) and the connection closed. A response that refuses
// its request (`Connection: close`, set by `JSONErrorMiddleware` on refusals) or that is sent before the
// request's body was read whole closes the connection once written (`CloseAfterRefusal`), instead of
// reading and discarding the rest of a body the node did not want. Uploads also have a deadline for the
// whole body (`uploadTimeout`), since a trickle of one byte per `idleTimeout` would keep a slot forever.

extension APIServer {
    /// How long connections may wait, and how large request heads may be.
    public struct Connections: Sendable {
        /// A connection with no request under way is closed after this long; so is one whose request
        /// body stops arriving for this long. Longer than clients' pool idle time (AsyncHTTPClient's is
        /// 60 s), so a client does not reuse a connection just as the node closes it.
        public var idleTimeout: Duration
        /// The first request head must arrive whole within this long of the connection opening.
        public var headerTimeout: Duration
        /// The whole body of a blob upload must arrive within this long.
        public var uploadTimeout: Duration
        /// The largest header field, all header fields together, and the most fields in a request head.
        public var maxHeaderFieldBytes: Int
        public var maxHeaderBytes: Int
        public var maxHeaderCount: Int
        /// After a refusal, how long the connection is kept half-closed (reading and discarding) so the
        /// client reads the response before the socket goes away.
        public var lingerAfterRefusal: Duration

        public init(
            idleTimeout: Duration = .seconds(75), headerTimeout: Duration = .seconds(10),
            uploadTimeout: Duration = .seconds(600), maxHeaderFieldBytes: Int = 8 * 1024,
            maxHeaderBytes: Int = 16 * 1024, maxHeaderCount: Int = 100, lingerAfterRefusal: Duration = .seconds(2)
        ) {
            self.idleTimeout = idleTimeout
            self.headerTimeout = headerTimeout
            self.uploadTimeout = uploadTimeout
            self.maxHeaderFieldBytes = maxHeaderFieldBytes
            self.maxHeaderBytes = maxHeaderBytes
            self.maxHeaderCount = maxHeaderCount
            self.lingerAfterRefusal = lingerAfterRefusal
        }

        /// Hummingbird's HTTP/1 configuration from these limits.
        func http1() -> HTTP1Channel.Configuration {
            let linger = TimeAmount(lingerAfterRefusal)
            return HTTP1Channel.Configuration(
                additionalChannelHandlers: [CloseAfterRefusal(linger: linger)],
                idleTimeout: TimeAmount(idleTimeout),
                httpDecoderConfiguration: .init(
                    maxHeaderFieldSize: maxHeaderFieldBytes, maxHeaderListSize: maxHeaderBytes,
                    maxHeaderFieldCount: maxHeaderCount))
        }
    }
}

/// Wraps the server's child channel: adds `FirstRequestDeadline` in front of its pipeline and
/// `ParseErrorResponder` after its HTTP decoder.
struct GuardedChildChannel<Inner: ServerChildChannel>: ServerChildChannel {
    typealias Value = Inner.Value
    let inner: Inner
    let connections: APIServer.Connections

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            try channel.pipeline.syncOperations.addHandler(
                FirstRequestDeadline(timeout: TimeAmount(connections.headerTimeout)), position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        let linger = TimeAmount(connections.lingerAfterRefusal)
        return inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let decoder = try channel.pipeline.syncOperations.handler(
                type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(
                ParseErrorResponder(linger: linger), position: .after(decoder))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

/// Closes the connection unless a whole request head (up to its blank line) arrives within `timeout` of
/// the connection opening. After the first head it only passes bytes on: Hummingbird's idle timeout covers
/// the connection's later requests, the WebSocket's pings an upgraded one.
final class FirstRequestDeadline: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    let timeout: TimeAmount
    private var deadline: Scheduled<Void>?
    /// The last bytes seen, to find `\r\n\r\n` across reads.
    private var tail: [UInt8] = []
    private var armed = true

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { disarm() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if armed {
            let buffer = unwrapInboundIn(data)
            var window = tail
            window.append(contentsOf: buffer.readableBytesView)
            if containsEndOfHead(window) {
                disarm()
            } else {
                tail = Array(window.suffix(3))
            }
        }
        context.fireChannelRead(data)
    }

    private func containsEndOfHead(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 4 else { return false }
        for i in 0...(bytes.count - 4)
        where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return true
        }
        return false
    }

    private func arm(_ context: ChannelHandlerContext) {
        guard armed, deadline == nil else { return }
        let loop = context.eventLoop.assumeIsolatedUnsafeUnchecked()
        deadline = loop.scheduleTask(in: timeout) { [weak self] in
            guard let self, self.armed else { return }
            context.close(promise: nil)
        }
    }

    private func disarm() {
        armed = false
        tail = []
        deadline?.cancel()
        deadline = nil
    }
}

/// Answers a request head the decoder refused (over the header limits: 431; anything else: 400) with a
/// JSON error, then half-closes the connection and closes it after `linger`. It sits right after the HTTP
/// decoder and passes everything else on unchanged.
final class ParseErrorResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny
    let linger: TimeAmount
    private var refused = false

    init(linger: TimeAmount) { self.linger = linger }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // After a refusal the rest of what the client sends is discarded.
        guard !refused else { return }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parseError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        guard !refused else { return }
        refused = true
        let tooLarge = parseError == .headerOverflow
        let body = ByteBuffer(
            string: tooLarge
                ? #"{"error":"the request head is over the node's header limits: send fewer or shorter headers","code":"headers_too_large"}"#
                : #"{"error":"the request is not valid HTTP/1.1","code":"bad_request"}"#)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        headers.add(name: "Connection", value: "close")
        let head = HTTPResponseHead(
            version: .http1_1, status: tooLarge ? .requestHeaderFieldsTooLarge : .badRequest, headers: headers)
        context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(body))), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: written)
        let (channel, linger) = (context.channel, self.linger)
        written.futureResult.whenComplete { _ in lingeringClose(channel, linger: linger) }
    }
}

/// Closes the connection after a response that refuses its request: one with `Connection: close`, or one
/// sent before the request's body was read whole (what is left of it is not read and discarded).
final class CloseAfterRefusal: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart
    let linger: TimeAmount
    private var requestRead = true
    private var closeAfterResponse = false
    private var closing = false

    init(linger: TimeAmount) { self.linger = linger }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        switch unwrapInboundIn(data) {
        case .head: requestRead = false
        case .end: requestRead = true
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            // A 101 (the WebSocket upgrade) or any informational head is not a response's end.
            if head.status.code >= 200 && (head.headerFields[.connection]?.lowercased() == "close" || !requestRead) {
                closeAfterResponse = true
            }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            guard closeAfterResponse, !closing else {
                context.write(data, promise: promise)
                return
            }
            closing = true
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.cascade(to: promise)
            context.writeAndFlush(data, promise: written)
            let (channel, linger) = (context.channel, self.linger)
            written.futureResult.whenComplete { _ in lingeringClose(channel, linger: linger) }
        }
    }
}

/// Half-closes the connection (the client gets the response and an end of stream) and closes it for good
/// after `linger`, so a client still sending does not get a reset that could discard the response.
private func lingeringClose(_ channel: any Channel, linger: TimeAmount) {
    channel.close(mode: .output, promise: nil)
    channel.eventLoop.scheduleTask(in: linger) { channel.close(promise: nil) }
}
