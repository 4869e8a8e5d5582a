import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A plain TCP connection to 127.0.0.1, for tests that misbehave below HTTP: send half a head, never
/// read, hold a socket open. Non-blocking: waits sleep the task instead of blocking a thread.
final class RawConnection: @unchecked Sendable {
    let fd: Int32

    /// Connects to `port`; `receiveBuffer` shrinks the socket's receive buffer (a client that never reads
    /// then holds little in the kernel, so the server's side fills up sooner).
    init(port: Int, receiveBuffer: Int32? = nil) throws {
        #if canImport(Glibc)
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw TestFailure("socket: \(String(cString: strerror(errno)))") }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            throw TestFailure("connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    deinit { close(fd) }

    /// Sends all of `bytes` (waiting while the socket is full); false when the peer has closed.
    @discardableResult
    func send(_ bytes: [UInt8], timeout: Duration = .seconds(30)) async throws -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                #if canImport(Glibc)
                    Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                #else
                    Darwin.send(fd, raw.baseAddress! + offset, raw.count - offset, 0)
                #endif
            }
            if n > 0 {
                offset += n
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                if ContinuousClock.now >= deadline { throw TestFailure("the server did not take the bytes in time") }
                try await Task.sleep(for: .milliseconds(5))
            } else {
                return false
            }
        }
        return true
    }

    @discardableResult
    func send(_ text: String) async throws -> Bool { try await send(Array(text.utf8)) }

    /// Reads until `done` says the bytes so far are enough, the peer closes, `max` bytes arrived or
    /// `timeout` passed; returns the bytes and whether the peer closed.
    func read(
        max: Int = 64 << 20, timeout: Duration = .seconds(30), until done: ([UInt8]) -> Bool = { _ in false }
    ) async throws -> (bytes: [UInt8], closed: Bool) {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while received.count < max {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n > 0 {
                received.append(contentsOf: chunk[0..<n])
                if done(received) { return (received, false) }
            } else if n == 0 {
                return (received, true)
            } else if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                if ContinuousClock.now >= deadline { return (received, false) }
                try await Task.sleep(for: .milliseconds(5))
            } else {
                // A reset is a close too.
                return (received, true)
            }
        }
        return (received, false)
    }
}

/// The status code of the HTTP response at the start of `bytes`, once its status line is there.
func httpStatus(_ bytes: [UInt8]) -> Int? {
    let text = String(decoding: bytes.prefix(64), as: UTF8.self)
    guard text.hasPrefix("HTTP/1.1 "), text.count >= 12 else { return nil }
    return Int(text.dropFirst(9).prefix(3))
}

/// Whether `bytes` hold a whole HTTP response head and, when it has a Content-Length, its body.
func hasWholeResponse(_ bytes: [UInt8]) -> Bool {
    guard
        let end = bytes.indices.dropLast(3).first(where: { i in
            bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10
        })
    else { return false }
    let head = String(decoding: bytes[..<end], as: UTF8.self).lowercased()
    guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
        let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
    else { return true }
    return bytes.count >= end + 4 + length
}

/// The body of the HTTP response in `bytes` (what follows the head).
func httpBody(_ bytes: [UInt8]) -> String {
    guard
        let end = bytes.indices.dropLast(3).first(where: { i in
            bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10
        })
    else { return "" }
    return String(decoding: bytes[(end + 4)...], as: UTF8.self)
}
