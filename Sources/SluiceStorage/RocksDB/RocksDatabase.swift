import CRocksDB
import Foundation
import Synchronization

// A thin owner of a RocksDB database opened through its C API (Debian's librocksdb-dev), with named
// column families. Everything the chain stores goes through `WriteBatch`es written with a synced WAL,
// so a batch is either entirely on disk or not at all, whatever moment the process dies.

/// An open RocksDB database with its column families. Safe to use from several threads.
public final class RocksDatabase: @unchecked Sendable {
    private let db: OpaquePointer
    private let options: OpaquePointer
    private let tableOptions: OpaquePointer
    private let cache: OpaquePointer
    private let readOptions: OpaquePointer
    /// Iterators read in key order across prefixes, whatever a family's prefix extractor.
    private let scanOptions: OpaquePointer
    /// Options of the hash-indexed families (copies of `options`).
    private var hashedOptions: [OpaquePointer] = []
    private let syncWrite: OpaquePointer
    private let bulkWrite: OpaquePointer
    private var families: [String: OpaquePointer] = [:]
    private let closed = Atomic<Bool>(false)
    public let path: String

    /// Opens (creating if missing) the database at `path` with exactly `columnFamilies` (plus "default").
    ///
    /// - Parameter hashedPrefixes: families whose keys are only ever read by exact key (and scanned whole by
    ///   tools), with the length of a key prefix whose bytes are well spread (a hash). Their memtables are
    ///   hash tables of short sorted lists keyed by that prefix instead of one skip list: an insert is a
    ///   bucket probe, not a search of a skip list of a few hundred thousand entries (measured: ~120 key
    ///   comparisons and a cache miss each, most of a block's commit). Point reads stay as fast; an
    ///   iterator over such a family first sorts its memtable, so it suits families that are not listed in
    ///   order by the API. Every key of such a family must be at least its prefix long.
    public init(
        path: String, columnFamilies: [String], hashedPrefixes: [String: Int] = [:], cacheBytes: Int = 256 << 20
    ) throws(StorageError) {
        self.path = path
        options = rocksdb_options_create()
        rocksdb_options_set_create_if_missing(options, 1)
        rocksdb_options_set_create_missing_column_families(options, 1)
        // Hash-indexed memtables take one writer at a time (the chain has one: the block commit).
        if !hashedPrefixes.isEmpty { rocksdb_options_set_allow_concurrent_memtable_write(options, 0) }
        rocksdb_options_increase_parallelism(options, Int32(max(2, ProcessInfo.processInfo.activeProcessorCount)))
        // Flushes and compactions run at a lower CPU priority (the process-wide default environment's thread
        // pools), so that on a small machine they take the cores' idle time rather than a block's: a flush
        // beside a block made that block's commit 20-70 ms longer (60-block runs: root update + commit p99
        // 157 ms at normal priority, 107-108 ms lowered; p50 unchanged). Memtables leave room (6 × 128 MB)
        // for a flush that waits a little.
        if let env = rocksdb_create_default_env() {
            rocksdb_env_lower_thread_pool_cpu_priority(env)
            rocksdb_env_lower_high_priority_thread_pool_cpu_priority(env)
            rocksdb_options_set_env(options, env)
            rocksdb_env_destroy(env)  // the wrapper only: the default environment lives on
        }
        rocksdb_options_set_compression(options, Int32(rocksdb_lz4_compression))
        rocksdb_options_set_max_open_files(options, 512)
        // Blocks write tens of thousands of keys at once: large memtables flush less often.
        rocksdb_options_set_write_buffer_size(options, 128 << 20)
        rocksdb_options_set_max_write_buffer_number(options, 6)
        // Flushes and compactions write (and compactions read) hundreds of MB that nothing reads back soon:
        // through the page cache they grow it by that much and take fresh pages from the OS for every write,
        // which slowed the WAL writes of the blocks committing meanwhile. Direct I/O leaves the cache to
        // what reads need, where the data dir's file system supports it (probed: tmpfs before Linux 6.6 does not).
        if Self.supportsDirectIO(path) {
            rocksdb_options_set_use_direct_io_for_flush_and_compaction(options, 1)
            rocksdb_options_compaction_readahead_size(options, 2 << 20)
        }
        tableOptions = rocksdb_block_based_options_create()
        cache = rocksdb_cache_create_lru(cacheBytes)
        rocksdb_block_based_options_set_block_cache(tableOptions, cache)
        // Point lookups (state values, tree nodes by exact key) dominate: a bloom filter skips files.
        rocksdb_block_based_options_set_filter_policy(tableOptions, rocksdb_filterpolicy_create_bloom(10))
        rocksdb_block_based_options_set_cache_index_and_filter_blocks(tableOptions, 1)
        rocksdb_options_set_block_based_table_factory(options, tableOptions)
        readOptions = rocksdb_readoptions_create()
        scanOptions = rocksdb_readoptions_create()
        rocksdb_readoptions_set_total_order_seek(scanOptions, 1)
        syncWrite = rocksdb_writeoptions_create()
        rocksdb_writeoptions_set_sync(syncWrite, 1)
        bulkWrite = rocksdb_writeoptions_create()

        let names = ["default"] + columnFamilies
        var handles = [OpaquePointer?](repeating: nil, count: names.count)
        var error: UnsafeMutablePointer<CChar>? = nil
        let cNames = names.map { strdup($0) }
        defer { cNames.forEach { free($0) } }
        var familyOptions = [OpaquePointer?](repeating: options, count: names.count)
        for (i, name) in names.enumerated() {
            guard let prefix = hashedPrefixes[name] else { continue }
            let hashed = rocksdb_options_create_copy(options)!
            rocksdb_options_set_prefix_extractor(hashed, rocksdb_slicetransform_create_fixed_prefix(prefix))
            rocksdb_options_set_hash_link_list_rep(hashed, 1 << 20)
            hashedOptions.append(hashed)
            familyOptions[i] = hashed
        }
        let options = self.options
        let opened: OpaquePointer? = cNames.map { UnsafePointer($0) }.withUnsafeBufferPointer { namePointers in
            familyOptions.withUnsafeBufferPointer { optionPointers in
                handles.withUnsafeMutableBufferPointer { handlePointers in
                    rocksdb_open_column_families(
                        options, path, Int32(names.count),
                        UnsafeRawPointer(namePointers.baseAddress!).assumingMemoryBound(to: UnsafePointer<CChar>?.self),
                        UnsafeRawPointer(optionPointers.baseAddress!).assumingMemoryBound(to: OpaquePointer?.self),
                        handlePointers.baseAddress, &error)
                }
            }
        }
        if let error {
            let message = String(cString: error)
            rocksdb_free(error)
            Self.destroyOptions(
                options, tableOptions, cache, [readOptions, scanOptions], syncWrite, bulkWrite, hashed: hashedOptions)
            throw StorageError(.database, "cannot open the database at \(path): \(message)")
        }
        db = opened!
        for (name, handle) in zip(names, handles) { families[name] = handle! }
    }

