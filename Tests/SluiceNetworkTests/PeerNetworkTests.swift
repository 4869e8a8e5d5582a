import Foundation
import NIOCore
import SluiceCore
import Synchronization
import Testing

@testable import SluiceNetwork

// Real TLS over loopback TCP between PeerNetwork instances: who may connect, what arrives, what a hostile
// or slow peer can do. Waits poll with a deadline; nothing asserts on how long something took.

/// Frames received by one node, by sender.
final class Inbox: Sendable {
    let frames = Mutex<[(UInt16, Frame)]>([])
    let gate = Mutex<DispatchSemaphore?>(nil)

    func take(_ peer: UInt16, _ frame: Frame) {
        if let g = gate.withLock({ $0 }) { g.wait() }
        frames.withLock { $0.append((peer, frame)) }
    }

    var count: Int { frames.withLock { $0.count } }
    func from(_ peer: UInt16) -> [Frame] { frames.withLock { $0.filter { $0.0 == peer }.map(\.1) } }
}

final class Lines: Sendable {
    let lines = Mutex<[String]>([])
    func add(_ s: String) { lines.withLock { $0.append(s) } }
    var all: [String] { lines.withLock { $0 } }
}

/// Polls `condition` every 20 ms for at most `seconds`.
func eventually(_ seconds: Double = 20, _ condition: () -> Bool) -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.02)
    }
    return condition()
}

/// A free loopback port (bound and released).
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    return Int(UInt16(bigEndian: addr.sin_port))
}

struct Cluster {
    var keys: [SigningKey]
    var ports: [Int]
    var addresses: [PeerAddress]

    init(_ n: Int) throws {
        let keys = try (0..<n).map { _ in try SigningKey(scheme: .ed25519) }
        let ports = (0..<n).map { _ in freePort() }
        self.keys = keys
        self.ports = ports
        addresses = (0..<n).map { i in
            PeerAddress(index: UInt16(i), publicKey: keys[i].publicKey, host: "127.0.0.1", port: ports[i])
        }
    }

    func node(
        _ i: Int, inbox: Inbox, log: Lines = Lines(), configuration: NetworkConfiguration = NetworkConfiguration()
    ) throws -> PeerNetwork {
        var c = configuration
        c.reconnectMin = 20
        c.reconnectMax = 200
        let n = try PeerNetwork(
            me: UInt16(i), key: keys[i], peers: addresses, configuration: c, onFrame: inbox.take, log: log.add)
        _ = try n.start(host: "127.0.0.1", port: ports[i])
        return n
    }
}

