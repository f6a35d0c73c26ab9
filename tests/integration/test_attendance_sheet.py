"""The attendance sheet (feuille d'émargement, issue 14 item 5) against real daemons: a hub and two
nodes of two centres. Centre A hosts an event; A and B register people for it, A checks some in and
deletes one. Once synced, GET /api/v1/events/{id}/attendance-sheet at A's node and at the hub answers
the same printable page, parsed here with html.parser: the operation's name and the FEDER sentence,
the names sorted by last name then first name (accents and case ignored), one line per live
registration with its presence, the totals. At B's node (it holds only its own registrations of the
event) the sheet is refused with 403; an unknown event is 404; without a session, 401.

Run: TERRIL_BUILD=build python3 -m unittest -v tests/integration/test_attendance_sheet.py
"""

import html.parser
import os
import ssl
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import ADMIN_PASSWORD, Api, Cluster, event_body, registration_body, wait_for  # noqa: E402

A = "valenciennes-beaujardin"
B = "denain-tonini"
OPERATION = "Centres sociaux connectés du bassin minier"
FEDER = ("L'opération « Centres sociaux connectés du bassin minier » est cofinancée par le FEDER dans le cadre "
         "du programme opérationnel FEDER 2014-2020 pour la Région Hauts-de-France.")


class SheetParser(html.parser.HTMLParser):
    """What a reader of the sheet sees: its lines (cell texts), pages, FEDER sentences, totals."""

    def __init__(self):
        super().__init__()
        self.lines = []        # [[N°, Nom, Prénom, Rôle, Présent, Signature], ...]
        self.pages = 0
        self.feder = []        # the text of each <p class="feder">
        self.operation = []    # the text of each <p class="operation">
        self.totals = {}       # "total-registered" / "total-present" -> int
        self.header_rows = 0   # <thead> rows: one per page
        self._row = None
        self._cell = None
        self._grab = None      # (kind, text) while inside a tracked element
        self._in_thead = False

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class") or ""
        if tag == "section" and "sheet-page" in cls.split():
            self.pages += 1
        elif tag == "thead":
            self._in_thead = True
        elif tag == "tr" and self._in_thead:
            self.header_rows += 1
        elif tag == "tr" and cls == "line":
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = ""
        elif tag == "p" and cls in ("feder", "operation"):
            self._grab = [cls, ""]
        elif tag == "strong" and cls.startswith("total-"):
            self._grab = [cls, ""]

    def handle_endtag(self, tag):
        if tag == "thead":
            self._in_thead = False
        elif tag == "td" and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.lines.append(self._row)
            self._row = None
        elif tag in ("p", "strong") and self._grab is not None:
            kind, text = self._grab
            if kind == "feder":
                self.feder.append(text)
            elif kind == "operation":
                self.operation.append(text)
            else:
                self.totals[kind] = int(text)
            self._grab = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        if self._grab is not None:
            self._grab[1] += data


def parse(page):
    p = SheetParser()
    p.feed(page)
    p.close()
    return p


class AttendanceSheetTest(unittest.TestCase):
    def test_sheet_at_the_host_and_the_hub_refused_elsewhere(self):
        with Cluster() as cl:
            cl.hub.start()
            a = cl.add_node("node-a", A)
            b = cl.add_node("node-b", B)
            ev = a.create("events", event_body("Atelier « smartphone » & tablette"))
            sheet = f"/api/v1/events/{ev['id']}/attendance-sheet"
            wait_for(lambda: b.api.call("GET", "/api/v1/events/" + ev["id"])[0] == 200, what="the event at B")
            at_a = [("Zoé", "Lefèvre"), ("adam", "lefevre"), ("Inès", "École"), ("Supprimée", "Aaron")]
            at_b = [("Marc", "Dupont"), ("Léa", "Martin <&> \"fils\"")]
            made = {}
            for node, people in ((a, at_a), (b, at_b)):
                for first, last in people:
                    made[last] = node.create("registrations", registration_body(ev["id"], first, last))
            # A deletes one of its own and checks in one of B's people and one of its own.
            self.assertEqual(a.api.call("DELETE", "/api/v1/registrations/" + made["Aaron"]["id"])[0], 200)
            live = lambda api: api.call("GET", f"/api/v1/registrations?event_id={ev['id']}&limit=100")[1]["items"]
            wait_for(lambda: len(live(a.api)) == 5, what="B's registrations at the host A")
            for last in ("Dupont", "Lefèvre"):
                s, body = a.api.call("PATCH", "/api/v1/registrations/" + made[last]["id"], {"attended": True})
                self.assertEqual(s, 200, body)
            hub = Api(f"https://127.0.0.1:{cl.hub.port}", ADMIN_PASSWORD, context=ssl._create_unverified_context())
            wait_for(lambda: sorted(r["attended"] for r in live(hub)) == [False] * 3 + [True] * 2,
                     what="every registration and check-in at the hub")

            expected = [["1", "Dupont", "Marc", "Habitant·e", "oui", ""],
                        ["2", "École", "Inès", "Habitant·e", "non", ""],
                        ["3", "lefevre", "adam", "Habitant·e", "non", ""],
                        ["4", "Lefèvre", "Zoé", "Habitant·e", "oui", ""],
                        ["5", "Martin <&> \"fils\"", "Léa", "Habitant·e", "non", ""]]
            for where, api in (("host node", a.api), ("hub", hub)):
                with self.subTest(where):
                    s, page = api.call("GET", sheet)
                    self.assertEqual(s, 200, page)
                    self.assertIsInstance(page, str)
                    p = parse(page)
                    self.assertEqual(p.lines, expected)
                    self.assertEqual(p.pages, 1)
                    self.assertEqual(p.header_rows, 1)
                    self.assertEqual(p.feder, [FEDER])
                    self.assertEqual(p.operation, [OPERATION])
                    self.assertEqual(p.totals, {"total-registered": 5, "total-present": 2})
                    self.assertIn("Atelier « smartphone » &amp; tablette", page)
                    self.assertIn("Maison de quartier Beaujardin", page)  # the host centre's name
                    self.assertNotIn("Aaron", page)

            s, body = b.api.call("GET", sheet)
            self.assertEqual(s, 403, body)
            self.assertEqual(body["code"], "not_host")
            self.assertIn("Seul le centre organisateur", body["message"])
            unknown = "/api/v1/events/0e000000-0000-4000-8000-00000000dead/attendance-sheet"
            self.assertEqual(a.api.call("GET", unknown)[0], 404)
            self.assertEqual(hub.call("GET", unknown)[0], 404)
            anonymous = Api(a.api.base, None)
            self.assertEqual(anonymous.call("GET", sheet)[0], 401)
            anonymous_hub = Api(hub.base, None, context=ssl._create_unverified_context())
            self.assertEqual(anonymous_hub.call("GET", sheet)[0], 401)


if __name__ == "__main__":
    unittest.main()
