#!/usr/bin/env python3
"""Promotion latency: real terril-hub and two terril-node processes, real TLS, loopback.

The host centre's node A holds every seat of an event (capacity N, all
confirmed by A's own registrations); centre B's node has registered N people
who wait (B holds no seat). Each round, staff at A delete one of A's
registrations through A's API: A's seat rules confirm, in the same write, the
oldest waiting registration, which is B's; the change goes A -> hub -> B.
Measured per round: from just before A's DELETE request to the moment B's
SQLite file shows that registration `confirmee` (polled every 2 ms, read
only). Printed: p50 / p99 / max over N rounds, and the same path for a plain
change as baseline (A checks in one of B's registrations, `attended`, which
travels the same way: A -> hub -> B), measured in the same run, interleaved.

    python3 bench/seats_latency.py [--n 50] [--build build]
"""

import argparse
import os
import sqlite3
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
import harness  # noqa: E402


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(p * len(v)))]


def until(path, sql, args, want, timeout=30.0):
    """Seconds until `sql` on the file at `path` returns `want` (polled every 2 ms)."""
    t0 = time.perf_counter()
    uri = "file:" + path + "?mode=ro"
    while time.perf_counter() - t0 < timeout:
        try:
            db = sqlite3.connect(uri, uri=True, timeout=1)
            try:
                row = db.execute(sql, args).fetchone()
            finally:
                db.close()
            if row and row[0] == want:
                return time.perf_counter() - t0
        except sqlite3.OperationalError:
            pass
        time.sleep(0.002)
    raise AssertionError(f"timed out waiting for {sql} == {want!r}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--build", default="build")
    args = ap.parse_args()
    harness.BUILD = os.path.abspath(args.build)
    harness.HUB_BIN = os.path.join(harness.BUILD, "hub", "terril-hub")
    harness.NODE_BIN = os.path.join(harness.BUILD, "node", "terril-node")
    n = args.n

    with harness.Cluster() as cl:
        cl.hub.start()
        a = cl.add_node("host-a", "denain-tonini")
        b = cl.add_node("owner-b", "valenciennes-beaujardin")
        ev = a.create("events", harness.event_body("Temps fort", kind="temps-fort", capacity=n))
        own = [a.create("registrations", harness.registration_body(ev["id"], last=f"Hote{i:03d}"))["id"]
               for i in range(n)]
        harness.wait_for(lambda: harness.rows(b.db(), "SELECT id FROM events WHERE id=?", ev["id"]),
                         what="event at B")
        waiting = [b.create("registrations", harness.registration_body(ev["id"], last=f"Attente{i:03d}"))["id"]
                   for i in range(n)]
        assert all(harness.rows(b.db(), "SELECT seat FROM registrations WHERE id=?", r) == [("attente",)]
                   for r in waiting)
        harness.wait_for(lambda: len(harness.rows(a.db(), "SELECT id FROM registrations WHERE centre_id=?",
                                                  "valenciennes-beaujardin")) == n, timeout=60,
                         what="B's registrations at A")
        promotion, plain = [], []
        for i in range(n):
            t0 = time.perf_counter()
            s, _ = a.api.call("DELETE", "/api/v1/registrations/" + own[i])
            assert s == 200, s
            until(b.db_path, "SELECT seat FROM registrations WHERE id=?", (waiting[i],), "confirmee")
            promotion.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            s, _ = a.api.call("PATCH", "/api/v1/registrations/" + waiting[i], {"attended": True})
            assert s == 200, s
            until(b.db_path, "SELECT attended FROM registrations WHERE id=?", (waiting[i],), 1)
            plain.append(time.perf_counter() - t0)
        seat_by = harness.rows(b.db(), "SELECT DISTINCT seat_by FROM registrations WHERE seat='confirmee'")
        assert seat_by == [("denain-tonini",)], seat_by

    def line(name, v):
        ms = [x * 1000 for x in v]
        return f"  {name:<34} p50 {pct(ms, 0.5):7.1f} ms  p99 {pct(ms, 0.99):7.1f} ms  max {max(ms):7.1f} ms"

    print(f"seats_latency: {n} promotions, host A -> hub -> owner B, TLS on loopback")
    print(line("promotion reaches the owner", promotion))
    print(line("baseline: a check-in, same path", plain))
    print(f"  ratio of medians (promotion / baseline): x{statistics.median(promotion) / statistics.median(plain):.2f}")


if __name__ == "__main__":
    main()
