#!/usr/bin/env python3
"""terril-node memory and API latency under a centre's load (issue 4's benchmark).

    TERRIL_BUILD=build python3 bench/node_bench.py [--requests 2000] [--browsers 10]

Starts a real hub (TLS) and an enrolled node on loopback (the integration
harness), then measures, from /proc/PID/status of the node:

1. idle: right after start, and after the web UI was served once (/ and its
   assets) with one staff session open and a few events created;
2. under load: N "browsers" (threads), each with its own logged-in session and
   its own keep-alive connection, share a bounded loop of API calls (list
   events, create a registration, list registrations, status), cycling through
   the four, R requests in all, while the node syncs to the hub.

VmHWM (peak RSS) is reset with /proc/PID/clear_refs ("5") before each phase
so that each phase's peak is its own; a login's argon2id hash (the staff
password, 64 MiB memory-hard by design) is measured apart, because it is
what dominates the node's peak. The store runs with synchronous=FULL (the
node's only mode), so a registration's latency includes its fsync.

Prints figures and compares them with the targets (<= 10 MiB idle, <= 24 MiB
under load); exits 0 whatever they are (a benchmark, not a test) unless
--check is given.
"""

import argparse
import http.client
import json
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import harness as h  # noqa: E402

MIB = 1 << 20
IDLE_TARGET_MIB = 10
LOAD_TARGET_MIB = 24


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "Threads"):
                out[k] = int(v.split()[0]) * (1024 if k != "Threads" else 1)
    return out


def pss(pid):
    """Proportional set size: shared library pages divided among the processes that map them."""
    out = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("Pss", "Pss_Anon", "Pss_File", "Private_Clean", "Private_Dirty"):
                    out[k] = int(v.split()[0]) * 1024
    except OSError:
        pass
    return out


