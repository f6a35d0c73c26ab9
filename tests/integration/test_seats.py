"""Seats that hold offline (issue 15, docs/design.md "Seats") with real processes: a hub and the
nodes of three centres, A the host of every event, B and C centres it gives seats to.

- Three centres cut from the hub overfill a small event: each confirms exactly its own seats and
  puts the rest on its waiting list; while they sync and after, no replica shows more confirmed
  than the capacity, and every replica shows the same seat for each registration.
- A deletion at B confirms B's oldest waiting registration in the same request; it reaches the hub
  and the host. An erasure at the hub makes C promote its oldest waiting one when it arrives.
- The host, online, confirms another centre's waiting registrations from its free seats; a seat
  of the host's freed at B goes back to the host, which confirms B's next one.
- Seats moved while the centre on the other side is offline: given to C, asked back from B (a free
  seat comes back; with none free the request waits, nothing confirmed is taken, and the next seat
  freed goes to it before B's waiting list); a request withdrawn; the hub admin's request to give.
- The host and a centre both confirming the same waiting registrations: within seats, converged.
- Refusals: a capacity below what is confirmed (node and hub), more seats given than are free, a
  body that sets `seat` or `allotments`.

The time for a promotion to reach the owner's node is printed (`SEATS {json}` lines), never
asserted; TERRIL_SEATS_PROMOTIONS sets how many samples (default 20).

A node goes offline for real: it is restarted with its hub URL on a loopback port that refuses
every connection (a socket bound, never listening), and comes back by a restart on its own URL.
Run: TERRIL_BUILD=build python3 -m unittest -v tests/integration/test_seats.py
"""

import calendar
import contextlib
import json
import os
import socket
import ssl
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import ADMIN_PASSWORD, Api, Cluster, event_body, registration_body, wait_for  # noqa: E402

A, B, C = "valenciennes-beaujardin", "denain-tonini", "marly-florales"
CONFIRMED, WAITING = "confirmee", "attente"
PROMOTIONS = int(os.environ.get("TERRIL_SEATS_PROMOTIONS", "20"))  # samples of the promotion's time


class Link:
    """Cuts and restores nodes' links to the hub (see the module's comment)."""

    def __init__(self):
        self.refusing = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.refusing.bind(("127.0.0.1", 0))  # bound, never listening: every connect is refused
        self.dead_url = f"wss://127.0.0.1:{self.refusing.getsockname()[1]}"

    def cut(self, *nodes):
        for n in nodes:
            n.process.stop()
            n.start(extra=["--hub-url", self.dead_url])
            st = n.status()
            assert not st["connected"] and st["hub_url"] == self.dead_url, st

    def restore(self, *nodes):
        for n in nodes:
            n.process.stop()
            n.start()

    def close(self):
        self.refusing.close()


def hub_api(cl):
    return Api(f"https://127.0.0.1:{cl.hub.port}", ADMIN_PASSWORD, context=ssl._create_unverified_context())


def event(api, eid):
    s, body = api.call("GET", "/api/v1/events/" + eid)
    return body if s == 200 else None


def regs(api, eid):
    """The live registrations of the event this replica holds, by id."""
    s, body = api.call("GET", f"/api/v1/registrations?event_id={eid}&limit=1000")
    assert s == 200, body
    return {r["id"]: r for r in body["items"] if not r["deleted"]}


def holder(ev, centre):
    """The line of `centre` in the event's seats (zeros if it holds none and waits for none)."""
    for h in ev["seats"]["holders"]:
        if h["centre_id"] == centre:
            return h
    return {"centre_id": centre, "seats": 0, "confirmed": 0, "free": 0, "waiting": 0, "pending_reclaim": 0,
            "pending_grant": 0}


def oldest(items):
    """The seat rules' order: created_at, then id."""
    return min(items, key=lambda r: (r["created_at"], r["id"]))


def register(node, eid, n, tag):
    return [node.create("registrations", registration_body(eid, first=tag, last=f"{tag}{i}")) for i in range(n)]


