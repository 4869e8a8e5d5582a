public import NIOCore

// Frames on a validator connection: a 4-byte big-endian length, then that many bytes: a 1-byte kind and
// the body. The length is checked before any of the body is buffered, so a peer cannot make a node hold
// more than one maximal frame per connection; an empty or oversized frame closes the connection.

/// One frame: what kind of message, and its bytes.
public struct Frame: Sendable, Equatable {
    public var kind: UInt8
    public var body: [UInt8]

    public init(kind: UInt8, body: [UInt8]) {
        self.kind = kind
        self.body = body
    }

    /// The frame's bytes on the wire.
    public func encoded(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(body.count + 1))
        buffer.writeInteger(kind)
        buffer.writeBytes(body)
    }
}

/// Why a connection's bytes were refused.
public struct FrameError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Splits a connection's bytes into frames, refusing a length of zero or over `maxFrameBytes`.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Frame
    public let maxFrameBytes: Int

    public init(maxFrameBytes: Int) { self.maxFrameBytes = maxFrameBytes }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        guard length >= 1 else { throw FrameError(message: "an empty frame") }
        guard Int(length) <= maxFrameBytes else {
            throw FrameError(message: "a frame of \(length) bytes, over the limit of \(maxFrameBytes)")
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        let kind: UInt8 = buffer.readInteger()!
        let body = buffer.readBytes(length: Int(length) - 1)!
        context.fireChannelRead(wrapInboundOut(Frame(kind: kind, body: body)))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
