public import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
public import SluiceCore
import Synchronization

// The validator network: every validator keeps one outbound TLS 1.3 connection to each other validator,
// on which it sends, and accepts one inbound connection from each, on which it receives. Both ends
// authenticate (mutual TLS, keys pinned to the validator set; PeerIdentity.swift). Two one-way
// connections per pair need no tie-breaking when both dial at once, and a restarted peer simply dials
// again; its new inbound connection replaces the old one.
//
// A slow peer never stalls the others: each outbound connection has its own budget of queued bytes, and
// a frame that would exceed it is dropped (and counted) instead of waiting. Consensus tolerates lost
// messages (timeouts, sync info and block fetches recover them), so dropping is the right overload
// behaviour; so is dropping while a peer is disconnected. A lost connection is dialled again with
// exponential backoff. Received frames go to `onFrame` on the network's threads: the receiver bounds its
// own queues (a flooding peer's frames are dropped there, per peer).

/// Where a validator listens and which key it must present.
public struct PeerAddress: Sendable, Hashable {
    public var index: UInt16
    /// Its Ed25519 consensus key (32 bytes).
    public var publicKey: [UInt8]
    public var host: String
    public var port: Int

    public init(index: UInt16, publicKey: [UInt8], host: String, port: Int) {
        self.index = index
        self.publicKey = publicKey
        self.host = host
        self.port = port
    }
}

/// The network's bounds and timers.
public struct NetworkConfiguration: Sendable {
    /// The largest frame accepted (kind byte and body).
    public var maxFrameBytes = 33 << 20
    /// Bytes queued on one outbound connection before further frames to that peer are dropped.
    public var maxQueuedBytes = 64 << 20
    /// The first and the longest wait before dialling a lost peer again, milliseconds.
    public var reconnectMin: Int64 = 100
    public var reconnectMax: Int64 = 3_000
    public var connectTimeout: Int64 = 2_000

    public init() {}
}

/// Counters since start.
public struct NetworkStatistics: Sendable, Equatable {
    public var framesSent = 0
    public var bytesSent = 0
    /// Frames not sent: the peer was not connected, or its queue was full.
    public var framesDropped = 0
    public var framesReceived = 0
    public var bytesReceived = 0
    /// Connections whose peer did not present a key of the set, or that sent bytes that are not frames.
    public var connectionsRefused = 0
    public var handshakes = 0
}

/// A validator's connections to the others.
public final class PeerNetwork: Sendable {
    public let me: UInt16
    public let configuration: NetworkConfiguration
    let peers: [UInt16: PeerAddress]
    let indexByKey: [[UInt8]: UInt16]
    let identity: PeerIdentity
    let group: MultiThreadedEventLoopGroup
    let serverContext: NIOSSLContext
    let clientContext: NIOSSLContext
    let onFrame: @Sendable (UInt16, Frame) -> Void
    let log: @Sendable (String) -> Void

    struct Outbound {
        var channel: (any Channel)?
        var budget: QueueBudget?
        var attempts = 0
        var dialling = false
    }

    struct State {
        var outbound: [UInt16: Outbound] = [:]
        var inbound: [UInt16: any Channel] = [:]
        var server: (any Channel)?
        var stopped = false
        var statistics = NetworkStatistics()
    }

    let state = Mutex(State())

