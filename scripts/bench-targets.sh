#!/usr/bin/env bash
# Runs the cells that issue #2's targets name, several times each, and prints min / median / max of
# the speedup (this 2-core machine is shared and noisy: one run is not a figure).
# Usage: scripts/bench-targets.sh [RUNS] (default 5). Build first: swift build -c release --product sluice.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/sluice
[ -x "$bin" ] || { echo "build first: swift build -c release --product sluice" >&2; exit 1; }
runs=${1:-5}
echo "| workload | accounts | threads | runs | speedup min / median / max | sequential tx/s (median) | path | Block-STM overhead µs/tx (median) |"
echo "|---|---|---|---|---|---|---|---|"
cell() {
  local workload=$1 accounts=$2 threads=$3
  local out=()
  for _ in $(seq "$runs"); do
    out+=("$("$bin" bench execution --workload "$workload" --accounts "$accounts" --threads "$threads" --json)")
  done
  python3 - "$workload" "$accounts" "$threads" "${out[@]}" <<'PY'
import json, statistics, sys
workload, accounts, threads = sys.argv[1:4]
rs = [json.loads(a) for a in sys.argv[4:]]
sp = sorted(r["speedup"] for r in rs)
seq = statistics.median(r["sequentialTxPerSecond"] for r in rs)
ov = statistics.median(r["blockSTMOverheadMicrosPerTx"] for r in rs)
paths = sorted({f"{r['parallelPath']} ({', '.join(r['pathReasons'])})" for r in rs})
assert all(r["rootsMatch"] for r in rs)
print(f"| {workload} | {accounts} | {threads} | {len(rs)} | {sp[0]:.2f}× / {statistics.median(sp):.2f}× / {sp[-1]:.2f}× | "
      f"{seq:,.0f} | {'; '.join(paths)} | {ov:.3f} |")
PY
}
for a in 2 10 100 1000 10000; do cell p2p $a 2; done
for a in 2 10 100 1000 10000; do cell hotspot $a 2; done
for a in 2 10 100 1000 10000; do cell compute $a 2; done