    /// Closes the database now (its memtables stay in the WAL), instead of whenever the last reference
    /// goes: a process that exits while RocksDB is still open can crash in its static destructors. Call
    /// it when nothing else uses the database; later calls fail with "closed".
    public func close() {
        guard closed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            return
        }
        for (_, handle) in families { rocksdb_column_family_handle_destroy(handle) }
        rocksdb_close(db)
    }

    private func checkOpen() throws(StorageError) {
        if closed.load(ordering: .acquiring) { throw StorageError(.database, "the database at \(path) is closed") }
    }

    deinit {
        close()
        Self.destroyOptions(
            options, tableOptions, cache, [readOptions, scanOptions], syncWrite, bulkWrite, hashed: hashedOptions)
    }

    private static func destroyOptions(
        _ options: OpaquePointer, _ table: OpaquePointer, _ cache: OpaquePointer, _ reads: [OpaquePointer],
        _ sync: OpaquePointer, _ bulk: OpaquePointer, hashed: [OpaquePointer]
    ) {
        reads.forEach { rocksdb_readoptions_destroy($0) }
        rocksdb_writeoptions_destroy(sync)
        rocksdb_writeoptions_destroy(bulk)
        hashed.forEach { rocksdb_options_destroy($0) }
        rocksdb_options_destroy(options)
        rocksdb_block_based_options_destroy(table)
        rocksdb_cache_destroy(cache)
    }

    func family(_ name: String) -> OpaquePointer {
        guard let handle = families[name] else { preconditionFailure("unknown column family \(name)") }
        return handle
    }

    /// The value at `key` in a column family, or nil.
    public func get(_ family: String, _ key: [UInt8]) throws(StorageError) -> [UInt8]? {
        try withValue(family, key) { Array($0) }
    }

    /// Calls `body` with the value at `key` in place (RocksDB's pinned slice, no copy), or returns nil.
    public func withValue<T>(
        _ family: String, _ key: [UInt8], _ body: (UnsafeRawBufferPointer) throws(StorageError) -> T
    ) throws(StorageError) -> T? {
        try checkOpen()
        var error: UnsafeMutablePointer<CChar>? = nil
        let handle = self.family(family)
        let slice = key.withUnsafeBufferPointer { k in
            rocksdb_get_pinned_cf(
                db, readOptions, handle, UnsafeRawPointer(k.baseAddress!).assumingMemoryBound(to: CChar.self), k.count,
                &error)
        }
        if let error { throw Self.error(error, "reading \(family)") }
        guard let slice else { return nil }
        defer { rocksdb_pinnableslice_destroy(slice) }
        var length = 0
        let value = rocksdb_pinnableslice_value(slice, &length)
        return try body(UnsafeRawBufferPointer(start: value, count: value == nil ? 0 : length))
    }

    /// Writes a batch atomically. `sync` waits until the WAL is on disk (every block commit does).
    public func write(_ batch: WriteBatch, sync: Bool = true) throws(StorageError) {
        try checkOpen()
        var error: UnsafeMutablePointer<CChar>? = nil
        rocksdb_write(db, sync ? syncWrite : bulkWrite, batch.batch, &error)
        if let error { throw Self.error(error, "writing a batch of \(batch.count) records") }
    }

    private let logPages = LogPageReleaser()

    /// Drops the write-ahead log's pages from the OS page cache, in the background. The WAL is written once
    /// and read only when recovering from a crash; once a batch is synced, its pages in the cache serve
    /// nothing, and each block's 9 MB of new WAL pages would otherwise grow the cache and take fresh pages
    /// from the OS for every write (PostgreSQL drops its WAL segments' pages the same way). The dropped pages
    /// are reused by the next block's WAL write.
    public func releaseLogPages() { logPages.release(in: path) }

    /// Whether files in `directory` can be opened for direct I/O (tmpfs refused O_DIRECT before Linux 6.6).
    static func supportsDirectIO(_ directory: String) -> Bool {
        let probe = directory + "/.direct-io-probe"
        // O_DIRECT is not imported into Swift (it needs _GNU_SOURCE); its value differs by architecture.
        #if arch(x86_64) || arch(i386)
            let direct: Int32 = 0o40000
        #else
            let direct: Int32 = 0o200000
        #endif
        let fd = open(probe, O_WRONLY | O_CREAT | direct | O_CLOEXEC, 0o600)
        defer { unlink(probe) }
        guard fd >= 0 else { return false }
        Glibc.close(fd)
        return true
    }

    /// Calls `body` with every key/value of a column family whose key starts with `prefix`, in key order,
    /// until it returns false.
    public func scan(
        _ family: String, prefix: [UInt8] = [], from start: [UInt8]? = nil,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try checkOpen()
        let iterator = rocksdb_create_iterator_cf(db, scanOptions, self.family(family))!
        defer { rocksdb_iter_destroy(iterator) }
        let seekKey = start ?? prefix
        if seekKey.isEmpty {
            rocksdb_iter_seek_to_first(iterator)
        } else {
            seekKey.withUnsafeBufferPointer { k in
                rocksdb_iter_seek(
                    iterator, UnsafeRawPointer(k.baseAddress!).assumingMemoryBound(to: CChar.self), k.count)
            }
        }
        while rocksdb_iter_valid(iterator) != 0 {
            var keyLength = 0
            var valueLength = 0
            let key = UnsafeRawBufferPointer(start: rocksdb_iter_key(iterator, &keyLength), count: keyLength)
            if !prefix.isEmpty && !key.starts(with: prefix) { break }
            let value = UnsafeRawBufferPointer(start: rocksdb_iter_value(iterator, &valueLength), count: valueLength)
            if try !body(key, value) { break }
            rocksdb_iter_next(iterator)
        }
        var error: UnsafeMutablePointer<CChar>? = nil
        rocksdb_iter_get_error(iterator, &error)
        if let error { throw Self.error(error, "scanning \(family)") }
    }

    /// Flushes memtables to disk files (used before measuring the size on disk).
    public func flush() throws(StorageError) {
        try checkOpen()
        let options = rocksdb_flushoptions_create()
        defer { rocksdb_flushoptions_destroy(options) }
        rocksdb_flushoptions_set_wait(options, 1)
        for (_, handle) in families {
            var error: UnsafeMutablePointer<CChar>? = nil
            rocksdb_flush_cf(db, options, handle, &error)
            if let error { throw Self.error(error, "flushing") }
        }
    }

    private static func error(_ pointer: UnsafeMutablePointer<CChar>, _ doing: String) -> StorageError {
        let message = String(cString: pointer)
        rocksdb_free(pointer)
        let code: StorageError.Code = message.contains("Corruption") ? .integrity : .database
        return StorageError(code, "RocksDB error while \(doing): \(message)")
    }
}

