#!/usr/bin/env bash
# What only a machine with an NVIDIA GPU and many cores can show, in one short run (see docs/PERFORMANCE.md):
#   1. Block-STM scaling beyond 2 threads (sequential vs parallel at 1–16 threads, same run, same roots);
#   2. the provider agent finding the real GPU (nvidia-smi) and the proof-of-GPU benchmark (CUDA driver API);
#   3. a devnet whose provider registers that GPU and runs examples/gpu-info as a real GPU job.
# Usage: scripts/device-check.sh DIST OUTDIR
#   DIST: dist/ made by scripts/make-dist.sh (sluice.xz: a static build, `swift build -c release
#   --static-swift-stdlib`; lib/: RocksDB and its libraries; bin/bwrap).
set -u
DIST=$(realpath "$1"); OUT=$2; mkdir -p "$OUT"
[ -x "$DIST/sluice" ] || xz -dkf "$DIST/sluice.xz"
B=$DIST/sluice; export LD_LIBRARY_PATH=$DIST/lib
chmod +x "$DIST/bin/bwrap" "$B"
log() { echo "== $(date +%T) $*" | tee -a "$OUT/steps.txt"; }
log "machine: $(nproc) cores"; nvidia-smi -L > "$OUT/nvidia-smi.txt" 2>&1; cat "$OUT/nvidia-smi.txt"
command -v bwrap > /dev/null && log "bwrap installed" || log "no bwrap installed; trying the carried one"

log "GPU discovery, benchmark and a proof-of-GPU challenge as the chain sizes it"
timeout 120 "$B" provider gpus --challenge > "$OUT/gpus.txt" 2>&1; cat "$OUT/gpus.txt"

gpujob() {  # $1: a label; runs a devnet with one GPU provider and submits examples/gpu-info
  local D=/tmp/sluice-$1; rm -rf $D
  "$B" devnet --data $D --http 127.0.0.1:8645 --providers 1 --provider-gpus auto --no-status > "$OUT/devnet-$1.txt" 2>&1 &
  local DEVNET=$!
  # Registered, then proven: its first proof-of-GPU round answered (the GPU computes the challenge's product).
  for i in $(seq 1 200); do "$B" market asks --json 2>/dev/null | grep -Eq '"eligible" ?: ?true' && break; sleep 0.3; done
  "$B" market asks > "$OUT/asks-$1.txt" 2>&1; cat "$OUT/asks-$1.txt"
  log "submit examples/gpu-info ($1)"
  timeout 90 "$B" job submit examples/gpu-info/job.toml --key $D/keys/dev-0.json --wait --out "$OUT/gpu-info-$1" > "$OUT/submit-$1.txt" 2>&1
  local rc=$?; echo "exit $rc" >> "$OUT/submit-$1.txt"; cat "$OUT/submit-$1.txt"; cat "$OUT/gpu-info-$1/out/"* 2>/dev/null
  if [ $rc = 0 ]; then
    log "bench jobs ($1)"; timeout 60 "$B" bench jobs --key $D/keys/dev-0.json --count 10 > "$OUT/bench-jobs-$1.txt" 2>&1; tail -4 "$OUT/bench-jobs-$1.txt"
  fi
  cp $D/providers/1/agent.log "$OUT/agent-$1.log" 2>/dev/null; grep -v heartbeat "$OUT/agent-$1.log" | head -30
  grep -i "proof of GPU" "$OUT/agent-$1.log" | head -5
  kill -TERM $DEVNET; wait $DEVNET
  return $rc
}
log "GPU job with the carried bubblewrap"
PATH="$DIST/bin:$PATH" gpujob bwrap || { log "GPU job again without bubblewrap (prlimit)"; gpujob prlimit; }

[ "${SKIP_SCALING:-0}" = 1 ] && { log "done (scaling skipped)"; exit 0; }
log "Block-STM scaling"
for w in "compute --accounts 1000" "p2p --accounts 100000" "market --providers 1000"; do
  for t in 1 2 4 8 16; do
    echo "workload $w threads $t" >> "$OUT/bench-execution.txt"
    timeout 120 "$B" bench execution --workload $w --threads $t --blocks 5 --json >> "$OUT/bench-execution.txt" 2>&1
  done
done
log "end-to-end on $(nproc) cores"
timeout 100 "$B" bench e2e --txs 50000 --senders 1000 > "$OUT/bench-e2e.txt" 2>&1; tail -20 "$OUT/bench-e2e.txt"
log "done"