def reset_peak(pid):
    """Resets VmHWM to the current RSS (Linux >= 4.0; needs to own the process or be root)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def mib(n):
    return f"{n / MIB:.1f} MiB"


class Browser:
    """One reception PC: a session cookie and a keep-alive HTTP/1.1 connection."""

    def __init__(self, port):
        self.port = port
        self.conn = None
        self.cookie = ""

    def request(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        if data is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                payload = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, payload, r
            except (http.client.HTTPException, ConnectionError, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def login(self):
        status, payload, r = self.request("POST", "/api/v1/login", {"password": h.STAFF_PASSWORD})
        assert status == 200, (status, payload)
        self.cookie = r.getheader("Set-Cookie").split(";")[0]

    def close(self):
        if self.conn:
            self.conn.close()


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=2000, help="API calls in all (default 2000)")
    ap.add_argument("--browsers", type=int, default=10, help="concurrent sessions (default 10)")
    ap.add_argument("--check", action="store_true", help="exit 1 if a memory target is missed")
    args = ap.parse_args()

    with h.Cluster() as cl:
        cl.hub.start()
        node = cl.add_node("node-bench", "valenciennes-beaujardin", start=False)
        node.process = h.Process([h.NODE_BIN, "serve", "--data-dir", node.dir, "--config", "/dev/null",
                                  "--listen", "127.0.0.1:0"], os.path.join(cl.root, "node-bench.log")).start()
        pid, port = node.process.proc.pid, node.process.port
        time.sleep(2)
        started = proc_status(pid)

        # The UI served once, as when the reception PC opens the page.
        ui = Browser(port)
        served = 0
        for path in ("/", "/assets/app.css", "/assets/app.js", "/assets/markdown.js", "/assets/favicon.svg",
                     "/assets/ue.svg"):
            status, payload, _ = ui.request("GET", path)
            assert status == 200, (path, status)
            served += len(payload)
        before_login = proc_status(pid)
        reset_peak(pid)
        t0 = time.perf_counter()
        ui.login()
        login_s = time.perf_counter() - t0
        login_peak = proc_status(pid)["VmHWM"]
        events = []
        for i, kind in enumerate(("temps-fort", "atelier", "atelier", "reunion")):
            body = h.event_body(title=f"Événement {i}", kind=kind, days=5 + i, capacity=None)
            del body["capacity"]
            status, payload, _ = ui.request("POST", "/api/v1/events", body)
            assert status == 201, (status, payload)
            events.append(json.loads(payload)["id"])
        h.wait_for(lambda: ui.request("GET", "/api/v1/status")[1] and
                   json.loads(ui.request("GET", "/api/v1/status")[1])["pending"] == 0, 30, "setup synced")
        time.sleep(1)
        reset_peak(pid)
        time.sleep(3)
        idle = proc_status(pid)
        idle_pss = pss(pid)

        # One browser alone: the cost of a registration itself (fsync included), no queueing.
        solo = []
        for i in range(200):
            body = {"event_id": events[i % len(events)], "first_name": f"Seul{i}", "last_name": "Accueil",
                    "phone": "03 27 00 00 00", "role": "benevole", "consent": True}
            t = time.perf_counter()
            status, payload, _ = ui.request("POST", "/api/v1/registrations", body)
            solo.append(time.perf_counter() - t)
            assert status == 201, (status, payload)

        # Ten reception PCs log in (argon2id each, one after the other on the event loop).
        browsers = [Browser(port) for _ in range(args.browsers)]
        reset_peak(pid)
        # Meanwhile another PC only asks /healthz: how long is the event loop busy with a hash?
        probe, stalls, probing = Browser(port), [], threading.Event()

        def prober():
            while not probing.is_set():
                t = time.perf_counter()
                probe.request("GET", "/healthz")
                stalls.append(time.perf_counter() - t)
                probing.wait(0.01)

        pt = threading.Thread(target=prober)
        pt.start()
        t0 = time.perf_counter()
        for b in browsers:
            b.login()
        logins_s = time.perf_counter() - t0
        probing.set()
        pt.join()
        probe.close()
        logins_peak = proc_status(pid)["VmHWM"]
        time.sleep(1)
        reset_peak(pid)

        # The load: a bounded loop of API calls, shared by the browsers.
        ops = ("events", "create", "registrations", "status")
        lat = {o: [] for o in ops}
        errors = []
        counter = iter(range(args.requests))
        lock = threading.Lock()
        samples = []
        done = threading.Event()

        def sampler():
            while not done.is_set():
                try:
                    samples.append(proc_status(pid)["VmRSS"])
                except OSError:
                    return
                done.wait(0.02)

        def worker(wi, b):
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                op = ops[i % len(ops)]
                if op == "events":
                    method, path, body = "GET", "/api/v1/events", None
                elif op == "create":
                    body = {"event_id": events[i % len(events)], "first_name": f"Prénom{i}", "last_name": f"Nom{wi}x{i}",
                            "phone": f"06 {i % 100:02d} {wi:02d} 00 00", "role": "habitant", "consent": True}
                    if i % 3 == 0:
                        body["email"] = f"personne{i}@example.org"
                    method, path = "POST", "/api/v1/registrations"
                elif op == "registrations":
                    method, path, body = "GET", "/api/v1/registrations?limit=50", None
                else:
                    method, path, body = "GET", "/api/v1/status", None
                t = time.perf_counter()
                try:
                    status, payload, _ = b.request(method, path, body)
                except Exception as e:  # noqa: BLE001 - counted and shown
                    errors.append(f"{op}: {e!r}")
                    continue
                dt = time.perf_counter() - t
                if status != (201 if op == "create" else 200):
                    errors.append(f"{op}: {status} {payload[:200]!r}")
                    continue
                lat[op].append(dt)

        st = threading.Thread(target=sampler, daemon=True)
        st.start()
        threads = [threading.Thread(target=worker, args=(i, b)) for i, b in enumerate(browsers)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        load = proc_status(pid)
        done.set()
        st.join()
        h.wait_for(lambda: json.loads(ui.request("GET", "/api/v1/status")[1])["pending"] == 0, 120,
                   "registrations synced to the hub")
        synced_s = time.perf_counter() - t0
        after = proc_status(pid)
        for b in browsers + [ui]:
            b.close()

    ok_count = sum(len(v) for v in lat.values())
    creates = lat["create"]
    print(f"terril-node benchmark — {args.browsers} browsers, {args.requests} API calls, synchronous=FULL, "
          f"hub over TLS on loopback, {os.cpu_count()} CPUs")
    print(f"binary: {h.NODE_BIN}")
    print()
    print("memory (from /proc/PID/status)")
    print(f"  just started (no session)           VmRSS {mib(started['VmRSS'])}   VmHWM {mib(started['VmHWM'])}")
    print(f"  UI served once ({served // 1024} KiB), no login     VmRSS {mib(before_login['VmRSS'])}")
    print(f"  idle, UI served, 1 session, 4 events VmRSS {mib(idle['VmRSS'])}   peak over 3 s {mib(idle['VmHWM'])}"
          f"   target <= {IDLE_TARGET_MIB} MiB: {'ok' if idle['VmHWM'] <= IDLE_TARGET_MIB * MIB else 'OVER'}")
    if idle_pss:
        print(f"  idle, proportional (PSS)             Pss {mib(idle_pss['Pss'])}   (anon {mib(idle_pss['Pss_Anon'])}, "
              f"file {mib(idle_pss['Pss_File'])}; private {mib(idle_pss['Private_Clean'] + idle_pss['Private_Dirty'])})")
    print(f"  one staff login (argon2id)           peak {mib(login_peak)}  ({login_s * 1000:.0f} ms)")
    print(f"  {args.browsers} logins in a row                  peak {mib(logins_peak)}  ({logins_s * 1000:.0f} ms; "
          f"/healthz from another PC meanwhile: max {max(stalls) * 1000:.0f} ms)")
    print(f"  under load (logins excluded)         peak VmHWM {mib(load['VmHWM'])}   max sampled VmRSS "
          f"{mib(max(samples) if samples else 0)}   target <= {LOAD_TARGET_MIB} MiB: "
          f"{'ok' if load['VmHWM'] <= LOAD_TARGET_MIB * MIB else 'OVER'}")
    print(f"  after the load, synced               VmRSS {mib(after['VmRSS'])}   (anon {mib(after['RssAnon'])}, "
          f"file {mib(after['RssFile'])}, {after['Threads']} threads)")
    print()
    print("API under load")
    print(f"  {ok_count} ok / {args.requests} in {wall:.2f} s: {ok_count / wall:.0f} requests/s; "
          f"{len(errors)} errors; all {len(creates)} registrations at the hub {synced_s:.1f} s after the start")
    for o in ops:
        v = lat[o]
        if v:
            print(f"  {o:<14} n={len(v):<5} p50 {percentile(v, 50) * 1000:7.2f} ms   p99 {percentile(v, 99) * 1000:7.2f} ms"
                  f"   max {max(v) * 1000:7.2f} ms")
    if errors:
        print("  first errors: " + "; ".join(errors[:5]))
    print()
    print(f"create registration (POST, synchronous=FULL): p50 {percentile(creates, 50) * 1000:.2f} ms, "
          f"p99 {percentile(creates, 99) * 1000:.2f} ms under the {args.browsers}-browser load; "
          f"one browser alone (n={len(solo)}): p50 {percentile(solo, 50) * 1000:.2f} ms, "
          f"p99 {percentile(solo, 99) * 1000:.2f} ms")
    over = idle["VmHWM"] > IDLE_TARGET_MIB * MIB or load["VmHWM"] > LOAD_TARGET_MIB * MIB
    return 1 if (args.check and (over or errors)) else 0


if __name__ == "__main__":
    sys.exit(main())
