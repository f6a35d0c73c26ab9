"""People across registrations (issue 14) against real daemons: a hub and nodes of two centres.

- Reception at a node cut from the hub finds the people its centre already knows as staff type
  (accents and case ignored, phone digits) and registers one of them again under the same person_id.
- The same person registered by two centres appears in the hub's queue of possible duplicates with
  the rules that matched; « Même personne » makes the indicators count one person fewer;
  « Personnes différentes » is never proposed again, even when that person registers again; both
  answers are still there after the hub is restored from a backup taken after them.
- Erasing a person at her centre erases her registrations there, on the hub and at the host, and
  removes the pair and the alias: the indicators count her other self alone.

Run: TERRIL_BUILD=build python3 -m unittest -v tests/integration/test_people.py
"""

import os
import ssl
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ADMIN_PASSWORD, Api, Cluster, event_body, file_bytes, registration_body, rows,  # noqa: E402
                     wait_for)

A = "denain-tonini"
B = "marly-briquette"


def reg(event_id, first, last, phone, **extra):
    body = registration_body(event_id, first, last)
    body["phone"] = phone
    body.update(extra)
    return body


class PeopleTest(unittest.TestCase):
    def hub_api(self, cl):
        return Api(f"https://127.0.0.1:{cl.hub.port}", ADMIN_PASSWORD, context=ssl._create_unverified_context())

    def test_search_before_create_with_no_network(self):
        with Cluster() as cl:
            cl.hub.start()
            a = cl.add_node("node-a", A)
            ev1 = a.create("events", event_body("Atelier tablette"))
            ev2 = a.create("events", event_body("Temps fort", kind="temps-fort"))
            port = cl.hub.port
            cl.hub.process.stop()  # the link is cut: reception keeps working
            first = a.create("registrations", reg(ev1["id"], "Martine", "Lefèvre", "06 12 34 56 78",
                                                  commune="Denain", qpv="oui", genre="femme"))
            a.create("registrations", reg(ev1["id"], "Marc", "Lefort", "07 00 11 22 33"))
            s, found = a.api.call("GET", "/api/v1/people?q=lef")
            self.assertEqual(s, 200, found)
            self.assertEqual([p["last_name"] for p in found["items"]], ["Lefèvre", "Lefort"])
            s, found = a.api.call("GET", "/api/v1/people?q=LEFEVRE")
            self.assertEqual([p["person_id"] for p in found["items"]], [first["person_id"]])
            martine = found["items"][0]
            self.assertEqual((martine["phone"], martine["commune"], martine["qpv"], martine["registrations"]),
                             ("06 12 34 56 78", "Denain", "oui", 1))
            self.assertEqual(martine["last_event"]["title"], "Atelier tablette")
            s, by_phone = a.api.call("GET", "/api/v1/people?q=06%2012%2034")
            self.assertEqual([p["person_id"] for p in by_phone["items"]], [first["person_id"]])
            # One click: the form takes her fields and her person_id.
            again = {k: martine[k] for k in ("first_name", "last_name", "phone", "role", "commune", "qpv", "genre",
                                             "person_id")}
            again.update({"event_id": ev2["id"], "consent": True})
            second = a.create("registrations", again)
            self.assertEqual(second["person_id"], first["person_id"])
            s, person = a.api.call("GET", "/api/v1/people/" + first["person_id"])
            self.assertEqual(s, 200, person)
            self.assertEqual(sorted(r["event"]["title"] for r in person["registrations"]),
                             ["Atelier tablette", "Temps fort"])
            self.assertFalse(a.status()["connected"])
            # The link comes back: the hub holds both under one person.
            cl.hub.start(port=port)
            hub = self.hub_api(cl)
            wait_for(lambda: len(hub.call("GET", "/api/v1/registrations?person_id=" + first["person_id"])[1]
                                 ["items"]) == 2, timeout=30, what="both registrations at the hub")
            s, ind = hub.call("GET", "/api/v1/reports/indicators")
            self.assertEqual((ind["persons"], ind["registrations"]), (2, 3))

    def test_duplicates_across_centres_decided_kept_by_a_restore_and_erased(self):
        with Cluster() as cl:
            cl.hub.start()
            a = cl.add_node("node-a", A)
            b = cl.add_node("node-b", B)
            ev = a.create("events", event_body("Temps fort", kind="temps-fort"))
            wait_for(lambda: b.api.call("GET", "/api/v1/events/" + ev["id"])[0] == 200, what="the event at B")
            m_a = a.create("registrations", reg(ev["id"], "Martine", "Lefèvre", "06 12 34 56 78", qpv="oui"))
            m_b = b.create("registrations", reg(ev["id"], "MARTINE", "LEFEVRE", "+33 6 12 34 56 78"))
            p_a = a.create("registrations", reg(ev["id"], "Paul", "Durand", "06 00 00 00 01"))
            p_b = b.create("registrations", reg(ev["id"], "Paul", "Durand", "07 99 99 99 98"))
            hub = self.hub_api(cl)
            queue = lambda status="open": hub.call("GET", "/api/v1/duplicates?status=" + status)[1]["items"]
            wait_for(lambda: len(queue()) == 2, timeout=30, what="two pairs in the hub's queue")
            pairs = {frozenset((q["a"]["person_id"], q["b"]["person_id"])): q for q in queue()}
            martine = pairs[frozenset((m_a["person_id"], m_b["person_id"]))]
            paul = pairs[frozenset((p_a["person_id"], p_b["person_id"]))]
            self.assertEqual(martine["rules"], ["nom-prenom", "telephone"])
            self.assertEqual(paul["rules"], ["nom-prenom"])
            self.assertEqual({martine["a"]["centre_id"], martine["b"]["centre_id"]}, {A, B})
            persons = lambda: hub.call("GET", "/api/v1/reports/indicators")[1]["persons"]
            self.assertEqual(persons(), 4)

            s, body = hub.call("POST", f"/api/v1/duplicates/{martine['id']}", {"decision": "same"})
            self.assertEqual((s, body["status"]), (200, "same"), body)
            self.assertEqual(persons(), 3)
            s, body = hub.call("POST", f"/api/v1/duplicates/{paul['id']}", {"decision": "different"})
            self.assertEqual((s, body["status"]), (200, "different"), body)
            self.assertEqual(persons(), 3)
            # Paul of B comes again (picked at reception): the pair is never proposed again.
            again = reg(ev["id"], "Paul", "Durand", "06 00 00 00 01", person_id=p_b["person_id"])
            b.create("registrations", again)
            wait_for(lambda: len(hub.call("GET", "/api/v1/registrations?person_id=" + p_b["person_id"])[1]
                                 ["items"]) == 2, timeout=30, what="Paul's new registration at the hub")
            self.assertEqual(queue(), [])
            self.assertEqual(persons(), 3)

            # A backup taken now, a restore: the answers are still there.
            backup = os.path.join(cl.root, "hub.backup")
            cl.hub.cli("backup", "--to", backup)
            port = cl.hub.port
            cl.hub.process.stop()
            cl.hub.cli("restore", "--from", backup, "--force")
            cl.hub.start(port=port)
            hub = self.hub_api(cl)
            self.assertEqual(sorted(q["status"] for q in queue("all")), ["different", "same"])
            self.assertEqual(persons(), 3)

            # Erasing Martine at B: her registration goes everywhere, and the pair and alias with it.
            s, body = b.api.call("POST", f"/api/v1/people/{m_b['person_id']}/erase", {"confirm": True})
            self.assertEqual((s, body["erased"]), (200, 1), body)
            wait_for(lambda: hub.call("GET", "/api/v1/registrations/" + m_b["id"])[0] == 404, timeout=30,
                     what="the erasure at the hub")
            wait_for(lambda: a.api.call("GET", "/api/v1/registrations/" + m_b["id"])[0] == 404, timeout=30,
                     what="the erasure at the host")
            self.assertEqual(sorted(q["status"] for q in queue("all")), ["different"])
            self.assertEqual(persons(), 3)  # Martine (A), Paul twice
            self.assertEqual(rows(cl.hub.db(), "SELECT count(*) FROM duplicate_pairs WHERE person_a = ? OR "
                                  "person_b = ?", m_b["person_id"], m_b["person_id"]), [(0,)])
            wait_for(lambda: b"LEFEVRE" not in file_bytes(cl.hub.db_path), timeout=30, what="her name out of hub.db")
            wait_for(lambda: b"LEFEVRE" not in file_bytes(b.db_path), timeout=30, what="her name out of B's node.db")
            # Martine of A is untouched.
            self.assertEqual(hub.call("GET", "/api/v1/registrations/" + m_a["id"])[0], 200)


if __name__ == "__main__":
    unittest.main()
