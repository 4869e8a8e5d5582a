#!/usr/bin/env bash
# Block-STM's adaptive choice on many cores: for each workload and thread count, the adaptive executor's
# path, predicted and measured speedup over sequential (same run, same roots).
# Usage: scripts/device-scaling.sh DIST   (DIST from scripts/make-dist.sh)
set -u
DIST=$(realpath "$1"); [ -x "$DIST/sluice" ] || xz -dkf "$DIST/sluice.xz"
B=$DIST/sluice; export LD_LIBRARY_PATH=$DIST/lib; chmod +x "$B"
echo "$(nproc) cores"
printf "%-28s %3s %-10s %9s %9s %9s %6s\n" workload T path predicted speedup median roots
for w in "compute --accounts 1000" "p2p --accounts 100000" "p2p --accounts 1000" "hotspot --accounts 10" "market --providers 1000"; do
  for t in 2 4 8 16; do
    timeout 60 "$B" bench execution --workload $w --threads $t --blocks 5 --json 2>/dev/null | python3 -c "
import json,sys; j=json.load(sys.stdin)
print('%-28s %3d %-10s %9.2f %9.2f %9.2f %6s' % ('$w', j['threads'], j['parallelPath'], j['predictedSpeedup'], j['speedup'], j['medianBlockSpeedup'], j['rootsMatch']))"
  done
done