/// Writes to several column families that land together or not at all.
public final class WriteBatch {
    let batch: OpaquePointer
    private let database: RocksDatabase
    public private(set) var count = 0

    public init(_ database: RocksDatabase) {
        self.database = database
        batch = rocksdb_writebatch_create()
    }

    deinit { rocksdb_writebatch_destroy(batch) }

    public func put(_ family: String, _ key: [UInt8], _ value: [UInt8]) {
        let handle = database.family(family)
        key.withUnsafeBufferPointer { k in
            value.withUnsafeBufferPointer { v in
                let keyPointer = UnsafeRawPointer(k.baseAddress!).assumingMemoryBound(to: CChar.self)
                // An empty value still needs a valid pointer; its length says 0.
                let valuePointer = v.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
                rocksdb_writebatch_put_cf(batch, handle, keyPointer, k.count, valuePointer ?? keyPointer, v.count)
            }
        }
        count += 1
    }

    /// Puts a key and value given as raw bytes (slices of a larger encoding: no array per record).
    public func put(_ family: String, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        let handle = database.family(family)
        let keyPointer = key.baseAddress!.assumingMemoryBound(to: CChar.self)
        let valuePointer = value.baseAddress.map { $0.assumingMemoryBound(to: CChar.self) } ?? keyPointer
        rocksdb_writebatch_put_cf(batch, handle, keyPointer, key.count, valuePointer, value.count)
        count += 1
    }

