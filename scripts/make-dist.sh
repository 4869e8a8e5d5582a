#!/usr/bin/env bash
# dist/ for a machine without Swift (the GPU machine of scripts/device-check.sh): a static, stripped,
# xz-compressed sluice, the shared libraries RocksDB needs, and bubblewrap.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib --scratch-path "${SCRATCH:-.build-static}" --product sluice
rm -rf dist && mkdir -p dist/lib dist/bin
strip -o dist/sluice "${SCRATCH:-.build-static}/release/sluice"
xz -T2 -6 -f dist/sluice
for l in librocksdb.so.7.8 libgflags.so.2.2 libsnappy.so.1 liblz4.so.1 libzstd.so.1 libbz2.so.1.0; do
    cp -L "/lib/x86_64-linux-gnu/$l" dist/lib/
done
cp "$(command -v bwrap)" dist/bin/
du -sh dist