    /// - Parameters:
    ///   - me: this validator's index; `peers` may include it (it is skipped).
    ///   - onFrame: called with each frame received from an authenticated peer, on a network thread.
    public init(
        me: UInt16, key: SigningKey, peers: [PeerAddress], configuration: NetworkConfiguration = NetworkConfiguration(),
        onFrame: @escaping @Sendable (UInt16, Frame) -> Void, log: @escaping @Sendable (String) -> Void
    ) throws(NetworkError) {
        identity = try PeerIdentity(key: key)
        var byIndex: [UInt16: PeerAddress] = [:]
        var byKey: [[UInt8]: UInt16] = [:]
        for p in peers {
            guard byIndex.updateValue(p, forKey: p.index) == nil, byKey.updateValue(p.index, forKey: p.publicKey) == nil
            else { throw NetworkError(.peers, "validator \(p.index) or its key appears twice in the peer list") }
        }
        if let mine = byIndex[me], mine.publicKey != key.publicKey {
            throw NetworkError(.peers, "the set names another key for validator \(me) than this node's key")
        }
        byIndex[me] = nil
        self.me = me
        self.peers = byIndex
        indexByKey = byKey
        self.configuration = configuration
        self.onFrame = onFrame
        self.log = log
        do {
            serverContext = try NIOSSLContext(configuration: Self.tls(identity, server: true))
            clientContext = try NIOSSLContext(configuration: Self.tls(identity, server: false))
        } catch {
            throw NetworkError(.identity, "cannot set up TLS: \(error)")
        }
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    static func tls(_ identity: PeerIdentity, server: Bool) -> TLSConfiguration {
        var c =
            server
            ? TLSConfiguration.makeServerConfiguration(
                certificateChain: [.certificate(identity.certificate)], privateKey: .privateKey(identity.privateKey))
            : TLSConfiguration.makeClientConfiguration()
        c.certificateChain = [.certificate(identity.certificate)]
        c.privateKey = .privateKey(identity.privateKey)
        c.minimumTLSVersion = .tlsv13
        // Verification is the pinning callback; no CA, no host name. A server requires a client certificate.
        c.certificateVerification = .noHostnameVerification
        c.signingSignatureAlgorithms = [.ed25519]
        c.verifySignatureAlgorithms = [.ed25519]
        return c
    }

    /// Listens on `host:port` (0 picks a free port) and dials every peer. Returns the bound port.
    public func start(host: String, port: Int) throws(NetworkError) -> Int {
        let server: any Channel
        do {
            server = try ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { [self] channel in
                    channel.eventLoop.makeCompletedFuture { try self.initializeInbound(channel) }
                }
                .bind(host: host, port: port).wait()
        } catch {
            throw NetworkError(.bind, "cannot listen for validators on \(host):\(port): \(error)")
        }
        state.withLock { $0.server = server }
        for peer in peers.keys.sorted() { dial(peer) }
        return server.localAddress?.port ?? port
    }

    /// Closes every connection and stops dialling. Call from outside the network's threads.
    public func stop() {
        let channels: [any Channel] = state.withLock { s in
            s.stopped = true
            var all = Array(s.inbound.values) + s.outbound.values.compactMap(\.channel)
            if let server = s.server { all.append(server) }
            return all
        }
        for c in channels { c.close(promise: nil) }
        try? group.syncShutdownGracefully()
    }

    public var statistics: NetworkStatistics { state.withLock { $0.statistics } }

    /// The peers this node can send to now (outbound handshake done).
    public var connected: [UInt16] {
        state.withLock { s in s.outbound.filter { $0.value.channel != nil }.map(\.key).sorted() }
    }

    // MARK: Sending

    /// Queues `frame` to `peer`; false when it was dropped (not connected, or the peer's queue is full).
    @discardableResult
    public func send(_ frame: Frame, to peer: UInt16) -> Bool {
        var buffer = ByteBufferAllocator().buffer(capacity: frame.body.count + 5)
        frame.encoded(into: &buffer)
        return send(buffer, to: peer)
    }

    /// Queues `frame` to every peer (encoded once); returns how many took it.
    @discardableResult
    public func broadcast(_ frame: Frame) -> Int {
        var buffer = ByteBufferAllocator().buffer(capacity: frame.body.count + 5)
        frame.encoded(into: &buffer)
        var n = 0
        for peer in peers.keys where send(buffer, to: peer) { n += 1 }
        return n
    }

    func send(_ buffer: ByteBuffer, to peer: UInt16) -> Bool {
        let size = buffer.readableBytes
        let target: (any Channel, QueueBudget)? = state.withLock { s in
            guard let o = s.outbound[peer], let channel = o.channel, let budget = o.budget,
                budget.take(size, limit: configuration.maxQueuedBytes)
            else {
                s.statistics.framesDropped += 1
                return nil
            }
            s.statistics.framesSent += 1
            s.statistics.bytesSent += size
            return (channel, budget)
        }
        guard let (channel, budget) = target else { return false }
        channel.writeAndFlush(buffer).whenComplete { _ in budget.give(size) }
        return true
    }

    // MARK: Outbound connections

    func dial(_ peer: UInt16) {
        guard let address = peers[peer] else { return }
        let go: Bool = state.withLock { s in
            guard !s.stopped, s.outbound[peer]?.dialling != true, s.outbound[peer]?.channel == nil else { return false }
            s.outbound[peer, default: Outbound()].dialling = true
            return true
        }
        guard go else { return }
        let expected = address.publicKey
        let context = clientContext
        ClientBootstrap(group: group)
            .connectTimeout(.milliseconds(configuration.connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let tls = try NIOSSLClientHandler(
                        context: context, serverHostname: nil,
                        customVerificationCallback: { certificates, promise in
                            let key = certificates.first.flatMap(PeerIdentity.ed25519Key)
                            promise.succeed(key == expected ? .certificateVerified : .failed)
                        })
                    try channel.pipeline.syncOperations.addHandler(tls)
                    try channel.pipeline.syncOperations.addHandler(OutboundHandler(network: self, peer: peer))
                }
            }
            .connect(host: address.host, port: address.port)
            .whenFailure { [self] _ in redial(peer, channel: nil) }
    }

    /// The handshake with `peer` completed on `channel`: frames to it go there from now on.
    func outboundReady(_ peer: UInt16, channel: any Channel) {
        let stale: Bool = state.withLock { s in
            guard !s.stopped else { return true }
            s.statistics.handshakes += 1
            s.outbound[peer] = Outbound(channel: channel, budget: QueueBudget(), attempts: 0, dialling: false)
            return false
        }
        if stale { channel.close(promise: nil) }
    }

    /// A connection to `peer` failed or closed: dial again after the backoff.
    func redial(_ peer: UInt16, channel: (any Channel)?) {
        let delay: Int64? = state.withLock { s in
            var o = s.outbound[peer] ?? Outbound()
            if let channel, let current = o.channel, current !== channel { return nil }
            o.channel = nil
            o.budget = nil
            o.dialling = false
            o.attempts += 1
            s.outbound[peer] = o
            guard !s.stopped else { return nil }
            let exponent = Swift.min(o.attempts - 1, 16)
            return Swift.min(configuration.reconnectMax, configuration.reconnectMin << exponent)
        }
        guard let delay else { return }
        group.next().scheduleTask(in: .milliseconds(delay)) { [self] in dial(peer) }
    }

    // MARK: Inbound connections

    func initializeInbound(_ channel: any Channel) throws {
        let slot = PeerSlot()
        let indexByKey = self.indexByKey
        let me = self.me
        let tls = NIOSSLServerHandler(
            context: serverContext,
            customVerificationCallback: { [self] certificates, promise in
                if let key = certificates.first.flatMap(PeerIdentity.ed25519Key), let index = indexByKey[key],
                    index != me
                {
                    slot.index = index
                    promise.succeed(.certificateVerified)
                } else {
                    refused(
                        "a connection from \(channel.remoteAddress?.description ?? "?") presented no key of the set")
                    promise.succeed(.failed)
                }
            })
        try channel.pipeline.syncOperations.addHandler(tls)
        try channel.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(FrameDecoder(maxFrameBytes: configuration.maxFrameBytes)))
        try channel.pipeline.syncOperations.addHandler(InboundHandler(network: self, slot: slot))
    }