def iso_s(text):
    """An API time (2026-12-01T23:01:44.482Z) in seconds since the epoch."""
    return calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")) + int(text[20:23]) / 1000


def percentiles(samples):
    s = sorted(samples)
    return {"p50": round(s[len(s) // 2], 1), "p90": round(s[int(len(s) * 0.9)], 1), "max": round(s[-1], 1)}


def idle(node):
    st = node.status()
    return st["connected"] and st["pending"] == 0


def give(node, eid, centre, n):
    s, body = node.api.call("POST", f"/api/v1/events/{eid}/seats", {"centre_id": centre, "give": n})
    assert s == 200, f"give {n} to {centre}: {s} {body}"
    return body


def take_back(node, eid, centre, n):
    s, body = node.api.call("POST", f"/api/v1/events/{eid}/seats", {"centre_id": centre, "take_back": n})
    assert s == 200, f"take back {n} from {centre}: {s} {body}"
    return body


class World:
    """The hub and the nodes of A, B and C, started; A's replica knows B's and C's centres."""

    def __init__(self, cl):
        self.cl = cl
        self.link = Link()
        cl.hub.start()
        self.a = cl.add_node("node-a", A)
        self.b = cl.add_node("node-b", B)
        self.c = cl.add_node("node-c", C)
        self.hub = hub_api(cl)
        # The host moves seats only to centres its replica knows.
        wait_for(lambda: all(self.a.api.call("GET", "/api/v1/centres/" + c)[0] == 200 for c in (B, C)),
                 what="centres B and C at A")

    def nodes(self):
        return (self.a, self.b, self.c)

    def replicas(self):
        return [("hub", self.hub)] + [(n.node_id, n.api) for n in self.nodes()]


@contextlib.contextmanager
def three_centres():
    with Cluster() as cl:
        w = World(cl)
        try:
            yield w
        finally:
            w.link.close()


class SeatsTest(unittest.TestCase):
    # --- checks -------------------------------------------------------------------------------

    def assert_within_capacity(self, w, eid, capacity, settled=True):
        """At every replica: confirmed registrations <= capacity, counted over what it holds and in
        its event's seats; each holder's confirmed <= its seats; the seats add up to the capacity.
        `settled`: nothing is arriving, so the two reads (event, registrations) agree, and every
        replica that holds a registration shows the same seat."""
        seen = {}
        for name, api in w.replicas():
            ev = event(api, eid)
            if ev is None:
                continue
            held = regs(api, eid).values()
            for r in held:
                seen.setdefault(r["id"], {})[name] = (r["seat"], r["seat_by"])
            confirmed = sum(r["seat"] == CONFIRMED for r in held)
            self.assertLessEqual(confirmed, capacity, f"{name}: {confirmed} confirmee")
            s = ev["seats"]
            self.assertLessEqual(s["confirmed"], capacity, f"{name}: {s}")
            if settled:
                self.assertEqual(s["confirmed"], confirmed, f"{name}: seats totals and registrations differ")
            self.assertEqual(sum(h["seats"] for h in s["holders"]), capacity, f"{name}: {s['holders']}")
            for h in s["holders"]:
                self.assertLessEqual(h["confirmed"], h["seats"], f"{name}: {h}")
                self.assertGreaterEqual(h["free"], 0, f"{name}: {h}")
        if settled:
            for rid, by_replica in seen.items():
                self.assertEqual(len(set(by_replica.values())), 1, f"{rid}: replicas disagree: {by_replica}")

    def assert_no_rejection(self, w):
        for n in w.nodes():
            self.assertEqual(n.status()["rejections"], [], f"{n.node_id}: the hub refused an honest change")

    def given_to_offline_c(self, w, title, capacity, waiting):
        """An event of A's that C knows; C cut from the hub takes `waiting` people (all waiting: C
        holds no seat), then A gives C two seats; the hub has the allotment, C is still offline."""
        eid = w.a.create("events", event_body(title, capacity=capacity))["id"]
        wait_for(lambda: event(w.c.api, eid) is not None, what="the event at C")
        w.link.cut(w.c)
        made = register(w.c, eid, waiting, "Chloe")
        self.assertEqual([r["seat"] for r in made], [WAITING] * waiting)
        give(w.a, eid, C, 2)
        wait_for(lambda: event(w.hub, eid)["allotments"] == {C: 2}, what="the allotment at the hub")
        return eid, made

    # --- scenarios ----------------------------------------------------------------------------

    def test_offline_centres_confirm_only_their_seats_then_a_deletion_promotes(self):
        with three_centres() as w:
            a, b, c = w.a, w.b, w.c
            ev = a.create("events", event_body("Temps fort", kind="temps-fort", capacity=6))
            eid = ev["id"]
            give(a, eid, B, 2)
            given = give(a, eid, C, 2)
            self.assertEqual(given["event"]["allotments"], {B: 2, C: 2})
            self.assertEqual(holder(given["event"], A)["seats"], 2)
            for n in (b, c):
                wait_for(lambda: (event(n.api, eid) or {}).get("allotments") == {B: 2, C: 2},
                         what=f"allotments at {n.node_id}")
                self.assertEqual(event(n.api, eid)["seats"]["here"]["seats"], 2)

            # No network at all: each centre takes four people.
            w.link.cut(a, b, c)
            made = {}
            for n, tag in ((a, "Aline"), (b, "Bruno"), (c, "Chloe")):
                made[n.centre] = register(n, eid, 4, tag)
                self.assertEqual([r["seat"] for r in made[n.centre]], [CONFIRMED] * 2 + [WAITING] * 2, n.node_id)
                self.assertEqual([r["seat_by"] for r in made[n.centre]], [n.centre] * 2 + [None] * 2, n.node_id)
                held = regs(n.api, eid)
                self.assertEqual({r["id"]: held[r["id"]]["seat"] for r in made[n.centre]},
                                 {r["id"]: r["seat"] for r in made[n.centre]}, f"{n.node_id}: seats as read back")
                here = event(n.api, eid)["seats"]["here"]
                self.assertEqual((here["seats"], here["confirmed"], here["free"], here["waiting"]), (2, 2, 0, 2),
                                 f"{n.node_id}: {here}")
                self.assertEqual(event(n.api, eid)["places_left"], 0)
            self.assertFalse(any(n.status()["connected"] for n in (a, b, c)))
            self.assert_within_capacity(w, eid, 6)

            # Back online: every replica stays within the capacity while it syncs and after.
            w.link.restore(a, b, c)
            all_ids = {r["id"] for rs in made.values() for r in rs}

            def synced():
                self.assert_within_capacity(w, eid, 6, settled=False)
                return (set(regs(w.hub, eid)) == all_ids and set(regs(a.api, eid)) == all_ids
                        and all(idle(n) for n in (a, b, c)))
            wait_for(synced, timeout=30, what="12 registrations at the hub and the host, nodes idle")
            at_hub = regs(w.hub, eid)
            self.assertEqual(len(at_hub), 12)
            self.assertEqual(sum(r["seat"] == CONFIRMED for r in at_hub.values()), 6)
            for centre, rs in made.items():  # nobody's seat changed: each kept what it confirmed offline
                self.assertEqual([at_hub[r["id"]]["seat"] for r in rs], [CONFIRMED] * 2 + [WAITING] * 2, centre)
            s = event(w.hub, eid)["seats"]
            self.assertEqual((s["capacity"], s["confirmed"], s["waiting"], s["free"]), (6, 6, 6, 0))
            for n in (b, c):
                self.assertEqual(set(regs(n.api, eid)), {r["id"] for r in made[n.centre]}, n.node_id)
            self.assert_within_capacity(w, eid, 6)
            self.assert_no_rejection(w)

            # A deletion at B frees B's seat: B's oldest waiting registration is confirmed in the same request.
            gone = made[B][0]["id"]
            first = oldest([r for r in regs(b.api, eid).values() if r["seat"] == WAITING])
            s, body = b.api.call("DELETE", "/api/v1/registrations/" + gone)
            deleted_at = time.time()
            self.assertEqual(s, 200, body)
            now_b = regs(b.api, eid)
            self.assertNotIn(gone, now_b)
            self.assertEqual((now_b[first["id"]]["seat"], now_b[first["id"]]["seat_by"]), (CONFIRMED, B))
            self.assertIsNotNone(now_b[first["id"]]["seat_at"])
            self.assertGreaterEqual(now_b[first["id"]]["seat_at"], first["seat_at"])
            here = event(b.api, eid)["seats"]["here"]
            self.assertEqual((here["seats"], here["confirmed"], here["waiting"]), (2, 2, 1), here)
            timings = {}
            for name, api in (("hub", w.hub), ("host", a.api)):
                wait_for(lambda: (regs(api, eid).get(first["id"]) or {}).get("seat") == CONFIRMED
                         and gone not in regs(api, eid), timeout=20, interval=0.01, what=f"the promotion at the {name}")
                timings[name] = round((time.time() - deleted_at) * 1000)
                self.assertEqual(regs(api, eid)[first["id"]]["seat_by"], B)
            wait_for(lambda: all(idle(n) for n in (a, b, c)), what="idle after the promotion")
            self.assert_within_capacity(w, eid, 6)
            self.assertEqual(event(w.hub, eid)["seats"]["confirmed"], 6)

            # An erasure at the hub frees C's seat: C confirms its oldest waiting one when it arrives.
            gone = made[C][0]["id"]
            first = oldest([r for r in regs(c.api, eid).values() if r["seat"] == WAITING])
            s, body = w.hub.call("POST", f"/api/v1/registrations/{gone}/erase", {"confirm": True})
            erased_at = time.time()
            self.assertEqual(s, 200, body)
            wait_for(lambda: regs(c.api, eid)[first["id"]]["seat"] == CONFIRMED, timeout=20, interval=0.01,
                     what="C's promotion after the erasure")
            timings["erasure_at_hub_to_promotion_at_owner"] = round((time.time() - erased_at) * 1000)
            self.assertNotIn(gone, regs(c.api, eid))
            self.assertEqual(regs(c.api, eid)[first["id"]]["seat_by"], C)
            wait_for(lambda: (regs(w.hub, eid).get(first["id"]) or {}).get("seat") == CONFIRMED
                     and all(idle(n) for n in (a, b, c)), what="C's promotion at the hub")
            self.assertEqual(len(regs(w.hub, eid)), 10)
            self.assertEqual(event(w.hub, eid)["seats"]["confirmed"], 6)
            print("SEATS " + json.dumps({"promotion_reaches_ms": timings}))
            self.assert_within_capacity(w, eid, 6)
            self.assert_no_rejection(w)

    def test_host_confirms_another_centres_waiting_registrations(self):
        with three_centres() as w:
            a, b = w.a, w.b
            ev = a.create("events", event_body("Atelier cuisine", capacity=3))
            eid = ev["id"]
            wait_for(lambda: event(b.api, eid) is not None, what="the event at B")
            here = event(b.api, eid)["seats"]["here"]
            self.assertEqual((here["seats"], here["free"]), (0, 0), here)
            made = register(b, eid, 2, "Bruno")
            created_at = time.time()
            self.assertEqual([(r["seat"], r["seat_by"]) for r in made], [(WAITING, None)] * 2)  # B holds no seat
            ids = [r["id"] for r in made]

            def confirmed_at_b():
                held = regs(b.api, eid)
                return all(held[i]["seat"] == CONFIRMED for i in ids) and held
            held = wait_for(confirmed_at_b, timeout=20, interval=0.01, what="A's confirmations at B")
            seen = time.time()
            for r in made:
                got = held[r["id"]]
                self.assertEqual(got["seat_by"], A)
                self.assertIsNotNone(got["seat_at"])
                self.assertGreaterEqual(got["seat_at"], r["seat_at"])
            # The promotion's own time: from A's write (its seat stamp, same machine clock) to B.
            last_seat_at = max(iso_s(held[i]["seat_at"]) for i in ids)
            print("SEATS " + json.dumps({"host_promotion_reaches_owner_ms": round((seen - last_seat_at) * 1000),
                                         "owner_create_to_confirmed_ms": round((seen - created_at) * 1000)}))
            s = event(a.api, eid)["seats"]
            self.assertEqual((holder(event(a.api, eid), A)["confirmed"], s["free"]), (2, 1))
            wait_for(lambda: all(regs(w.hub, eid).get(i, {}).get("seat_by") == A for i in ids) and idle(a) and idle(b),
                     what="the confirmations at the hub")
            self.assertEqual(event(w.hub, eid)["seats"]["confirmed"], 2)
            self.assert_within_capacity(w, eid, 3)

            # Two more: the host's last free seat goes to the older one, the other waits.
            more = register(b, eid, 2, "Basile")
            self.assertEqual([r["seat"] for r in more], [WAITING] * 2)
            first, second = sorted(more, key=lambda r: (r["created_at"], r["id"]))
            wait_for(lambda: regs(b.api, eid)[first["id"]]["seat"] == CONFIRMED and idle(a) and idle(b), timeout=20,
                     what="the host's last seat at B")
            self.assertEqual(regs(b.api, eid)[first["id"]]["seat_by"], A)
            self.assertEqual(regs(b.api, eid)[second["id"]]["seat"], WAITING)
            self.assertEqual(holder(event(a.api, eid), A)["free"], 0)
            # B deletes one the host confirmed: the seat is the host's, so the host confirms B's last one.
            s, body = b.api.call("DELETE", "/api/v1/registrations/" + ids[0])
            deleted_at = time.time()
            self.assertEqual(s, 200, body)
            self.assertEqual(regs(b.api, eid)[second["id"]]["seat"], WAITING)  # B holds no seat to confirm it
            wait_for(lambda: regs(b.api, eid)[second["id"]]["seat"] == CONFIRMED, timeout=20, interval=0.01,
                     what="the host's promotion at B")
            print("SEATS " + json.dumps({"deletion_at_owner_to_host_promotion_at_owner_ms":
                                         round((time.time() - deleted_at) * 1000)}))
            self.assertEqual(regs(b.api, eid)[second["id"]]["seat_by"], A)
            wait_for(lambda: idle(a) and idle(b) and event(w.hub, eid)["seats"]["confirmed"] == 3,
                     what="three confirmed at the hub")
            self.assert_within_capacity(w, eid, 3)
            self.assert_no_rejection(w)

            # Figures (printed, not asserted): one registration at a time at B, each confirmed by
            # the host; from the host's write (seat_at) and from B's create to B seeing it.
            eid = a.create("events", event_body("Forum emploi", capacity=PROMOTIONS))["id"]
            wait_for(lambda: event(b.api, eid) is not None, what="the event at B")
            reach, round_trip = [], []
            for i in range(PROMOTIONS):
                r = b.create("registrations", registration_body(eid, first="Mesure", last=f"M{i}"))
                made_at = time.time()
                self.assertEqual(r["seat"], WAITING)
                got = wait_for(lambda: (lambda x: x if x["seat"] == CONFIRMED else None)(
                    b.api.call("GET", "/api/v1/registrations/" + r["id"])[1]), timeout=20, interval=0.005,
                    what="the host's promotion at B")
                seen = time.time()
                self.assertEqual(got["seat_by"], A)
                reach.append((seen - iso_s(got["seat_at"])) * 1000)
                round_trip.append((seen - made_at) * 1000)
            print("SEATS " + json.dumps({"promotions": PROMOTIONS,
                                         "host_promotion_reaches_owner_ms": percentiles(reach),
                                         "owner_create_to_confirmed_ms": percentiles(round_trip)}))
            wait_for(lambda: idle(a) and idle(b), what="idle after the figures")
            self.assert_within_capacity(w, eid, PROMOTIONS)
            self.assert_no_rejection(w)

    def test_seats_moved_while_the_other_centre_is_offline(self):
        with three_centres() as w:
            a, b, c = w.a, w.b, w.c
            # Given to C while C is offline: C confirms its waiting registrations when it comes back.
            # (The host keeps no seat, so only C can confirm them.)
            e1, waiting = self.given_to_offline_c(w, "Sortie familles", capacity=2, waiting=2)
            self.assertEqual([regs(c.api, e1)[r["id"]]["seat"] for r in waiting], [WAITING] * 2)  # C still offline
            w.link.restore(c)
            ids = [r["id"] for r in waiting]
            wait_for(lambda: all(regs(c.api, e1)[i]["seat"] == CONFIRMED for i in ids), timeout=20,
                     what="C confirms its waiting registrations from the seats it got")
            self.assertEqual([regs(c.api, e1)[i]["seat_by"] for i in ids], [C, C])
            wait_for(lambda: all(regs(w.hub, e1).get(i, {}).get("seat_by") == C for i in ids) and idle(c),
                     what="C's confirmations at the hub")
            self.assert_within_capacity(w, e1, 2)

            # Asked back from B while B is offline: B returns one of its free seats when it comes back.
            ev = a.create("events", event_body("Atelier couture", capacity=4))
            e2 = ev["id"]
            give(a, e2, B, 3)
            wait_for(lambda: (event(b.api, e2) or {}).get("allotments") == {B: 3}, what="the allotment at B")
            mine = register(b, e2, 1, "Bruno")[0]
            self.assertEqual(mine["seat"], CONFIRMED)
            wait_for(lambda: idle(b), what="B idle")
            w.link.cut(b)
            asked = take_back(a, e2, B, 1)
            self.assertEqual(asked["event"]["seat_reclaims"], {B: 1})
            self.assertEqual(holder(asked["event"], B)["pending_reclaim"], 1)
            wait_for(lambda: event(w.hub, e2)["seat_reclaims"] == {B: 1}, what="the request at the hub")
            self.assertEqual(holder(event(w.hub, e2), B)["seats"], 3)  # B has not answered yet
            w.link.restore(b)
            wait_for(lambda: holder(event(w.hub, e2), B)["seats"] == 2, timeout=20, what="B's seat back at the hub")
            at_hub = event(w.hub, e2)
            self.assertEqual((holder(at_hub, B)["pending_reclaim"], holder(at_hub, B)["confirmed"]), (0, 1))
            self.assertEqual(holder(at_hub, A)["seats"], 2)
            s, centre_b = w.hub.call("GET", "/api/v1/centres/" + B)
            self.assertEqual(centre_b["seats_returned"], {e2: 1}, centre_b)
            self.assertEqual(regs(b.api, e2)[mine["id"]]["seat"], CONFIRMED)
            wait_for(lambda: holder(event(a.api, e2), A)["seats"] == 2, what="the seat back at the host")
            self.assert_within_capacity(w, e2, 4)
            # The hub admin asks the host to give one to C: the host's node carries it out.
            s, body = w.hub.call("POST", f"/api/v1/events/{e2}/seats", {"centre_id": C, "give": 1})
            self.assertEqual(s, 200, body)
            self.assertEqual((body["event"]["seat_grants"], holder(body["event"], C)["pending_grant"]), ({C: 1}, 1))
            wait_for(lambda: event(w.hub, e2)["allotments"] == {B: 3, C: 1}, timeout=20,
                     what="the host carries out the hub's request")
            self.assertEqual(holder(event(w.hub, e2), C)["pending_grant"], 0)
            wait_for(lambda: (event(c.api, e2) or {}).get("seats", {}).get("here", {}).get("seats") == 1,
                     what="C's seat at C")
            self.assert_within_capacity(w, e2, 4)

            # Asked back with none free: the request waits; nothing confirmed is taken.
            ev = a.create("events", event_body("Repair café", capacity=2))  # all given: the host keeps none
            e3 = ev["id"]
            give(a, e3, B, 2)
            wait_for(lambda: (event(b.api, e3) or {}).get("allotments") == {B: 2}, what="the allotment at B")
            full = register(b, e3, 3, "Berthe")  # B's two seats used, one waiting
            self.assertEqual([r["seat"] for r in full], [CONFIRMED, CONFIRMED, WAITING])
            w.link.cut(b)
            take_back(a, e3, B, 1)
            wait_for(lambda: event(w.hub, e3)["seat_reclaims"] == {B: 1}, what="the request at the hub")
            w.link.restore(b)
            wait_for(lambda: event(b.api, e3)["seat_reclaims"] == {B: 1} and idle(b), timeout=20,
                     what="the request at B")
            here = event(b.api, e3)["seats"]["here"]
            self.assertEqual((here["seats"], here["confirmed"], here["pending_reclaim"]), (2, 2, 1), here)
            held = regs(b.api, e3)
            self.assertEqual([held[r["id"]]["seat"] for r in full], [CONFIRMED, CONFIRMED, WAITING])
            wait_for(lambda: idle(a) and all(regs(w.hub, e3).get(r["id"], {}).get("seat") for r in full),
                     what="B's registrations at the hub")
            hb = holder(event(w.hub, e3), B)
            self.assertEqual((hb["seats"], hb["confirmed"], hb["pending_reclaim"]), (2, 2, 1), hb)
            self.assertEqual(w.hub.call("GET", "/api/v1/centres/" + B)[1]["seats_returned"], {e2: 1})
            self.assert_within_capacity(w, e3, 2)
            # A seat frees up at B: it goes to the pending request first, not to B's waiting list; the
            # host, now with a free seat, confirms the oldest waiting registration of the event.
            s, body = b.api.call("DELETE", "/api/v1/registrations/" + full[0]["id"])
            self.assertEqual(s, 200, body)
            # B's own write gave the seat back (deterministic at B); the host's confirmation may
            # already be back too (a round trip of a few ms): B's waiting registration is either still
            # waiting or confirmed by the host, never from B's seats.
            here = event(b.api, e3)["seats"]["here"]
            self.assertEqual((here["seats"], here["confirmed"], here["pending_reclaim"]), (1, 1, 0), here)
            self.assertIn(here["waiting"], (0, 1), here)
            third = regs(b.api, e3)[full[2]["id"]]
            self.assertTrue(third["seat"] == WAITING or (third["seat"] == CONFIRMED and third["seat_by"] == A), third)
            wait_for(lambda: regs(b.api, e3)[full[2]["id"]]["seat"] == CONFIRMED, timeout=20,
                     what="the host confirms B's waiting registration from the seat B gave back")
            self.assertEqual(regs(b.api, e3)[full[2]["id"]]["seat_by"], A)
            wait_for(lambda: idle(a) and idle(b) and holder(event(w.hub, e3), A)["confirmed"] == 1,
                     what="the hub sees the return and the host's confirmation")
            self.assert_within_capacity(w, e3, 2)
            # A request withdrawn before it can be carried out: the seat B frees later stays B's.
            take_back(a, e3, B, 1)
            wait_for(lambda: holder(event(b.api, e3), B)["pending_reclaim"] == 1 and idle(a) and idle(b),
                     what="the second request at B")
            s, body = a.api.call("POST", f"/api/v1/events/{e3}/seats", {"centre_id": B, "cancel": True})
            self.assertEqual(s, 200, body)
            self.assertEqual((body["event"]["seat_reclaims"], holder(body["event"], B)["pending_reclaim"]),
                             ({B: 1}, 0))
            wait_for(lambda: holder(event(b.api, e3), B)["pending_reclaim"] == 0 and idle(a) and idle(b),
                     what="the withdrawal at B")
            s, body = b.api.call("DELETE", "/api/v1/registrations/" + full[1]["id"])
            self.assertEqual(s, 200, body)
            here = event(b.api, e3)["seats"]["here"]
            self.assertEqual((here["seats"], here["confirmed"], here["free"]), (1, 0, 1), here)
            wait_for(lambda: idle(b) and full[1]["id"] not in regs(w.hub, e3), what="the deletion at the hub")
            self.assertEqual(holder(event(w.hub, e3), B)["seats"], 1)
            self.assertEqual(w.hub.call("GET", "/api/v1/centres/" + B)[1]["seats_returned"], {e2: 1, e3: 1})
            self.assert_within_capacity(w, e3, 2)
            self.assert_no_rejection(w)

    def test_host_and_centre_both_confirm_the_same_waiting_registrations(self):
        with three_centres() as w:
            a, c = w.a, w.c
            # C, offline, puts three people on its waiting list; the host gives it two of its four
            # seats meanwhile. When C comes back, C (from its two seats) and the host (from its two
            # free ones) both confirm them: whoever wins each, all three end confirmed, no holder
            # beyond its seats, every replica the same, nothing refused.
            eid, made = self.given_to_offline_c(w, "Course solidaire", capacity=4, waiting=3)
            w.link.restore(c)
            ids = {r["id"] for r in made}

            def settled():
                self.assert_within_capacity(w, eid, 4, settled=False)
                return (all(idle(n) for n in w.nodes()) and all(
                    set(regs(api, eid)) == ids and all(r["seat"] == CONFIRMED for r in regs(api, eid).values())
                    for api in (w.hub, a.api, c.api)))
            wait_for(settled, timeout=30, what="three confirmed at the hub, the host and C")
            self.assert_within_capacity(w, eid, 4)
            self.assertEqual(event(w.hub, eid)["seats"]["confirmed"], 3)
            self.assert_no_rejection(w)

    def test_refusals(self):
        with three_centres() as w:
            a = w.a
            ev = a.create("events", event_body("Atelier vélo", capacity=5))
            eid = ev["id"]
            give(a, eid, B, 2)
            register(a, eid, 3, "Aline")  # the host's three seats, all confirmed
            # Below what is confirmed at the host's node: 400 with a French message on capacity.
            s, body = a.api.call("PATCH", "/api/v1/events/" + eid, {"capacity": 4})
            self.assertEqual(s, 400, body)
            self.assertEqual(body["field"], "capacity", body)
            self.assertIn("La capacité ne peut pas descendre sous 5", body["message"])
            self.assertEqual(event(a.api, eid)["capacity"], 5)
            # Raising it, then lowering it back to what is confirmed, is allowed.
            s, body = a.api.call("PATCH", "/api/v1/events/" + eid, {"capacity": 7})
            self.assertEqual(s, 200, body)
            s, body = a.api.call("PATCH", "/api/v1/events/" + eid, {"capacity": 5})
            self.assertEqual(s, 200, body)
            # Giving more than the host's free seats: 400, French.
            s, body = a.api.call("POST", f"/api/v1/events/{eid}/seats", {"centre_id": C, "give": 1})
            self.assertEqual(s, 400, body)
            self.assertRegex(body["message"], r"place libre|places libres")
            # At the hub, lowering is refused too (the hub never sees what the host confirmed offline).
            wait_for(lambda: (event(w.hub, eid) or {}).get("capacity") == 5 and idle(a), what="the event at the hub")
            s, body = w.hub.call("PATCH", "/api/v1/events/" + eid, {"capacity": 4})
            self.assertEqual(s, 400, body)
            self.assertEqual(body["field"], "capacity", body)
            # A body setting the seat: 400 read_only, on create and on edit, at a node and at the hub.
            s, body = w.b.api.call("POST", "/api/v1/registrations",
                                      dict(registration_body(eid), seat=CONFIRMED))
            self.assertEqual((s, body.get("code"), body.get("field")), (400, "read_only", "seat"), body)
            self.assertTrue(body["message"].startswith("La place"), body)
            mine = register(w.b, eid, 1, "Bruno")[0]
            for api in (w.b.api, w.hub):
                if api is w.hub:
                    wait_for(lambda: mine["id"] in regs(w.hub, eid), what="B's registration at the hub")
                s, body = api.call("PATCH", "/api/v1/registrations/" + mine["id"], {"seat": WAITING})
                self.assertEqual((s, body.get("code"), body.get("field")), (400, "read_only", "seat"), body)
            s, body = a.api.call("PATCH", "/api/v1/events/" + eid, {"allotments": {B: 5}})
            self.assertEqual((s, body.get("code"), body.get("field")), (400, "read_only", "allotments"), body)
            self.assertEqual(event(a.api, eid)["allotments"], {B: 2})


if __name__ == "__main__":
    unittest.main()
