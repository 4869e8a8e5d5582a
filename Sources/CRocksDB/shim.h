// RocksDB's C API, from Debian's librocksdb-dev (`apt-get install librocksdb-dev`).
#include <rocksdb/c.h>
