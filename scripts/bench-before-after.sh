#!/usr/bin/env bash
# Throughput before and after a change, measured in one run on one machine: `bench execution` (p2p,
# compute, market), `bench storage` (1M accounts), `bench e2e` and `bench jobs` with two builds of sluice,
# alternating, so that drift of a noisy machine hits both alike.
#   scripts/bench-before-after.sh BEFORE_BINARY AFTER_BINARY [ROUNDS] [BENCHES]
# BENCHES: a space-separated subset of "execution storage e2e jobs" (default: all).
# Prints one JSON line per measurement (build, bench, figures). Only 127.0.0.1 is used.
set -euo pipefail
before=${1:?the sluice binary before the change}
after=${2:?the sluice binary after the change}
rounds=${3:-2}
benches=${4:-execution storage e2e jobs}
work=$(mktemp -d /tmp/sluice-before-after.XXXXXX)
trap 'rm -rf "$work"' EXIT

tag() { # build bench
    python3 -c "import json,sys; r=json.load(sys.stdin); r['build']='$1'; r['bench']='$2'; print(json.dumps(r))"
}

execution() { # build binary
    for workload in p2p compute market; do
        "$2" bench execution --workload $workload --json | tag "$1" "execution-$workload"
    done
}

storage() { # build binary
    "$2" bench storage --accounts 1000000 --blocks 10 --json | tag "$1" storage
}

e2e() { # build binary
    "$2" bench e2e --txs 50000 --senders 1000 --json |
        python3 -c "import json,sys; r=json.load(sys.stdin); r['build']='$1'; r['bench']='e2e'; print(json.dumps(r))"
}

jobs() { # build binary
    local data="$work/devnet-$1" port=$((20000 + RANDOM % 20000))
    "$2" devnet --data "$data" --http 127.0.0.1:$port --providers 2 --provider-gpus none >"$work/devnet-$1.log" 2>&1 &
    local pid=$!
    for _ in $(seq 1 600); do
        "$2" market asks --node http://127.0.0.1:$port --json 2>/dev/null | python3 -c \
            "import json,sys; p=json.load(sys.stdin)['providers']; sys.exit(0 if len(p) >= 2 and all(all(x['eligible'] for x in q['proofs']) for q in p) else 1)" \
            2>/dev/null && break
        sleep 0.2
    done
    "$2" bench jobs --node http://127.0.0.1:$port --key "$data/keys/dev-0.json" --count 10 --json |
        python3 -c "import json,sys; r=json.load(sys.stdin); r['build']='$1'; r['bench']='jobs'; print(json.dumps(r))"
    kill -TERM $pid
    wait $pid || true
    rm -rf "$data"
}

for bench in $benches; do
    for round in $(seq 1 "$rounds"); do
        "$bench" before "$before"
        "$bench" after "$after"
    done
done
