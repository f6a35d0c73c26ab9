"""Crash loop: kill -9 the hub and random nodes at random moments while every
node writes and syncs, restart them, and again, N times. Then: every write
a node's API acknowledged is at the hub and routed exactly; nothing twice;
`PRAGMA integrity_check` is ok on every SQLite file, both right after each
kill (the file as the crash left it) and at the end.

  TERRIL_CRASH_KILLS   kills (default 20; scripts/chaos.sh --crash runs 200)
  TERRIL_CRASH_NODES   nodes (default 5, one per centre)
  TERRIL_SEED          replay the same kill and write decisions

Prints one line `CRASH {json}` with the figures.
Run: TERRIL_BUILD=build python3 -m unittest -v tests/integration/test_crash_loop.py
"""

import json
import os
import random
import sys
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(__file__))
from harness import Cluster, Node  # noqa: E402
from workload import (Ledger, Writer, centres_csv, duplicates, integrity, problems, seeded_rng,  # noqa: E402
                      wait_converged)


def restart_hub(hub):
    """Same port as before (the nodes know it); a few tries while the old socket lets go."""
    for attempt in range(20):
        try:
            return hub.start(port=hub.port)
        except AssertionError:
            if attempt == 19:
                raise
            time.sleep(0.25)


class CrashLoopTest(unittest.TestCase):
    def test_kill9_hub_and_nodes_at_random_loses_and_duplicates_nothing(self):
        kills = int(os.environ.get("TERRIL_CRASH_KILLS", "20"))
        n_nodes = int(os.environ.get("TERRIL_CRASH_NODES", "5"))
        seed, rng = seeded_rng("crash-loop")
        with Cluster() as cl:
            cl.hub.start()
            centres = centres_csv()
            picked = rng.sample(centres, n_nodes)
            with ThreadPoolExecutor(max_workers=4) as ex:
                nodes = list(ex.map(lambda ic: Node(cl.root, cl.hub, f"crash-{ic[0]:02d}", ic[1]),
                                    enumerate(picked)))
            cl.nodes.extend(nodes)
            for n in nodes:
                n.start()

            ledger, stop = Ledger(), threading.Event()
            writers = [Writer(n, ledger, random.Random(rng.random()), stop, pace=(0.02, 0.25)) for n in nodes]
            for w in writers:
                w.start()
            t0 = time.time()
            hub_kills = node_kills = 0
            bad_files = []
            for k in range(kills):
                time.sleep(rng.uniform(0.2, 2.0))
                if rng.random() < 0.4:
                    cl.hub.process.kill9()
                    hub_kills += 1
                    path = cl.hub.db_path
                    victim = "hub"
                else:
                    n = rng.choice(nodes)
                    n.process.kill9()
                    node_kills += 1
                    path = n.db_path
                    victim = n
                check = integrity(path)
                if check != [("ok",)]:
                    bad_files.append((k, path, check[:5]))
                time.sleep(rng.uniform(0, 1.0))
                if victim == "hub":
                    restart_hub(cl.hub)
                else:
                    victim.start()
            stop.set()
            for w in writers:
                w.join(timeout=60)
                self.assertFalse(w.is_alive(), "a writer did not stop")
            loop_s = time.time() - t0

            converge_s = wait_converged(cl.hub, nodes, ledger, timeout=float(os.environ.get(
                "TERRIL_CRASH_CONVERGE_TIMEOUT", "240")))
            final = problems(cl.hub, nodes, ledger, final=True) + duplicates(cl.hub, nodes)
            # Stop everything cleanly, then check every file at rest.
            for n in nodes:
                n.process.stop()
            cl.hub.process.stop()
            for path in [cl.hub.db_path] + [n.db_path for n in nodes]:
                check = integrity(path)
                if check != [("ok",)]:
                    bad_files.append(("end", path, check[:5]))

            lost = [p for p in final if p.startswith("LOST")]
            dup = [p for p in final if p.startswith(("DUPLICATE", "UNKNOWN"))]
            figures = {"seed": seed, "nodes": len(nodes), "kills": kills, "hub_kills": hub_kills,
                       "node_kills": node_kills, "loop_seconds": round(loop_s, 1),
                       "writes_acked": ledger.total_acked(), "acked_by_kind": ledger.acked,
                       "in_doubt": len(ledger.in_doubt), "not_sent": ledger.not_sent,
                       "in_doubt_at_hub": None, "lost": len(lost), "duplicated": len(dup),
                       "integrity_failures": len(bad_files), "converge_seconds": round(converge_s, 1),
                       "unexpected": ledger.errors}
            db = cl.hub.db()
            try:
                held = set()
                for t in ("registrations", "events", "prototype_notes"):
                    held |= {r[0] for r in db.execute(f"SELECT id FROM {t}")}
                figures["in_doubt_at_hub"] = len(held & set(ledger.in_doubt))
            finally:
                db.close()
            print("CRASH " + json.dumps(figures), flush=True)
            self.assertEqual(bad_files, [])
            self.assertEqual(final, [])
            self.assertEqual(ledger.errors, {}, "unexpected API answers")
            self.assertGreater(ledger.total_acked(), 0)


if __name__ == "__main__":
    unittest.main()
