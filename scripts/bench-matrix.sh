#!/usr/bin/env bash
# Runs `sluice bench execution` over the Block-STM paper's contention levels and prints a Markdown table.
# Usage: scripts/bench-matrix.sh [THREADS...]   (default: 1 2 4). Build first: swift build -c release.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/sluice
[ -x "$bin" ] || { echo "build first: swift build -c release --product sluice" >&2; exit 1; }
threads=("${@:-1 2 4}")
[ $# -gt 0 ] || threads=(1 2 4)
echo "| workload | accounts | threads | sequential tx/s | parallel tx/s | speedup (median block) | path (reason) | predicted | Block-STM overhead µs/tx | re-exec | aborts |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for workload in p2p hotspot compute; do
  for accounts in 2 10 100 1000 10000; do
    for t in "${threads[@]}"; do
      json=$("$bin" bench execution --workload "$workload" --accounts "$accounts" --block-size 10000 --blocks 10 --threads "$t" --json)
      python3 - "$json" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f"| {r['workload']} | {r['accounts']} | {r['threads']} | {r['sequentialTxPerSecond']:,.0f} | {r['parallelTxPerSecond']:,.0f} | "
      f"{r['speedup']:.2f}× ({r['medianBlockSpeedup']:.2f}×) | {r['parallelPath']} ({', '.join(r['pathReasons'])}) | {r['predictedSpeedup']:.2f} | "
      f"{r['blockSTMOverheadMicrosPerTx']:.3f} | {r['reExecutions']} | {r['validationAborts']} |")
PY
    done
  done
done