@Suite("Validator network: mutual TLS, frames, bounds", .serialized)
struct PeerNetworkTests {
    @Test func framesArriveFromAuthenticatedPeersOnly() throws {
        let cluster = try Cluster(3)
        let inboxes = (0..<3).map { _ in Inbox() }
        let nodes = try (0..<3).map { try cluster.node($0, inbox: inboxes[$0]) }
        defer { for n in nodes { n.stop() } }
        #expect(eventually { nodes.allSatisfy { $0.connected.count == 2 } }, "\(nodes.map(\.connected))")
        for (i, n) in nodes.enumerated() {
            #expect(n.broadcast(Frame(kind: 7, body: Array("from \(i)".utf8))) == 2)
        }
        #expect(eventually { inboxes.allSatisfy { $0.count == 2 } })
        for (i, inbox) in inboxes.enumerated() {
            for j in 0..<3 where j != i {
                #expect(inbox.from(UInt16(j)) == [Frame(kind: 7, body: Array("from \(j)".utf8))])
            }
        }
        // A large frame (8 MiB) arrives whole.
        let big = Frame(kind: 1, body: (0..<(8 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        #expect(nodes[0].send(big, to: 1))
        #expect(eventually { inboxes[1].from(0).contains(big) })
    }

    @Test func aKeyOutsideTheSetIsRefusedBothWays() throws {
        var cluster = try Cluster(2)
        let inboxes = [Inbox(), Inbox()]
        let logs = [Lines(), Lines()]
        let a = try cluster.node(0, inbox: inboxes[0], log: logs[0])
        defer { a.stop() }
        // An impostor listens where validator 1 should and dials with its own key, claiming index 1.
        let impostorKey = try SigningKey(scheme: .ed25519)
        let impostorInbox = Inbox()
        var claimed = cluster.addresses
        claimed[1].publicKey = impostorKey.publicKey
        let impostor = try PeerNetwork(
            me: 1, key: impostorKey, peers: claimed, onFrame: impostorInbox.take, log: { _ in })
        _ = try impostor.start(host: "127.0.0.1", port: cluster.ports[1])
        defer { impostor.stop() }
        #expect(eventually { a.statistics.connectionsRefused > 0 })
        // It never authenticates to validator 0, and validator 0 never sends to it.
        _ = impostor.send(Frame(kind: 1, body: [1]), to: 0)
        #expect(!a.send(Frame(kind: 1, body: [2]), to: 1))
        Thread.sleep(forTimeInterval: 0.3)
        #expect(inboxes[0].count == 0 && impostorInbox.count == 0)
        #expect(a.connected.isEmpty && impostor.connected.isEmpty)
        #expect(logs[0].all.contains { $0.contains("presented no key of the set") }, "\(logs[0].all)")
        cluster.keys[1] = impostorKey  // silence the unused-mutation warning; the cluster is done
    }

    @Test func garbageAndOversizedFramesCloseOnlyThatConnection() throws {
        let cluster = try Cluster(3)
        let inboxes = (0..<3).map { _ in Inbox() }
        let log = Lines()
        var small = NetworkConfiguration()
        small.maxFrameBytes = 1024
        let receiver = try cluster.node(0, inbox: inboxes[0], log: log, configuration: small)
        let sender = try cluster.node(1, inbox: inboxes[1])
        let bystander = try cluster.node(2, inbox: inboxes[2])
        defer { for n in [receiver, sender, bystander] { n.stop() } }
        #expect(eventually { sender.connected.contains(0) && bystander.connected.contains(0) })
        // Plain bytes that are not TLS: refused, nothing delivered.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(cluster.ports[0]).bigEndian
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        #expect(connected == 0)
        let junk = [UInt8](repeating: 0x41, count: 4096)
        _ = junk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        #expect(eventually { receiver.statistics.connectionsRefused >= 1 })
        // An authenticated peer's oversized frame closes its connection, with the reason logged.
        #expect(sender.send(Frame(kind: 1, body: [UInt8](repeating: 1, count: 4096)), to: 0))
        #expect(eventually { log.all.contains { $0.contains("over the limit of 1024") } }, "\(log.all)")
        #expect(inboxes[0].from(1).isEmpty)
        // The bystander is not affected, and the sender is heard again once it has reconnected.
        #expect(bystander.send(Frame(kind: 2, body: [9]), to: 0))
        #expect(eventually { inboxes[0].from(2) == [Frame(kind: 2, body: [9])] })
        #expect(
            eventually {
                _ = sender.send(Frame(kind: 3, body: [5]), to: 0)
                return !inboxes[0].from(1).isEmpty
            })
        #expect(inboxes[0].from(1).allSatisfy { $0 == Frame(kind: 3, body: [5]) })
    }

    @Test func aStalledPeerFillsOnlyItsOwnQueue() throws {
        let cluster = try Cluster(3)
        let inboxes = (0..<3).map { _ in Inbox() }
        var bounded = NetworkConfiguration()
        bounded.maxQueuedBytes = 4 << 20
        let sender = try cluster.node(0, inbox: inboxes[0], configuration: bounded)
        let stalled = try cluster.node(1, inbox: inboxes[1])
        let healthy = try cluster.node(2, inbox: inboxes[2])
        defer { for n in [sender, healthy, stalled] { n.stop() } }
        #expect(eventually { sender.connected.count == 2 })
        // Validator 1 stops reading (its handler blocks), so TCP backs up and the sender's queue to it fills.
        let gate = DispatchSemaphore(value: 0)
        inboxes[1].gate.withLock { $0 = gate }
        let frame = Frame(kind: 1, body: [UInt8](repeating: 7, count: 256 << 10))
        var droppedToStalled = 0
        for _ in 0..<200 where !sender.send(frame, to: 1) { droppedToStalled += 1 }
        #expect(droppedToStalled > 0, "200 × 256 KiB to a peer that reads nothing should exceed a 4 MiB queue")
        // Frames to the healthy peer still go out and arrive.
        for i in 0..<20 { #expect(sender.send(Frame(kind: 2, body: [UInt8(i)]), to: 2)) }
        #expect(eventually { inboxes[2].from(0).count == 20 })
        #expect(inboxes[2].from(0).map { $0.body[0] } == (0..<20).map(UInt8.init))
        for _ in 0..<400 { gate.signal() }
        inboxes[1].gate.withLock { $0 = nil }
    }

    @Test func aRestartedPeerIsDialledAgain() throws {
        let cluster = try Cluster(2)
        let inboxes = [Inbox(), Inbox()]
        let a = try cluster.node(0, inbox: inboxes[0])
        defer { a.stop() }
        var b = try cluster.node(1, inbox: inboxes[1])
        #expect(eventually { a.connected == [1] && b.connected == [0] })
        b.stop()
        #expect(eventually { a.connected.isEmpty })
        #expect(!a.send(Frame(kind: 1, body: [1]), to: 1), "a frame to a peer that is down is dropped, not queued")
        let again = Inbox()
        b = try cluster.node(1, inbox: again)
        defer { b.stop() }
        #expect(eventually { a.connected == [1] })
        #expect(a.send(Frame(kind: 1, body: [2]), to: 1))
        #expect(eventually { again.from(0) == [Frame(kind: 1, body: [2])] })
        #expect(a.statistics.framesDropped >= 1)
    }

    @Test func anMLDSAKeyCannotBeATLSIdentity() throws {
        let key = try SigningKey(scheme: .mlDsa65)
        #expect(throws: NetworkError.self) { _ = try PeerIdentity(key: key) }
    }
}
