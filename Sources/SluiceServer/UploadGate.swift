import Synchronization

/// Admits blob uploads: at most `concurrent` at once and `inFlightBytes` of their bodies between them, so
/// uploads cost the node a bounded amount of disk being written and of time, whatever clients send. An
/// upload is counted at its `Content-Length`, or at the largest blob when it has none (chunked), from
/// before its body is read until it is stored or refused.
final class UploadGate: Sendable {
    struct Load {
        var uploads: Int
        var bytes: Int64
    }

    let concurrent: Int
    let inFlightBytes: Int64
    private let load = Mutex(Load(uploads: 0, bytes: 0))

    init(concurrent: Int, inFlightBytes: Int64) {
        self.concurrent = concurrent
        self.inFlightBytes = inFlightBytes
    }

    /// Why an upload was not admitted.
    enum Refusal: Error {
        case tooMany(Int)
        case tooManyBytes(Int64)
    }

    /// Counts an upload of `bytes` in; the caller releases it with `leave(bytes)` when done.
    func enter(bytes: Int64) throws(Refusal) {
        try load.withLock { (l: inout Load) throws(Refusal) in
            guard l.uploads < concurrent else { throw .tooMany(concurrent) }
            guard l.bytes + bytes <= inFlightBytes else { throw .tooManyBytes(inFlightBytes) }
            l.uploads += 1
            l.bytes += bytes
        }
    }

    func leave(bytes: Int64) {
        load.withLock { l in
            l.uploads -= 1
            l.bytes -= bytes
        }
    }

    /// The uploads and bytes admitted now.
    var current: Load { load.withLock { $0 } }
}
