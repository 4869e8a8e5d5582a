#!/usr/bin/env python3
"""Measure how well a node resists starvation (issue 13, item 5), against a devnet on 127.0.0.1.

Starts `sluice devnet` (no provider agents) in a temporary dir, then measures, in one run:

  1. uploads:     node RSS while 4 concurrent 200 MB blob uploads go in (those beyond the node's bound on
                  uploads in flight are refused with 503 and their connection closed);
  2. load:        node RSS while `sluice bench e2e` pushes transfers at the node with no subscriber (the
                  control: the mempool, blocks and RocksDB grow too);
     subscribers: node RSS with 200 WebSocket subscribers that never read under the same load (the goal:
                  under 100 MB above the idle RSS), and how many of them the node closed for falling behind;
  3. idle:        the time for the node to close 200 connections that send nothing, and 200 kept-alive
                  connections left idle after one request.

Only 127.0.0.1 traffic; every loop is bounded. Build first: swift build -c release.
Usage: scripts/measure-starvation.py [--sluice .build/release/sluice] [--json]
"""

import argparse
import hashlib
import http.client
import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

MB = 1 << 20


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class RSSSampler:
    """Samples a process's RSS every `period` seconds in a thread; keeps the peak."""

    def __init__(self, pid, period=0.05):
        self.pid, self.period, self.peak, self.samples = pid, period, 0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            r = rss_bytes(self.pid)
            self.samples.append(r)
            self.peak = max(self.peak, r)
            self._stop.wait(self.period)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def start_devnet(sluice, root, port):
    log = open(os.path.join(root, "devnet.log"), "w")
    proc = subprocess.Popen(
        [sluice, "devnet", "--data", os.path.join(root, "devnet"), "--http", f"127.0.0.1:{port}",
         "--providers", "0", "--no-status", "--accounts", "4", "--block-time", "250ms"],
        stdout=log, stderr=subprocess.STDOUT)
    for _ in range(600):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/v1/status")
            if c.getresponse().status == 200:
                c.close()
                return proc
        except OSError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"the devnet exited: see {log.name}")
        time.sleep(0.1)
    raise SystemExit("the devnet did not answer within 60 s")


def metric(port, name):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    m = re.search(rf"^{re.escape(name)}(?:{{[^}}]*}})? ([0-9.e+]+)$", text, re.M)
    return float(m.group(1)) if m else None


