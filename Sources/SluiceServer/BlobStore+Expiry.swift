public import Foundation
public import SluiceCore
import Synchronization

extension BlobStore {
    /// What one sweep did.
    public struct Sweep: Sendable, Equatable {
        /// Blobs removed: no job names them and they were uploaded more than `unreferencedSeconds` ago.
        public var removed: Int
        public var removedBytes: Int64
        /// Blobs kept that no job names (younger than `unreferencedSeconds`).
        public var unreferenced: Int
        public var unreferencedBytes: Int64
        /// Blobs kept because a job names them.
        public var referenced: Int
    }

    /// Removes the blobs that `isReferenced` says no job names and that were uploaded more than
    /// `unreferencedSeconds` before `now`; recounts the bytes no job names from what stays.
    /// Uploads under way (temporary files) are left alone.
    ///
    /// - Complexity: O(n) in the stored blobs (one directory walk).
    @discardableResult
    public func sweep(now: Date = Date(), isReferenced: (Hash) -> Bool) -> Sweep {
        var result = Sweep(removed: 0, removedBytes: 0, unreferenced: 0, unreferencedBytes: 0, referenced: 0)
        let cutoff = now.addingTimeInterval(-Double(limits.unreferencedSeconds))
        for file in Self.files(in: root) where !file.isTemporary {
            guard let hash = file.hash else { continue }
            if isReferenced(hash) {
                result.referenced += 1
                continue
            }
            let removed = files.withLock { _ -> Bool in
                // Read the time again under the lock: an upload of the same blob may just have renewed it.
                let attributes = try? FileManager.default.attributesOfItem(atPath: file.url.path)
                guard let modified = attributes?[.modificationDate] as? Date, modified < cutoff else { return false }
                return unlink(file.url.path) == 0
            }
            if removed {
                result.removed += 1
                result.removedBytes += file.size
            } else {
                result.unreferenced += 1
                result.unreferencedBytes += file.size
            }
        }
        let swept = result
        usage.withLock { u in
            u.used = max(0, u.used - swept.removedBytes)
            u.unreferenced = swept.unreferencedBytes
        }
        return result
    }
}