    func refused(_ why: String) {
        state.withLock { $0.statistics.connectionsRefused += 1 }
        log("validator network: refused: \(why)")
    }

    func inboundOpened(_ peer: UInt16, channel: any Channel) {
        let old: (any Channel)? = state.withLock { s in
            s.statistics.handshakes += 1
            return s.inbound.updateValue(channel, forKey: peer)
        }
        old?.close(promise: nil)
    }

    func inboundClosed(_ peer: UInt16, channel: any Channel) {
        state.withLock { s in
            if let current = s.inbound[peer], current === channel { s.inbound[peer] = nil }
        }
    }

    func received(_ frame: Frame, from peer: UInt16) {
        state.withLock { s in
            s.statistics.framesReceived += 1
            s.statistics.bytesReceived += frame.body.count + 5
        }
        onFrame(peer, frame)
    }
}

/// Bytes written to one connection and not yet sent.
final class QueueBudget: Sendable {
    let queued = Atomic<Int>(0)

    func take(_ n: Int, limit: Int) -> Bool {
        let after = queued.add(n, ordering: .relaxed).newValue
        if after > limit {
            queued.subtract(n, ordering: .relaxed)
            return false
        }
        return true
    }

    func give(_ n: Int) { queued.subtract(n, ordering: .relaxed) }
}

/// The validator an inbound connection authenticated as; set by the TLS callback, read on the same loop.
final class PeerSlot: @unchecked Sendable {
    var index: UInt16?
}

/// The sending side's connection: reports the handshake and the close; the peer sends nothing back.
final class OutboundHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let network: PeerNetwork
    let peer: UInt16

    init(network: PeerNetwork, peer: UInt16) {
        self.network = network
        self.peer = peer
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? TLSUserEvent, case .handshakeCompleted = e {
            network.outboundReady(peer, channel: context.channel)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func channelInactive(context: ChannelHandlerContext) {
        network.redial(peer, channel: context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        network.log("validator network: to validator \(peer): \(error)")
        context.close(promise: nil)
    }
}

/// The receiving side's connection: hands authenticated frames on; a decoding error closes it.
final class InboundHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = Frame
    let network: PeerNetwork
    let slot: PeerSlot

    init(network: PeerNetwork, slot: PeerSlot) {
        self.network = network
        self.slot = slot
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? TLSUserEvent, case .handshakeCompleted = e, let peer = slot.index {
            network.inboundOpened(peer, channel: context.channel)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let peer = slot.index else { return }
        network.received(unwrapInboundIn(data), from: peer)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let peer = slot.index { network.inboundClosed(peer, channel: context.channel) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let who = slot.index.map { "validator \($0)" } ?? (context.remoteAddress?.description ?? "an unknown peer")
        network.refused("\(who): \(error); connection closed")
        context.close(promise: nil)
    }
}