def blob_chunks(seed, size, chunk=MB):
    block = hashlib.sha256(seed).digest() * (chunk // 32)
    for i in range(size // chunk):
        yield i.to_bytes(8, "little") + block[8:]


def upload(port, seed, size, out):
    digest = hashlib.sha256()
    for piece in blob_chunks(seed, size):
        digest.update(piece)
    s = socket.create_connection(("127.0.0.1", port))
    head = (f"POST /v1/blobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {size}\r\n"
            f"Content-Type: application/octet-stream\r\nX-Sluice-Sha256: 0x{digest.hexdigest()}\r\n\r\n")
    start = time.monotonic()
    sent = 0
    try:
        s.sendall(head.encode())
        for piece in blob_chunks(seed, size):
            # A refusal comes before the body is read: stop sending once the node has answered.
            readable, _, _ = select.select([s], [], [], 0)
            if readable:
                break
            s.sendall(piece)
            sent += len(piece)
    except OSError:
        pass
    reply = b""
    s.settimeout(120)
    try:
        while b"\r\n\r\n" not in reply or len(reply) < reply.index(b"\r\n\r\n") + 4 + 20:
            more = s.recv(65536)
            if not more:
                break
            reply += more
    except OSError:
        pass
    s.close()
    status = int(reply[9:12]) if reply.startswith(b"HTTP/1.1 ") else None
    code = re.search(rb'"code":"([a-z_]+)"', reply)
    out.append({"status": status, "code": code.group(1).decode() if code else None, "sentMB": round(sent / MB),
                "seconds": round(time.monotonic() - start, 2)})


def measure_uploads(pid, port, count=4, size=200 * MB):
    idle = rss_bytes(pid)
    results = []
    threads = [threading.Thread(target=upload, args=(port, bytes([i]) * 8, size, results)) for i in range(count)]
    with RSSSampler(pid) as sampler:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
    return {"idleRSSMB": round(idle / MB, 1), "peakRSSMB": round(sampler.peak / MB, 1),
            "growthMB": round((sampler.peak - idle) / MB, 1), "uploads": results}


UPGRADE = ("GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def run_bench(sluice, pid, port, root, txs):
    """Runs `sluice bench e2e` against the node; returns its report and the node's peak RSS meanwhile."""
    funder = os.path.join(root, "devnet", "keys", "dev-0.json")
    bench = [sluice, "bench", "e2e", "--node", f"http://127.0.0.1:{port}", "--funder", funder, "--txs", str(txs),
             "--senders", str((txs + 63) // 64), "--batch", "2000", "--connections", "4", "--json"]
    with RSSSampler(pid, period=0.1) as sampler:
        run = subprocess.run(bench, capture_output=True, text=True, timeout=900)
    try:
        report = json.loads(run.stdout[run.stdout.index("{"):])
    except ValueError:
        report = {"output": run.stdout[-2000:], "error": run.stderr[-2000:]}
    return report, sampler.peak


def measure_load(sluice, pid, port, root, txs):
    """The control: the same load with no subscriber, so the subscribers' own cost can be told apart."""
    idle = rss_bytes(pid)
    report, peak = run_bench(sluice, pid, port, root, txs)
    return {"idleRSSMB": round(idle / MB, 1), "peakRSSMB": round(peak / MB, 1),
            "growthMB": round((peak - idle) / MB, 1), "committedTxPerSecond": report.get("committedPerSecond")}


def measure_subscribers(sluice, pid, port, root, count=200, txs=200_000):
    sockets = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(UPGRADE.encode())
        sockets.append(s)
    # Read only the 101 head of each, then never read again.
    for s in sockets:
        s.settimeout(10)
        head = b""
        while b"\r\n\r\n" not in head:
            more = s.recv(1)
            if not more:
                break
            head += more
    time.sleep(2)
    idle = rss_bytes(pid)
    report, peak = run_bench(sluice, pid, port, root, txs)
    dropped = metric(port, "sluice_event_subscribers_dropped_total")
    open_now = metric(port, "sluice_event_subscribers")
    for s in sockets:
        s.close()
    return {"subscribers": count, "idleRSSMB": round(idle / MB, 1), "peakRSSMB": round(peak / MB, 1),
            "growthMB": round((peak - idle) / MB, 1), "dropped": dropped, "stillOpen": open_now,
            "committedTxPerSecond": report.get("committedPerSecond"), "bench": report}


def wait_all_closed(sockets, limit=180):
    start = time.monotonic()
    remaining = {s.fileno(): s for s in sockets}
    closed_at = []
    while remaining and time.monotonic() - start < limit:
        readable, _, _ = select.select(list(remaining.values()), [], [], 1)
        for s in readable:
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                closed_at.append(time.monotonic() - start)
                del remaining[s.fileno()]
                s.close()
    for s in remaining.values():
        s.close()
    return {"closed": len(closed_at), "of": len(sockets),
            "lastClosedSeconds": round(max(closed_at), 2) if closed_at else None}


def measure_idle(port, count=200):
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
    nothing = wait_all_closed(silent)
    kept = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        kept.append(s)
    for s in kept:
        s.settimeout(10)
        reply = b""
        while b"\r\n\r\n" not in reply:
            reply += s.recv(65536)
        length = int(re.search(rb"(?i)content-length: *([0-9]+)", reply).group(1))
        while len(reply) < reply.index(b"\r\n\r\n") + 4 + length:
            reply += s.recv(65536)
    after_request = wait_all_closed(kept)
    return {"silent": nothing, "keptAliveAfterOneRequest": after_request}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sluice", default=".build/release/sluice")
    parser.add_argument("--port", type=int, default=18645)
    parser.add_argument("--txs", type=int, default=200_000, help="transfers `bench e2e` sends in phase 2")
    parser.add_argument("--skip", default="", help="phases to skip: uploads,load,subscribers,idle")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    sluice = os.path.abspath(args.sluice)
    results = {}
    # Each phase on a fresh devnet, so the load with and without subscribers start from the same idle node.
    phases = [
        ("uploads", lambda pid, root: measure_uploads(pid, args.port)),
        ("load", lambda pid, root: measure_load(sluice, pid, args.port, root, args.txs)),
        ("subscribers", lambda pid, root: measure_subscribers(sluice, pid, args.port, root, txs=args.txs)),
        ("idle", lambda pid, root: measure_idle(args.port)),
    ]
    for name, measure in phases:
        if name in skip:
            continue
        root = tempfile.mkdtemp(prefix="sluice-starvation-")
        proc = start_devnet(sluice, root, args.port)
        try:
            time.sleep(2)
            results.setdefault("idleRSSMB", round(rss_bytes(proc.pid) / MB, 1))
            results[name] = measure(proc.pid, root)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
            shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    u, s, i, load = results.get("uploads"), results.get("subscribers"), results.get("idle"), results.get("load")
    print(f"idle RSS at start: {results['idleRSSMB']} MB")
    if u:
        statuses = ", ".join(f"{r['status']} {r['code'] or ''} ({r['sentMB']} MB sent)".strip() for r in u["uploads"])
        print(f"4 × 200 MB uploads: RSS {u['idleRSSMB']} → peak {u['peakRSSMB']} MB (+{u['growthMB']} MB); {statuses}")
    if load:
        print(f"no subscriber, bench e2e at {load['committedTxPerSecond']} tx/s: RSS {load['idleRSSMB']} → peak "
              f"{load['peakRSSMB']} MB (+{load['growthMB']} MB)")
    if s and load:
        print(f"subscribers' own cost (peak with them − peak without, same load): "
              f"{round(s['peakRSSMB'] - load['peakRSSMB'], 1)} MB")
    if s:
        print(f"{s['subscribers']} subscribers that never read, bench e2e at {s['committedTxPerSecond']} tx/s: "
              f"RSS {s['idleRSSMB']} → peak {s['peakRSSMB']} MB (+{s['growthMB']} MB); "
              f"dropped {s['dropped']}, still open {s['stillOpen']}")
    if i:
        print(f"200 silent connections: {i['silent']['closed']}/{i['silent']['of']} closed, the last after "
              f"{i['silent']['lastClosedSeconds']} s; 200 kept-alive idle: {i['keptAliveAfterOneRequest']['closed']}"
              f" closed, the last after {i['keptAliveAfterOneRequest']['lastClosedSeconds']} s")


if __name__ == "__main__":
    sys.exit(main())