    public func delete(_ family: String, _ key: [UInt8]) {
        let handle = database.family(family)
        key.withUnsafeBufferPointer { k in
            rocksdb_writebatch_delete_cf(
                batch, handle, UnsafeRawPointer(k.baseAddress!).assumingMemoryBound(to: CChar.self), k.count)
        }
        count += 1
    }

    /// Bytes of the batch's representation.
    public var byteSize: Int {
        var size = 0
        _ = rocksdb_writebatch_data(batch, &size)
        return size
    }
}

/// Drops the pages of a database's newest log files from the page cache, on its own serial queue.
private final class LogPageReleaser: @unchecked Sendable {
    private let queue = DispatchQueue(label: "sluice.rocksdb.log-pages")
    /// The newest log seen last time (touched on `queue` only).
    private var newest: String?

    func release(in path: String) {
        queue.async { [self] in
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return }
            // "000037.log": the newest has the highest number (past 999999 the names grow a digit, so by
            // number, not by name).
            let logs = names.filter { $0.hasSuffix(".log") }
            guard let current = logs.max(by: { Self.number($0) < Self.number($1) }) else { return }
            var drop = [current]
            // RocksDB switched to a new log: the previous one's last pages were synced since last time.
            if let newest, newest != current, logs.contains(newest) { drop.append(newest) }
            newest = current
            for name in drop {
                let fd = open(path + "/" + name, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { continue }
                _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
                Glibc.close(fd)
            }
        }
    }

    private static func number(_ log: String) -> UInt64 { UInt64(log.dropLast(4)) ?? 0 }
}
