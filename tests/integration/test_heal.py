"""Replicas that heal (docs/design.md), with real processes and real files:
a hub restored from a cold copy and from a `backup` file after the nodes
compacted, a box restored from an older image, a registration moved to an
event hosted by a third centre then erased, a revoked box coming back.
Run: TERRIL_BUILD=build python3 -m unittest tests/integration/test_heal.py"""

import os
import shutil
import ssl
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import ADMIN_PASSWORD, Api, Cluster, file_bytes, event_body, registration_body, rows, wait_for  # noqa: E402
from test_chaos import FaultProxy, start_node  # noqa: E402
from workload import seeded_rng  # noqa: E402

A, B, C = "valenciennes-beaujardin", "denain-tonini", "marly-florales"


def admin(hub):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return Api(f"https://127.0.0.1:{hub.port}", ADMIN_PASSWORD, context=ctx)


def ids(db, where="1"):
    return {r[0] for r in rows(db, f"SELECT id FROM registrations WHERE {where}")}


def erased(db, rid):
    return rows(db, "SELECT erased FROM registrations WHERE id=?", rid) == [(1,)]


def erased_or_gone(db, rid):
    """At a host, an erased registration of another centre is kept as a tombstone or removed
    (an erased record names no event: it leaves the host's audience and the next check purges it)."""
    return rows(db, "SELECT erased FROM registrations WHERE id=?", rid) in ([(1,)], [])


def idle(node):
    st = node.status()
    return st["connected"] and st["pending"] == 0


