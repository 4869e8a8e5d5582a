#!/usr/bin/env bash
# What only a machine with an NVIDIA GPU and many cores can show, in one short run (see docs/PERFORMANCE.md):
#   1. Block-STM scaling beyond 2 threads (sequential vs parallel at 1–16 threads, same run, same roots);
#   2. the provider agent finding the real GPU (nvidia-smi) and the proof-of-GPU benchmark (CUDA driver API);
#   3. a devnet whose provider registers that GPU and runs examples/gpu-info as a real GPU job.
# Usage: scripts/device-check.sh BINARY OUTDIR   (BINARY: a static build, `swift build -c release --static-swift-stdlib`)
set -u
B=$(realpath "$1"); OUT=$2; mkdir -p "$OUT"
log() { echo "== $(date +%T) $*" | tee -a "$OUT/steps.txt"; }
log "machine: $(nproc) cores"; nvidia-smi -L > "$OUT/nvidia-smi.txt" 2>&1; cat "$OUT/nvidia-smi.txt"
command -v bwrap > /dev/null && log "bwrap present" || log "no bwrap: the sandbox falls back to prlimit"

log "GPU discovery and benchmark"
timeout 60 "$B" provider gpus > "$OUT/gpus.txt" 2>&1; cat "$OUT/gpus.txt"

log "devnet with one GPU provider"
D=/tmp/sluice-dev; rm -rf $D
"$B" devnet --data $D --http 127.0.0.1:8645 --providers 1 --provider-gpus auto --no-status > "$OUT/devnet.txt" 2>&1 &
DEVNET=$!
for i in $(seq 1 100); do
  "$B" market asks --json 2>/dev/null | grep -q '"address"' && break; sleep 0.3
done
"$B" market asks > "$OUT/asks.txt" 2>&1; cat "$OUT/asks.txt"
log "submit examples/gpu-info"
timeout 120 "$B" job submit examples/gpu-info/job.toml --key $D/keys/dev-0.json --wait --out "$OUT/gpu-info-result" > "$OUT/submit.txt" 2>&1
echo "exit $?" >> "$OUT/submit.txt"; cat "$OUT/submit.txt"; cat "$OUT/gpu-info-result/out/"* 2>/dev/null
cp $D/providers/1/agent.log "$OUT/agent.log" 2>/dev/null
kill -TERM $DEVNET; wait $DEVNET

log "Block-STM scaling"
for w in "compute --accounts 1000" "p2p --accounts 100000" "hotspot --accounts 100" "market --providers 1000"; do
  for t in 1 2 4 8 16; do
    echo "workload $w threads $t" >> "$OUT/bench-execution.txt"
    timeout 120 "$B" bench execution --workload $w --threads $t --blocks 10 --json >> "$OUT/bench-execution.txt" 2>&1
  done
done
log "end-to-end on $(nproc) cores"
timeout 120 "$B" bench e2e --txs 100000 --senders 2000 > "$OUT/bench-e2e.txt" 2>&1; tail -20 "$OUT/bench-e2e.txt"
log "done"
