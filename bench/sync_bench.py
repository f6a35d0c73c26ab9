#!/usr/bin/env python3
"""Sync benchmark: real terril-hub and terril-node processes, real TLS, loopback.

Phase 1: a node holding N registrations (default 100,000) that the hub has
never seen connects; time until the hub holds them all.
Phase 2: 10% of them updated in one field (`attended`), synced again.
Both phases go through a counting TCP proxy, so "bytes on the wire" are the
TLS bytes at the socket, both directions (after permessage-deflate).
Phase 3: 19 connected nodes; a prototype note written at one node through its
API; time until it is in another node's SQLite file; p50/p99 over W writes.

The same run also measures the SQLite ceiling (bench/store_bench: bare
inserts with the same pragmas) and prints the ratio.

    python3 bench/sync_bench.py [--n 100000] [--fanout-writes 1000] [--build build]
"""

import argparse
import asyncio
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
import harness  # noqa: E402


class CountingProxy:
    """Loopback TCP proxy counting bytes in both directions."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.up = 0    # node -> hub
        self.down = 0  # hub -> node
        self.loop = asyncio.new_event_loop()
        self.port = None
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait(5)

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _pipe(self, reader, writer, up):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if up:
                    self.up += len(data)
                else:
                    self.down += len(data)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader, writer):
        try:
            r2, w2 = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, w2, True), self._pipe(r2, writer, False))

    def reset(self):
        self.up = self.down = 0


def proc_stats(pid):
    """(peak RSS KiB, CPU seconds) of a live process."""
    hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return hwm, (int(parts[11]) + int(parts[12])) / ticks


def count(db_path, sql):
    c = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return c.execute(sql).fetchone()[0]
    finally:
        c.close()


def ceiling(build, n):
    exe = os.path.join(build, "bench", "store_bench")
    if not os.path.exists(exe):
        return None
    out = subprocess.run([exe, str(n)], capture_output=True, text=True, timeout=900).stdout
    m = re.search(r"ceiling[^\n]*?([\d.]+)\s*changes/s", out)
    return float(m.group(1)) if m else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--fanout-writes", type=int, default=1000)
    ap.add_argument("--fanout-nodes", type=int, default=19)
    ap.add_argument("--build", default=os.environ.get("TERRIL_BUILD", "build"))
    args = ap.parse_args()
    harness.BUILD = os.path.abspath(args.build)
    harness.HUB_BIN = os.path.join(harness.BUILD, "hub", "terril-hub")
    harness.NODE_BIN = os.path.join(harness.BUILD, "node", "terril-node")
    loader = os.path.join(harness.BUILD, "bench", "bulk_load")
    n = args.n

    with harness.Cluster() as cl:
        cl.hub.start()
        proxy = CountingProxy(cl.hub.port)
        hub_url = f"wss://127.0.0.1:{proxy.port}"
        ev_node = cl.add_node("host", "denain-tonini")
        ev = ev_node.create("events", harness.event_body("Temps fort", kind="temps-fort", capacity=100000))
        node = harness.Node(cl.root, cl.hub, "bench-node", "valenciennes-beaujardin")
        cl.nodes.append(node)
        harness.wait_for(lambda: True)
        # Point the node at the proxy, preload N registrations offline.
        subprocess.run([loader, node.dir, ev["id"], str(n), "valenciennes-beaujardin"], check=True)
        node.process = harness.Process(
            [harness.NODE_BIN, "serve", "--data-dir", node.dir, "--config", "/dev/null", "--listen",
             "127.0.0.1:0", "--hub-url", hub_url], os.path.join(cl.root, "bench-node.log"))
        base = count(cl.hub.db_path, "SELECT count(*) FROM registrations")
        proxy.reset()
        t0 = time.time()
        node.process.start()
        node.api = harness.Api(f"http://127.0.0.1:{node.process.port}", harness.STAFF_PASSWORD)
        harness.wait_for(lambda: count(cl.hub.db_path, "SELECT count(*) FROM registrations") >= base + n,
                         timeout=1800, interval=0.2, what="hub holds all registrations")
        t1 = time.time()
        up1, down1 = proxy.up, proxy.down
        rate1 = n / (t1 - t0)

        # Phase 2: 10% updated in one field.
        k = n // 10
        ids = [r[0] for r in harness.rows(node.db(), f"SELECT id FROM registrations LIMIT {k}")]
        node.process.stop()
        subprocess.run([loader, node.dir, ev["id"], str(k), "valenciennes-beaujardin", "--update"], check=True)
        proxy.reset()
        t2 = time.time()
        node.process.start()
        harness.wait_for(lambda: count(cl.hub.db_path, "SELECT count(*) FROM registrations WHERE attended=1") >= k,
                         timeout=900, interval=0.2, what="hub holds the updates")
        t3 = time.time()
        up2, down2 = proxy.up, proxy.down
        rate2 = k / (t3 - t2)
        node_rss, node_cpu = proc_stats(node.process.proc.pid)
        hub_rss, hub_cpu = proc_stats(cl.hub.process.proc.pid)
        del ids

        print(f"phase 1: {n} new registrations node->hub over TLS: {t1 - t0:.1f} s, {rate1:,.0f} changes/s end to end")
        print(f"         wire: {up1:,} bytes up, {down1:,} bytes down = {(up1 + down1) / n:.1f} bytes/change")
        print(f"phase 2: {k} one-field updates: {t3 - t2:.1f} s, {rate2:,.0f} changes/s")
        print(f"         wire: {up2:,} bytes up, {down2:,} bytes down = {(up2 + down2) / k:.1f} bytes/change")
        print(f"peak RSS: node {node_rss / 1024:.1f} MiB, hub {hub_rss / 1024:.1f} MiB; "
              f"CPU: node {node_cpu:.1f} s, hub {hub_cpu:.1f} s")
        ceil = ceiling(harness.BUILD, n)
        if ceil:
            print(f"SQLite ceiling (same run, bare inserts, same pragmas): {ceil:,.0f} changes/s; "
                  f"ratio end-to-end / ceiling = {rate1 / ceil:.2f}")

        # Phase 3: fan-out latency across connected nodes.
        centres = [l.split(",")[0] for l in open(os.path.join(os.path.dirname(__file__), "..", "data",
                                                               "centres.csv")).read().splitlines()[1:]]
        fan = []
        for i, c in enumerate(centres[: args.fanout_nodes]):
            fan.append(cl.add_node(f"fan-{i}", c))
        writer, reader = fan[0], fan[-1]
        lat = []
        for i in range(args.fanout_writes):
            t = time.time()
            note = writer.create("prototype-notes", {"title": f"Fan {i}", "status": "idee"})
            path = reader.db_path
            while True:
                c = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
                got = c.execute("SELECT 1 FROM prototype_notes WHERE id=?", (note["id"],)).fetchone()
                c.close()
                if got:
                    break
                if time.time() - t > 10:
                    raise AssertionError("fan-out took over 10 s")
                time.sleep(0.0005)
            lat.append((time.time() - t) * 1000)
        lat.sort()
        print(f"fan-out ({len(fan)} nodes connected, {len(lat)} writes): write at one node -> in another's store: "
              f"p50 {statistics.median(lat):.1f} ms, p99 {lat[int(len(lat) * 0.99) - 1]:.1f} ms")


if __name__ == "__main__":
    main()
