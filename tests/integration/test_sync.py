"""Sync scenarios with real processes: convergence, routing, offline catch-up,
kill -9 of either side mid-transfer. Run: TERRIL_BUILD=build python3 -m unittest tests/integration/test_sync.py"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Cluster, event_body, file_bytes, registration_body, rows, seed, wait_for  # noqa: E402

A, B, C = "valenciennes-beaujardin", "denain-tonini", "marly-florales"


def states(db, table):
    return {r[0]: r[1] for r in rows(db, f"SELECT id, state FROM {table}")}


class SyncTest(unittest.TestCase):
    def test_three_nodes_converge_and_registrations_reach_only_their_centres(self):
        with Cluster() as cl:
            cl.hub.start()
            a = cl.add_node("node-a", A)
            b = cl.add_node("node-b", B)
            c = cl.add_node("node-c", C)
            ev_a = a.create("events", event_body("Temps fort numérique", kind="temps-fort"))
            ev_b = b.create("events", event_body("Atelier smartphone"))
            notes = [n.create("prototype-notes", {"title": f"Prototype {n.node_id}", "status": "prototype",
                                                  "body": "# Essai\n*ok*"}) for n in (a, b, c)]
            wait_for(lambda: all(len(rows(n.db(), "SELECT id FROM events")) == 2 for n in (a, b, c)),
                     what="events on every node")
            # A registers someone for B's event; B registers someone for its own event.
            reg = a.create("registrations", registration_body(ev_b["id"], first="Zoé", last="Qwertzuiopa"))
            own = b.create("registrations", registration_body(ev_b["id"], first="Jean", last="Martin"))
            # Concurrent edits of shared records from each side.
            for i in range(20):
                a.api.call("PATCH", f"/api/v1/registrations/{reg['id']}", {"notes": f"a{i}"})
                b.api.call("PATCH", f"/api/v1/events/{ev_b['id']}", {"capacity": 30 + i})
            wait_for(lambda: len(rows(cl.hub.db(), "SELECT id FROM registrations")) == 2, what="registrations at hub")
            wait_for(lambda: len(rows(b.db(), "SELECT id FROM registrations")) == 2, what="registrations at host B")
            wait_for(lambda: all(len(rows(n.db(), "SELECT id FROM prototype_notes")) == 3 for n in (a, b, c)),
                     what="notes everywhere")
            self.assertEqual(len(rows(a.db(), "SELECT id FROM registrations")), 1)  # only its own
            self.assertEqual(rows(c.db(), "SELECT id FROM registrations"), [])
            # Converged: every replica holding a record holds the same bytes.
            def converged():
                hub = {t: states(cl.hub.db(), t) for t in ("events", "prototype_notes", "registrations")}
                for n in (a, b, c):
                    for t, recs in hub.items():
                        for rid, st in states(n.db(), t).items():
                            if recs.get(rid) != st:
                                return False
                return True
            wait_for(converged, what="byte-identical replicas")
            # No byte of the registration at C, in its database or its WAL.
            self.assertNotIn("Qwertzuiopa".encode(), file_bytes(c.db_path))
            self.assertIn("Qwertzuiopa".encode(), file_bytes(b.db_path))
            # The receipt turns to synced at A.
            wait_for(lambda: a.api.call("GET", f"/api/v1/registrations/{reg['id']}")[1].get("synced") is True,
                     what="receipt at A")
            # Host centre B checks the person in (the one exception to ownership).
            s, body = b.api.call("PATCH", f"/api/v1/registrations/{reg['id']}", {"attended": True})
            self.assertEqual(s, 200, body)
            wait_for(lambda: rows(a.db(), "SELECT attended FROM registrations WHERE id=?", reg["id"]) == [(1,)],
                     what="attendance back at the owner")
            # ...but may not change anything else of it.
            s, body = b.api.call("PATCH", f"/api/v1/registrations/{reg['id']}", {"last_name": "Autre"})
            self.assertEqual(s, 403, body)
            del own, ev_a, notes

    def test_offline_node_catches_up_and_hub_started_late(self):
        n_writes = int(os.environ.get("TERRIL_OFFLINE_WRITES", "5000"))
        rng = seed()
        with Cluster() as cl:
            cl.hub.start()
            a = cl.add_node("node-a", A)
            b = cl.add_node("node-b", B)
            ev = b.create("events", event_body())  # hosted by B: A's registrations for it go to B too
            wait_for(lambda: len(rows(a.db(), "SELECT id FROM events")) == 1, what="event at A")
            cl.hub.process.stop()
            ids = [a.create("registrations", registration_body(ev["id"], first=f"P{i}", last=f"N{rng.randrange(1e9)}"))["id"]
                   for i in range(n_writes)]
            st = a.status()
            self.assertFalse(st["connected"])
            self.assertGreaterEqual(st["pending"], n_writes)
            cl.hub.start(port=cl.hub.port)
            wait_for(lambda: a.status()["pending"] == 0, timeout=120, what="node A drained")
            self.assertEqual(len(rows(cl.hub.db(), "SELECT id FROM registrations")), n_writes)
            wait_for(lambda: len(rows(b.db(), "SELECT id FROM registrations")) == n_writes, timeout=120,
                     what="host B holds them")
            seqs = rows(cl.hub.db(), "SELECT origin_seq FROM change_log WHERE origin='node-a' ORDER BY origin_seq")
            self.assertEqual([s[0] for s in seqs], list(range(1, len(seqs) + 1)), "no gap, no duplicate")
            del ids

    def test_hub_killed_mid_batch_loses_and_duplicates_nothing(self):
        with Cluster() as cl:
            cl.hub.start()
            a = cl.add_node("node-a", A)
            ev = a.create("events", event_body())
            a.process.stop()
            cl.hub.process.stop()
            # Queue many changes offline, then let them stream and kill the hub in the middle.
            a.start()
            for i in range(3000):
                a.create("registrations", registration_body(ev["id"], first=f"K{i}", last="Kill"))
            cl.hub.start(port=cl.hub.port)
            # The node's reconnect backoff (full jitter, capped at 60 s) grew while the hub was down.
            wait_for(lambda: 0 < len(rows(cl.hub.db(), "SELECT id FROM registrations")), what="some applied",
                     interval=0.005, timeout=75)
            cl.hub.process.kill9()
            got = len(rows(cl.hub.db(), "SELECT id FROM registrations"))
            cl.hub.start(port=cl.hub.port)
            wait_for(lambda: a.status()["pending"] == 0, timeout=120, what="drained after restart")
            self.assertEqual(len(rows(cl.hub.db(), "SELECT id FROM registrations")), 3000)
            seqs = [s[0] for s in rows(cl.hub.db(),
                                       "SELECT origin_seq FROM change_log WHERE origin='node-a' ORDER BY origin_seq")]
            self.assertEqual(seqs, list(range(1, 3002)))
            self.assertEqual(rows(cl.hub.db(), "PRAGMA integrity_check"), [("ok",)])
            print(f"hub held {got} registrations when killed")

    def test_node_killed_while_receiving_loses_and_duplicates_nothing(self):
        with Cluster() as cl:
            cl.hub.start()
            a = cl.add_node("node-a", A)
            b = cl.add_node("node-b", B, start=False)
            ev = a.create("events", event_body())
            for i in range(3000):
                a.create("prototype-notes", {"title": f"Note {i}", "status": "idee"})
            wait_for(lambda: a.status()["pending"] == 0, timeout=60, what="A drained")
            b.start()
            wait_for(lambda: len(rows(b.db(), "SELECT id FROM prototype_notes")) > 0, what="B receiving",
                     interval=0.005)
            b.process.kill9()
            self.assertEqual(rows(b.db(), "PRAGMA integrity_check"), [("ok",)])
            b.start()
            wait_for(lambda: len(rows(b.db(), "SELECT id FROM prototype_notes")) == 3000, timeout=60,
                     what="B complete")
            hub = states(cl.hub.db(), "prototype_notes")
            self.assertEqual(states(b.db(), "prototype_notes"), hub)
            del ev

    def test_status_shows_the_last_sync_the_web_banner_shows(self):
        # Issue 11: right after a registration had reached the hub and the other centre,
        # `terril-node status` said « Dernière synchro : jamais » while the banner
        # (GET /api/v1/status) showed the sync. One source of truth: what the API has
        # shown, the store already holds, and after a restart the API shows it again.
        with Cluster() as cl:
            cl.hub.start()
            a = cl.add_node("node-a", A)
            b = cl.add_node("node-b", B)
            ev = b.create("events", event_body("Atelier CV"))
            wait_for(lambda: len(rows(a.db(), "SELECT id FROM events")) == 1, what="event at A")
            reg = a.create("registrations", registration_body(ev["id"]))
            wait_for(lambda: rows(cl.hub.db(), "SELECT id FROM registrations") == [(reg["id"],)],
                     what="registration at the hub")
            wait_for(lambda: rows(b.db(), "SELECT id FROM registrations") == [(reg["id"],)],
                     what="registration at host B")
            wait_for(lambda: a.status()["pending"] == 0, what="A's change acknowledged")
            banner = a.status()["last_sync"]
            self.assertIsNotNone(banner)
            cli = json.loads(a.cli("status", "--json").stdout)["last_sync"]
            self.assertIsNotNone(cli, "status says never while the banner shows a sync")
            self.assertGreaterEqual(cli, banner)  # same ISO 8601 format: the text order is the time order
            text = a.cli("status").stdout
            self.assertNotIn("jamais", text)
            # With the hub gone, a restarted node shows the same last sync in both places.
            cl.hub.process.stop()
            a.process.stop()
            stored = json.loads(a.cli("status", "--json").stdout)["last_sync"]
            self.assertGreaterEqual(stored, banner)
            a.start()
            self.assertEqual(a.status()["last_sync"], stored)


if __name__ == "__main__":
    unittest.main()