class HealTest(unittest.TestCase):
    def restored_hub(self, restore):
        """Nodes write, sync and compact; the hub goes back to an older state by `restore(cl)`; it heals."""
        with Cluster() as cl:
            cl.hub.start()
            port = cl.hub.port
            a = cl.add_node("node-a", A)
            b = cl.add_node("node-b", B)
            ev = a.create("events", event_body("Atelier tablette"))
            wait_for(lambda: rows(b.db(), "SELECT id FROM events"), what="event at B")
            before = [b.create("registrations", registration_body(ev["id"], last=f"Avant{i}"))["id"] for i in range(5)]
            wait_for(lambda: ids(cl.hub.db()) == set(before) and ids(a.db()) == set(before), what="first sync")
            wait_for(lambda: idle(b), what="B idle")
            restore_point = restore(cl, "save")
            after = [b.create("registrations", registration_body(ev["id"], last=f"Apres{i}"))["id"] for i in range(5)]
            # Erased at the hub after the copy: it must be erased again once the copy is back.
            s, body = admin(cl.hub).call("POST", f"/api/v1/registrations/{before[0]}/erase", {"confirm": True})
            self.assertEqual(s, 200, body)
            wait_for(lambda: ids(cl.hub.db()) == set(before + after) and idle(b), what="second sync")
            wait_for(lambda: erased(b.db(), before[0]) and erased_or_gone(a.db(), before[0]), what="erasure at the nodes")
            self.assertEqual(rows(b.db(), "SELECT count(*) FROM change_log"), [(0,)])  # compacted
            cl.hub.process.stop()
            restore(cl, restore_point)
            self.assertEqual(ids(cl.hub.db()), set(before))  # the hub went back
            cl.hub.start(port=port)
            # Every acknowledged registration comes back, nothing twice, and the erasure is applied again.
            wait_for(lambda: ids(cl.hub.db()) == set(before + after), timeout=60, what="registrations back at hub")
            wait_for(lambda: erased(cl.hub.db(), before[0]), what="erasure re-applied at the hub")
            self.assertNotIn(b"Avant0", file_bytes(cl.hub.db_path))
            # New writes flow both ways: from a node, and from the hub (its sequences are not reused).
            new = b.create("registrations", registration_body(ev["id"], last="Nouvelle"))["id"]
            wait_for(lambda: new in ids(cl.hub.db()) and new in ids(a.db()), what="new registration flows")
            s, body = admin(cl.hub).call("PATCH", f"/api/v1/events/{ev['id']}", {"title": "Atelier après restauration"})
            self.assertEqual(s, 200, body)
            wait_for(lambda: rows(a.db(), "SELECT title FROM events") == [("Atelier après restauration",)] and
                     rows(b.db(), "SELECT title FROM events") == [("Atelier après restauration",)],
                     what="a hub edit after the restore reaches the nodes")
            self.assertEqual(len(ids(cl.hub.db())), 11)
            # Replicas equal again: every record a node holds is byte-identical at the hub.
            hub_states = dict(rows(cl.hub.db(), "SELECT id, state FROM registrations"))
            wait_for(lambda: all(hub_states.get(i) == s for i, s in rows(b.db(), "SELECT id, state FROM registrations")),
                     what="B equal to the hub")

    def test_hub_restored_from_a_cold_copy_heals(self):
        def restore(cl, point):
            copy = os.path.join(cl.root, "hub-cold-copy")
            if point == "save":
                cl.hub.process.stop()
                shutil.copytree(cl.hub.dir, copy)
                cl.hub.start(port=cl.hub.port)
                return copy
            shutil.rmtree(cl.hub.dir)
            shutil.copytree(point, cl.hub.dir)
        self.restored_hub(restore)

    def test_hub_restored_from_a_backup_file_heals(self):
        def restore(cl, point):
            if point == "save":
                f = os.path.join(cl.root, "nightly.backup")
                cl.hub.cli("backup", "--to", f)
                return f
            cl.hub.cli("restore", "--from", point, "--force")
        self.restored_hub(restore)

    def test_box_restored_from_an_older_image_recovers_and_keeps_new_writes(self):
        with Cluster() as cl:
            cl.hub.start()
            b = cl.add_node("node-b", B)
            ev = b.create("events", event_body("Café numérique"))
            first = b.create("registrations", registration_body(ev["id"], last="Premiere"))["id"]
            wait_for(lambda: first in ids(cl.hub.db()) and idle(b), what="first sync")
            b.process.stop()
            image = os.path.join(cl.root, "sd-image")
            shutil.copytree(b.dir, image)
            b.start()
            later = [b.create("registrations", registration_body(ev["id"], last=f"Perdue{i}"))["id"] for i in range(3)]
            wait_for(lambda: set(later) <= ids(cl.hub.db()) and idle(b), what="later registrations at hub")
            # The hub admin corrects one after the box sent it: the hub's copy is newer.
            s, body = admin(cl.hub).call("PATCH", f"/api/v1/registrations/{later[0]}", {"notes": "corrigé au hub"})
            self.assertEqual(s, 200, body)
            wait_for(lambda: rows(b.db(), "SELECT notes FROM registrations WHERE id=?", later[0]) == [("corrigé au hub",)],
                     what="correction at the box")
            b.process.stop()
            shutil.rmtree(b.dir)
            shutil.copytree(image, b.dir)
            # Staff write on the restored box while the hub is out of reach: the change numbers
            # they get were already used for the lost ones.
            port = cl.hub.port
            cl.hub.process.stop()
            b.start()
            written = b.create("registrations", registration_body(ev["id"], last="ApresRestauration"))["id"]
            cl.hub.start(port=port)
            wait_for(lambda: ids(b.db()) == set([first, written] + later), timeout=60, what="lost records back")
            wait_for(lambda: written in ids(cl.hub.db()), what="what staff wrote after the restore reaches the hub")
            self.assertEqual(rows(cl.hub.db(), "SELECT notes FROM registrations WHERE id=?", later[0]),
                             [("corrigé au hub",)])
            self.assertEqual(rows(b.db(), "SELECT notes FROM registrations WHERE id=?", later[0]), [("corrigé au hub",)])
            self.assertEqual(len(ids(cl.hub.db())), 5)
            wait_for(lambda: idle(b), what="B idle")

    def test_moved_registration_goes_whole_to_the_new_host_and_leaves_the_old(self):
        with Cluster() as cl:
            cl.hub.start()
            a = cl.add_node("node-a", A)
            b = cl.add_node("node-b", B)
            c = cl.add_node("node-c", C)
            ev_a = a.create("events", event_body("Atelier du mardi"))
            ev_c = c.create("events", event_body("Atelier du samedi"))
            wait_for(lambda: len(rows(b.db(), "SELECT id FROM events")) == 2, what="events at B")
            reg = b.create("registrations", registration_body(ev_a["id"], first="Zoé", last="Wyszynskaya"))["id"]
            wait_for(lambda: reg in ids(a.db()), what="registration at the first host")
            # The person picks the Saturday workshop, hosted by C.
            s, body = b.api.call("PATCH", f"/api/v1/registrations/{reg}", {"event_id": ev_c["id"]})
            self.assertEqual(s, 200, body)
            wait_for(lambda: rows(c.db(), "SELECT last_name, first_name FROM registrations WHERE id=?", reg) ==
                     [("Wyszynskaya", "Zoé")], what="the whole record at the new host")
            wait_for(lambda: reg not in ids(a.db()), what="the old host purges it")
            wait_for(lambda: b"Wyszynskaya" not in file_bytes(a.db_path), what="no byte of the name at the old host")
            # Then the person asks for erasure, at the centre that took the registration.
            s, body = b.api.call("POST", f"/api/v1/registrations/{reg}/erase", {"confirm": True})
            self.assertEqual(s, 200, body)
            wait_for(lambda: erased_or_gone(c.db(), reg) and erased(cl.hub.db(), reg), what="erasure at the new host and hub")
            for path in (a.db_path, b.db_path, c.db_path, cl.hub.db_path):
                wait_for(lambda: b"Wyszynskaya" not in file_bytes(path), what=f"no name in {path}")

    def test_revoked_box_comes_back_wipes_and_says_so(self):
        with Cluster() as cl:
            cl.hub.start()
            a = cl.add_node("node-a", A)
            b = cl.add_node("node-b", B)
            ev = a.create("events", event_body("Permanence"))
            wait_for(lambda: rows(b.db(), "SELECT id FROM events"), what="event at B")
            regs = [b.create("registrations", registration_body(ev["id"], last=f"Personne{i}"))["id"] for i in range(3)]
            wait_for(lambda: set(regs) <= ids(a.db()), what="registrations at host A")
            a.process.stop()
            cl.hub.cli("node", "revoke", "node-a")  # the box is off: it learns at its next contact
            a.start()
            wait_for(lambda: a.status().get("wiped_at"), timeout=60, what="A wiped")
            st = a.status()
            self.assertIn("retiré du service", st["wiped_message"])
            self.assertEqual(ids(a.db()), set())
            for i in range(3):
                self.assertNotIn(f"Personne{i}".encode(), file_bytes(a.db_path))
            out = a.cli("status").stdout
            self.assertIn("retiré du service", out)

    def test_repair_under_a_faulty_link_with_both_sides_killed(self):
        """A hub restored from a copy that lost 300 registrations heals through the fault proxy
        while the hub, then the box, are killed with -9 in the middle of the repair."""
        seed, _ = seeded_rng("heal-chaos")
        with Cluster() as cl:
            cl.hub.start()
            port = cl.hub.port
            proxy = FaultProxy(port, seed, os.path.join(cl.root, "proxy.log"))
            try:
                proxy.command("heal")
                via = f"wss://127.0.0.1:{proxy.port}"
                a = start_node(cl.add_node("node-a", A, start=False), via)
                b = start_node(cl.add_node("node-b", B, start=False), via)
                ev = a.create("events", event_body("Atelier démarches en ligne"))
                wait_for(lambda: rows(b.db(), "SELECT id FROM events"), what="event at B")
                wait_for(lambda: idle(a) and idle(b), what="nodes idle")
                cl.hub.process.stop()
                copy = os.path.join(cl.root, "hub-copy")
                shutil.copytree(cl.hub.dir, copy)
                cl.hub.start(port=port)
                regs = [b.create("registrations", registration_body(ev["id"], last=f"Perdu{i}"))["id"]
                        for i in range(300)]
                wait_for(lambda: len(ids(cl.hub.db())) == 300 and len(ids(a.db())) == 300 and idle(b), timeout=60,
                         what="300 registrations everywhere")
                cl.hub.process.stop()
                shutil.rmtree(cl.hub.dir)
                shutil.copytree(copy, cl.hub.dir)
                proxy.command("chaos")
                cl.hub.start(port=port)
                wait_for(lambda: ids(cl.hub.db()), timeout=60, what="repair under way")
                cl.hub.process.kill9()
                cl.hub.start(port=port)
                wait_for(lambda: len(ids(cl.hub.db())) > 0, timeout=60, what="repair resumed")
                b.process.kill9()
                start_node(b, via)
                proxy.command("heal")
                wait_for(lambda: ids(cl.hub.db()) == set(regs), timeout=120, what="every registration back at the hub")
                hub_states = dict(rows(cl.hub.db(), "SELECT id, state FROM registrations"))

                def equal(n):
                    mine = dict(rows(n.db(), "SELECT id, state FROM registrations"))
                    return mine == hub_states
                wait_for(lambda: equal(a) and equal(b), timeout=120, what="both nodes byte-equal to the hub")
                print(f"heal-chaos seed={seed}: {len(regs)} registrations healed, proxy {proxy.command('stats')}")
            finally:
                proxy.stop()


if __name__ == "__main__":
    unittest.main()
