"""Chaos: a real hub and 19 real nodes (one per centre of data/centres.csv),
every node's link to the hub through the fault-injecting proxy
(tests/faults/proxy.py: cuts, stalls, 2G throttling, truncation, delayed and
refused connection attempts), every node writing at random through its HTTP
API for a bounded time. Then the proxy heals and the test waits for:
every acknowledged write at the hub, each node holding exactly what routing
sends it (byte-equal `state` with the hub), no origin_seq twice.

  TERRIL_CHAOS_SECONDS   writing time under faults (default 40: ~1.5 min in all)
  TERRIL_CHAOS_NODES     how many centres get a node (default 19)
  TERRIL_SEED            replay the same fault and write decisions

Prints one line `CHAOS {json}` with the figures (scripts/chaos.sh reads it).
Run: TERRIL_BUILD=build python3 -m unittest -v tests/integration/test_chaos.py
"""

import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(__file__))
from harness import NODE_BIN, STAFF_PASSWORD, Api, Cluster, Node, Process  # noqa: E402
from workload import Ledger, Writer, centres_csv, duplicates, problems, seeded_rng, wait_converged  # noqa: E402

PROXY = os.path.join(os.path.dirname(__file__), "..", "faults", "proxy.py")


class FaultProxy:
    """tests/faults/proxy.py as a child process, driven through its control port."""

    def __init__(self, target_port, seed, log_path):
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, PROXY, "--target", f"127.0.0.1:{target_port}",
                                      "--seed", str(seed)], stdout=subprocess.PIPE, stderr=self.log)
        deadline = time.time() + 15
        while time.time() < deadline:
            line = self.proc.stdout.readline().decode()
            if line.startswith("listening "):
                parts = line.split()
                self.port = int(parts[1].rsplit(":", 1)[1])
                self.control_port = int(parts[3].rsplit(":", 1)[1])
                self.proc.stdout.close()
                return
            if not line and self.proc.poll() is not None:
                break
        raise AssertionError("fault proxy did not start")

    def command(self, cmd):
        with socket.create_connection(("127.0.0.1", self.control_port), timeout=10) as s:
            s.sendall(cmd.encode() + b"\n")
            f = s.makefile("rb")
            return json.loads(f.readline())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def start_node(node, hub_url):
    """Node.start(), with the hub reached through `hub_url` (the proxy)."""
    args = [NODE_BIN, "serve", "--data-dir", node.dir, "--config", "/dev/null", "--listen", "127.0.0.1:0",
            "--hub-url", hub_url]
    node.process = Process(args, os.path.join(node.dir, "..", node.node_id + ".log")).start()
    node.api = Api(f"http://127.0.0.1:{node.process.port}", STAFF_PASSWORD)
    return node


class ChaosTest(unittest.TestCase):
    def test_nineteen_nodes_through_a_faulty_link_lose_and_duplicate_nothing(self):
        seconds = float(os.environ.get("TERRIL_CHAOS_SECONDS", "40"))
        n_nodes = int(os.environ.get("TERRIL_CHAOS_NODES", "19"))
        seed, rng = seeded_rng("chaos")
        centres = centres_csv()[:n_nodes]
        t_setup = time.time()
        with Cluster() as cl:
            cl.hub.start()
            proxy = FaultProxy(cl.hub.port, seed, os.path.join(cl.root, "proxy.log"))
            try:
                # Enrol straight at the hub (the technician's step), then sync through the proxy.
                with ThreadPoolExecutor(max_workers=4) as ex:
                    nodes = list(ex.map(lambda ic: Node(cl.root, cl.hub, f"node-{ic[0]:02d}", ic[1]),
                                        enumerate(centres)))
                cl.nodes.extend(nodes)
                via = f"wss://127.0.0.1:{proxy.port}"
                with ThreadPoolExecutor(max_workers=4) as ex:
                    list(ex.map(lambda n: start_node(n, via), nodes))
                setup_s = time.time() - t_setup

                ledger, stop = Ledger(), threading.Event()
                writers = [Writer(n, ledger, random.Random(rng.random()), stop) for n in nodes]
                t0 = time.time()
                for w in writers:
                    w.start()
                time.sleep(seconds)
                stop.set()
                for w in writers:
                    w.join(timeout=60)
                    self.assertFalse(w.is_alive(), "a writer did not stop")
                faults = proxy.command("stats")
                proxy.command("heal")
                t_heal = time.time()
                converge_s = wait_converged(cl.hub, nodes, ledger, timeout=float(os.environ.get(
                    "TERRIL_CHAOS_CONVERGE_TIMEOUT", "240")))

                final = problems(cl.hub, nodes, ledger, final=True) + duplicates(cl.hub, nodes)
                lost = [p for p in final if p.startswith("LOST")]
                dup = [p for p in final if p.startswith(("DUPLICATE", "UNKNOWN"))]
                figures = {
                    "seed": seed, "nodes": len(nodes), "write_seconds": round(t_heal - t0, 1),
                    "setup_seconds": round(setup_s, 1),
                    "faults": {k: faults[k] for k in ("connections", "cuts_rst", "cuts_fin", "stalls", "throttled",
                                                      "truncations", "delayed_connects", "refusal_windows",
                                                      "refused_seconds")},
                    "writes_acked": ledger.total_acked(), "acked_by_kind": ledger.acked,
                    "in_doubt": len(ledger.in_doubt), "refused": ledger.refused, "unexpected": ledger.errors,
                    "lost": len(lost), "duplicated": len(dup), "converge_seconds": round(converge_s, 1),
                }
                hub_db = cl.hub.db()
                try:
                    figures["records_at_hub"] = {t: hub_db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                                                 for t in ("registrations", "events", "prototype_notes")}
                finally:
                    hub_db.close()
                print("CHAOS " + json.dumps(figures), flush=True)
                self.assertEqual(final, [])
                self.assertEqual(ledger.errors, {}, "unexpected API answers")
                self.assertGreater(ledger.total_acked(), 0)
                self.assertGreater(faults["cuts_rst"] + faults["cuts_fin"] + faults["stalls"]
                                   + faults["truncations"], 0, "the proxy injected nothing")
            finally:
                proxy.stop()


if __name__ == "__main__":
    unittest.main()
