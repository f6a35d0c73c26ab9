"""The technician's path (issue 7), with real processes:

- PackageTest: installs the amd64 Debian packages with dpkg, checks files,
  owners, modes and that nothing was started, walks the install guide
  (docs/install-raspberry-pi.md) with the installed binaries as the service
  users (hub init, node add, enrol, passwd, serve, doctor), then removes and
  purges both packages and checks nothing is left. Needs root; the packages
  come from $TERRIL_DEB_DIR, else cpack packages the build under test
  ($TERRIL_BUILD, whose binaries are already built).
- ReplacementTest: a centre's box dies; `terril-hub node replace` gives a new
  box that restores exactly what the hub routes to the centre; the old box's
  copy is refused; its unsynced changes are reported lost.
- ClockTest: nodes whose wall clock is 1970 or 2040 (libfaketime) enrol,
  write and sync; the hub's order and timestamps stay right.
- EnrolTest: the command `terril-hub node add` prints (`sudo -u terril-node
  terril-node enrol ...`); enrol run as root hands its files to the data
  folder's owner, or refuses in the service user's missing folder, and follows
  no symlink planted in the data folder (L4), nor does passwd; each error
  a technician meets (wrong, used or expired code, hub unreachable, plain
  ws://, certificate mismatch, clock far off, no space left, already
  enrolled) is explained in French and English.

Run: TERRIL_BUILD=build python3 -m unittest -v tests/integration/test_technician.py
"""

import contextlib
import glob
import grp
import json
import os
import pathlib
import pwd
import re
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ADMIN_PASSWORD, BUILD, EMULATED, HUB_BIN, NODE_BIN, PACKAGES, STAFF_PASSWORD, Api,  # noqa: E402
                     Cluster, Node, Process, daemon_lib, debs_in, event_body, package_build, preload_env,
                     registration_body, rows, run, wait_for)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
A, B = "valenciennes-beaujardin", "denain-tonini"
DAY_MS = 86400 * 1000


def now_ms():
    return int(time.time() * 1000)


def hub_admin(hub):
    """A logged-in client of the hub's admin API (self-signed TLS: not verified, loopback),
    or None when this hub build has no admin API yet."""
    scheme = "http" if hub.insecure else "https"
    try:
        return Api(f"{scheme}://127.0.0.1:{hub.port}", ADMIN_PASSWORD, context=ssl._create_unverified_context())
    except AssertionError as e:
        print(f"\nhub admin API unavailable ({e}); later edits come from a right-clocked node of the same centre",
              file=sys.stderr)
        return None


class LaterEditor:
    """Makes "a later real edit": at the hub (PATCH through its admin API) when it has one, else from a
    second node of the record's centre whose clock is right (a centre may have several boxes)."""

    def __init__(self, cl):
        self.cl = cl
        self.admin = hub_admin(cl.hub)
        self.nodes = {}

    def patch(self, path, rid, centre, fields):
        if self.admin is not None:
            s, body = self.admin.call("PATCH", f"/api/v1/{path}/{rid}", fields)
            if s == 401:  # sessions live in the hub's memory: log in again after a restart
                self.admin = hub_admin(self.cl.hub)
                s, body = self.admin.call("PATCH", f"/api/v1/{path}/{rid}", fields)
        else:
            if centre not in self.nodes:
                self.nodes[centre] = self.cl.add_node(f"right-clock-{len(self.nodes)}", centre)
            n = self.nodes[centre]
            wait_for(lambda: rid in ids(n, path.replace("-", "_")), what=f"{rid} at {n.node_id}")
            s, body = n.api.call("PATCH", f"/api/v1/{path}/{rid}", fields)
        assert s == 200, (s, body)


class EnrolledNode(Node):
    """A node enrolled with a code the test got itself (node replace), optionally
    under a faked wall clock (`env`), instead of Node's `node add`."""

    def __init__(self, root, hub, node_id, centre, code, env=None, dirname=None):
        self.dir = os.path.join(root, dirname or node_id)
        self.node_id = node_id
        self.centre = centre
        self.hub = hub
        self.process = None
        self.api = None
        self.env = env
        args = ["enrol", "--hub", hub.url, "--code", code, "--json"] + hub.pin_args()
        self.enrolment = json.loads(self.cli(*args, env=env).stdout)
        self.cli("passwd", stdin=STAFF_PASSWORD + "\n")

    def start(self, env=None):
        return super().start(env=env if env is not None else self.env)


def ids(replica, table, where="", *args):
    """Record ids of `table` at a Hub or Node (harness.rows closes each connection)."""
    return {r[0] for r in rows(replica.db(), f"SELECT id FROM {table} {where}", *args)}


def routed_to(hub, centre):
    """What the hub routes to `centre`, from the hub's own tables: every centre,
    event and note; the registrations the centre took or that are for its events."""
    expected = {t: ids(hub, t) for t in ("centres", "events", "prototype_notes")}
    expected["registrations"] = ids(
        hub, "registrations",
        "WHERE centre_id = ? OR event_id IN (SELECT id FROM events WHERE centre_id = ?)", centre, centre)
    # The change log's routing columns must say the same.
    by_log = {r[0] for r in rows(hub.db(), "SELECT DISTINCT record_id FROM change_log WHERE entity = 3 AND "
                                         "(audience_owner = ? OR audience_host = ?)", centre, centre)}
    assert by_log == expected["registrations"], (by_log, expected["registrations"])
    return expected


def held(node):
    return {t: ids(node, t) for t in ("centres", "events", "prototype_notes", "registrations")}


# --- (b) box replacement ------------------------------------------------------------------------

class ReplacementTest(unittest.TestCase):
    def test_replaced_box_restores_the_centre_and_the_old_box_is_refused(self):
        with Cluster() as cl:
            hub = cl.hub.start()
            a = cl.add_node("node-a", A)
            b = cl.add_node("node-b", B)
            # Data of both centres, crossing: A registers people for B's event and B for A's.
            ev_a = a.create("events", event_body("Temps fort numérique", kind="temps-fort"))
            ev_b = b.create("events", event_body("Atelier smartphone"))
            a.create("prototype-notes", {"title": "Borne d'accueil", "status": "prototype"})
            b.create("prototype-notes", {"title": "Carte des ateliers", "status": "idee"})
            wait_for(lambda: ids(a, "events") == {ev_a["id"], ev_b["id"]}, what="B's event at A")
            a_own = [a.create("registrations", registration_body(ev_a["id"], first=f"A{i}", last="Alpha"))["id"]
                     for i in range(5)]
            a_for_b = a.create("registrations", registration_body(ev_b["id"], first="Zoé", last="Versb"))["id"]
            b_for_a = b.create("registrations", registration_body(ev_a["id"], first="Jean", last="Versa"))["id"]
            b_own = b.create("registrations", registration_body(ev_b["id"], first="Paul", last="Bravo"))["id"]
            a.api.call("PATCH", f"/api/v1/registrations/{a_own[0]}", {"notes": "rappeler"})
            wait_for(lambda: a.status()["pending"] == 0 and b.status()["pending"] == 0, what="A and B synced")
            wait_for(lambda: b_for_a in ids(a, "registrations"), what="B's registration for A's event at A")

            # Changes A writes while the hub is down: they never reach it.
            hub.process.stop()
            lost = [a.create("registrations", registration_body(ev_a["id"], first=f"L{i}", last="Perdu"))["id"]
                    for i in range(3)]
            self.assertEqual(a.status()["pending"], 3)
            # A dies for good; keep a copy of its disk to bring it back later.
            a.process.kill9()
            old_copy = os.path.join(cl.root, "old-box-a")
            shutil.copytree(a.dir, old_copy)
            shutil.rmtree(a.dir)
            hub.start(port=hub.port)

            # The lost changes: the hub cannot know them; the old disk tells how many.
            st = json.loads(run([NODE_BIN, "status", "--json", "--data-dir", old_copy, "--config", "/dev/null"])
                            .stdout)
            self.assertEqual(st["pending"], 3, st)

            # The admin replaces the box: the message says unsynced changes are lost.
            out = hub.cli("node", "replace", "node-a").stdout
            self.assertRegex(out, r"changes it never synced are lost")
            self.assertIn("revoked", out)
            first_code = re.search(r"code: ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})", out).group(1)
            new_id = re.search(r"Replacement node (\S+) for centre " + A, out).group(1)
            self.assertEqual(new_id, "node-a-r2")
            # The code was lost on the way: replacing the pending replacement gives a
            # new code for the same id (--json), and the first one stops working.
            again = json.loads(hub.cli("node", "replace", new_id, "--json").stdout)
            self.assertEqual((again["node_id"], again["centre_id"]), (new_id, A))
            self.assertNotEqual(again["code"], first_code)
            refused = run([NODE_BIN, "enrol", "--hub", hub.url, "--code", first_code, "--data-dir",
                           os.path.join(cl.root, "stale-code"), "--config", "/dev/null", *hub.pin_args()],
                          check=False)
            self.assertNotEqual(refused.returncode, 0)
            self.assertIn("unknown or already used", refused.stderr)
            self.assertIn("Code d'enrôlement refusé", refused.stderr)

            # The new box enrols and restores exactly what the hub routes to centre A.
            nodes = {n["node_id"]: n for n in json.loads(hub.cli("node", "list", "--json").stdout)}
            self.assertEqual(nodes["node-a"]["state"], "revoked")
            self.assertEqual(nodes["node-a"]["replaced_by"], new_id)
            a2 = EnrolledNode(cl.root, hub, new_id, A, again["code"])
            cl.nodes.append(a2)
            self.assertEqual(a2.enrolment["centre_id"], A)
            a2.start()
            expected = routed_to(hub, A)
            wait_for(lambda: held(a2) == expected, timeout=60, what="the new box holds the centre's data")
            self.assertIn(a_for_b, expected["registrations"])
            self.assertIn(b_for_a, expected["registrations"])
            self.assertNotIn(b_own, expected["registrations"])
            self.assertFalse(set(lost) & held(a2)["registrations"], "lost changes cannot come back")
            # Same bytes as the hub for every record it holds.
            for t in expected:
                hub_state = dict(rows(hub.db(), f"SELECT id, state FROM {t}"))
                for rid, state in rows(a2.db(), f"SELECT id, state FROM {t}"):
                    self.assertEqual(state, hub_state[rid], f"{t} {rid}")
            self.assertEqual(rows(a2.db(), "SELECT notes FROM registrations WHERE id = ?", a_own[0]),
                             [("rappeler",)])
            # Records belong to the centre, not the box: the new box edits the old box's records.
            s, body = a2.api.call("PATCH", f"/api/v1/registrations/{a_own[1]}", {"notes": "repris"})
            self.assertEqual(s, 200, body)
            wait_for(lambda: rows(hub.db(), "SELECT notes FROM registrations WHERE id = ?", a_own[1]) == [("repris",)],
                     what="the new box's edit at the hub")
            self.assertEqual(a2.status()["rejections"], [])

            # The old box comes back with its disk: the hub refuses it, it syncs nothing.
            hub_log = os.path.join(cl.root, "hub.log")
            log_before = os.path.getsize(hub_log)
            old = EnrolledNode.__new__(EnrolledNode)
            old.dir, old.node_id, old.centre, old.hub, old.env = old_copy, "node-a-old", A, hub, None
            old.process = old.api = None
            cl.nodes.append(old)
            old.start()
            wait_for(lambda: "REVOKED" in (old.status().get("last_error") or ""), timeout=30,
                     what="the old box told it is revoked")
            old.create("registrations", registration_body(ev_a["id"], first="Trop", last="Tard"))
            time.sleep(3)
            st = old.status()
            self.assertFalse(st["connected"], st)
            self.assertEqual(st["pending"], 4, st)
            with open(hub_log, errors="replace") as f:
                f.seek(log_before)
                log = f.read()
            self.assertRegex(log, r"REVOKED_NODE")
            self.assertEqual(rows(hub.db(), "SELECT count(*) FROM registrations WHERE last_name IN ('Perdu', 'Tard')"),
                             [(0,)])
            # It wiped what the hub holds (the centre's data is on the new box only) and says so; it
            # keeps only what never reached the hub, the one copy of those (issue 12).
            self.assertTrue(st["wiped_at"], st)
            self.assertIn("retiré du service", st["wiped_message"])
            left = {r[0] for r in rows(old.db(), "SELECT last_name FROM registrations")}
            self.assertEqual(left, {"Perdu", "Tard"})
            with open(os.path.join(old_copy, "node.db"), "rb") as f:
                self.assertNotIn(b"Alpha", f.read())
            print(f"\nold box status after replacement: last_error={st['last_error']!r}, pending={st['pending']} "
                  f"(3 written before it died: lost, as `node replace` says)")


# --- (c) clocks ------------------------------------------------------------------------------------

# The daemons' libfaketime: the host's, or under emulation the arm64 one (libfaketime:arm64),
# which the guest's loader preloads (harness.preload_env); TERRIL_FAKETIME_LIB overrides.
FAKETIME_LIB = daemon_lib("TERRIL_FAKETIME_LIB", "faketime/libfaketime.so.1")


def fake_clock(when):
    """Environment that starts the wall clock at `when` ("1970-01-02 00:00:00") and lets it run.
    Monotonic clocks stay real: Asio's timers need them."""
    env = dict(os.environ)
    env.update({"FAKETIME": "@" + when, "FAKETIME_DONT_FAKE_MONOTONIC": "1", "DONT_FAKE_MONOTONIC": "1",
                "FAKETIME_NO_CACHE": "1"})
    return preload_env(env, FAKETIME_LIB)


class ClockTest(unittest.TestCase):
    def setUp(self):
        if not FAKETIME_LIB:
            pkg = "libfaketime:arm64" if EMULATED else "faketime"
            print(f"\nClockTest skipped: libfaketime not installed (apt-get install {pkg})", file=sys.stderr)
            self.skipTest(f"libfaketime not installed (apt-get install {pkg})")

    def assertRealTime(self, replica, table, rid):
        (created, updated), = rows(replica.db(), f"SELECT created_at, updated_at FROM {table} WHERE id = ?", rid)
        for what, t in (("created_at", created), ("updated_at", updated)):
            self.assertLess(abs(t - now_ms()), DAY_MS, f"{table} {rid} {what} = {time.strftime('%Y-%m-%d', time.gmtime(t / 1000))}")

    def test_nodes_enrolled_in_1970_and_2040_keep_the_hubs_order(self):
        with Cluster() as cl:
            hub = cl.hub.start()
            later = LaterEditor(cl)
            past = EnrolledNode(cl.root, hub, "node-1970", A, hub.add_node("node-1970", A)["code"],
                                env=fake_clock("1970-01-02 00:00:00"))
            future = EnrolledNode(cl.root, hub, "node-2040", B, hub.add_node("node-2040", B)["code"],
                                  env=fake_clock("2040-06-01 12:00:00"))
            cl.nodes += [past, future]
            for n, year in ((past, 1970), (future, 2040)):
                self.assertGreater(abs(n.enrolment["clock_offset_ms"]), 10 * 365 * DAY_MS, f"{year}: offset learned")
                n.start()
                # The faked clock reaches the daemon (else this test proves nothing).
                d = json.loads(n.cli("doctor", "--json", check=False, env=n.env).stdout)
                clock = [c for c in d["checks"] if c["check"] == "clock"][0]
                self.assertFalse(clock["ok"], clock)
            ev = past.create("events", event_body("Atelier 1970"))
            n70 = past.create("prototype-notes", {"title": "Écrit en 1970", "status": "idee"})
            n40 = future.create("prototype-notes", {"title": "Écrit en 2040", "status": "idee"})
            wait_for(lambda: past.status()["pending"] == 0 and future.status()["pending"] == 0, what="synced")
            for table, rid in (("events", ev["id"]), ("prototype_notes", n70["id"]), ("prototype_notes", n40["id"])):
                self.assertRealTime(hub, table, rid)
            # A later real edit at the hub wins over the 2040 node's earlier one...
            later.patch("prototype-notes", n40["id"], B, {"title": "Corrigé au hub"})
            wait_for(lambda: rows(future.db(), "SELECT title FROM prototype_notes WHERE id = ?", n40["id"])
                     == [("Corrigé au hub",)], what="the hub's edit at the 2040 node")
            # ...and the 1970 node's later edit wins over an earlier one at the hub.
            later.patch("prototype-notes", n70["id"], A, {"summary": "hub d'abord"})
            wait_for(lambda: rows(past.db(), "SELECT summary FROM prototype_notes WHERE id = ?", n70["id"])
                     == [("hub d'abord",)], what="the hub's edit at the 1970 node")
            s, body = past.api.call("PATCH", f"/api/v1/prototype-notes/{n70['id']}", {"summary": "1970 ensuite"})
            self.assertEqual(s, 200, body)
            wait_for(lambda: rows(hub.db(), "SELECT summary FROM prototype_notes WHERE id = ?", n70["id"])
                     == [("1970 ensuite",)], what="the 1970 node's later edit wins at the hub")
            for table, rid in (("prototype_notes", n70["id"]), ("prototype_notes", n40["id"])):
                self.assertRealTime(hub, table, rid)
            # Every replica holds the same bytes.
            for n in (past, future):
                for t in ("events", "prototype_notes"):
                    self.assertEqual(dict(rows(n.db(), f"SELECT id, state FROM {t}")),
                                     dict(rows(hub.db(), f"SELECT id, state FROM {t}")), f"{n.node_id} {t}")

    def test_box_rebooting_in_2040_offline_then_fixed_does_not_win_forever(self):
        """A box enrolled with a right clock reboots with its clock in 2040 (no RTC) while the hub is
        unreachable, and writes. Its stored hub offset is about 0, so those changes are stamped 2040
        locally; at the next handshake they must be re-stamped, so that a later real edit at the hub
        wins, and after the clock is fixed the box's own later edit wins too."""
        with Cluster() as cl:
            hub = cl.hub.start()
            later = LaterEditor(cl)
            n = cl.add_node("node-b", B)
            note = n.create("prototype-notes", {"title": "Avant", "status": "idee"})
            wait_for(lambda: n.status()["pending"] == 0, what="synced")
            n.process.stop()
            hub.process.stop()
            n.start(env=fake_clock("2040-06-01 12:00:00"))
            s, body = n.api.call("PATCH", f"/api/v1/prototype-notes/{note['id']}", {"title": "Hors ligne 2040"})
            self.assertEqual(s, 200, body)
            n2040 = n.create("prototype-notes", {"title": "Créé hors ligne en 2040", "status": "idee"})
            # The premise: the daemon's wall clock is 2040 and its offline changes are stamped 2040.
            self.assertTrue(n.status()["now"].startswith("2040"), n.status()["now"])
            local, = rows(n.db(), "SELECT updated_at FROM prototype_notes WHERE id = ?", note["id"])[0]
            self.assertGreater(local, now_ms() + 365 * DAY_MS, "stamped in the future while offline")
            hub.start(port=hub.port)
            wait_for(lambda: n.status()["pending"] == 0, what="the 2040 changes synced")
            self.assertEqual(rows(hub.db(), "SELECT title FROM prototype_notes WHERE id = ?", note["id"]),
                             [("Hors ligne 2040",)])
            self.assertRealTime(hub, "prototype_notes", note["id"])
            updated, = rows(hub.db(), "SELECT updated_at FROM prototype_notes WHERE id = ?", n2040["id"])[0]
            self.assertLess(updated, now_ms() + DAY_MS, "a record created offline in 2040 is not stamped 2040")
            hlcs = [r[0] >> 16 for r in rows(hub.db(), "SELECT hlc FROM change_log WHERE origin = 'node-b'")]
            self.assertLess(max(hlcs), now_ms() + 60_000, "no change from node-b stamped in the future")
            # A later real edit at the hub wins.
            later.patch("prototype-notes", note["id"], B, {"title": "Corrigé au hub"})
            wait_for(lambda: rows(n.db(), "SELECT title FROM prototype_notes WHERE id = ?", note["id"])
                     == [("Corrigé au hub",)], what="the hub's edit reaches the box")
            # The clock is fixed (restart without faketime): the box's own later edit wins.
            n.process.stop()
            n.start(env=dict(os.environ))
            s, body = n.api.call("PATCH", f"/api/v1/prototype-notes/{note['id']}", {"title": "Heure juste"})
            self.assertEqual(s, 200, body)
            wait_for(lambda: rows(hub.db(), "SELECT title FROM prototype_notes WHERE id = ?", note["id"])
                     == [("Heure juste",)], what="the box's later edit at the hub")
            self.assertRealTime(hub, "prototype_notes", note["id"])



# --- (d) enrolment: the command the hub prints, root, and the errors a technician meets --------

NOBODY = 65534  # Debian's nobody:nogroup


def enrol(hub_url, code, data_dir, *extra, env=None, prefix=(), pin=None):
    """`terril-node enrol` as the hub prints it: with `--fingerprint pin` unless `extra` has one."""
    if pin and "--fingerprint" not in extra:
        extra = ("--fingerprint", pin, *extra)
    return run([*prefix, NODE_BIN, "enrol", "--hub", hub_url, "--code", code, "--data-dir", data_dir,
                "--config", "/dev/null", *extra], check=False, env=env)


class TlsRelay:
    """A man in the middle on the printed URL: terminates TLS with a certificate of its own
    and pipes the bytes to the real hub (what ARP spoofing on a shared Wi-Fi gives an
    attacker). `client_bytes` counts what the box sent it after the TLS handshake."""

    def __init__(self, hub_port, folder):
        import threading
        key, cert = os.path.join(folder, "relay.key"), os.path.join(folder, "relay.pem")
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=relay"])
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.hub_port = hub_port
        self.client_bytes = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        import threading
        while True:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            try:
                box = self.ctx.wrap_socket(raw, server_side=True)
            except (ssl.SSLError, OSError):
                raw.close()  # the box refused our certificate
                continue
            up = ssl.create_default_context()
            up.check_hostname, up.verify_mode = False, ssl.CERT_NONE
            hub = up.wrap_socket(socket.create_connection(("127.0.0.1", self.hub_port)))

            def pipe(src, dst, count):
                try:
                    while (data := src.recv(65536)):
                        if count:
                            self.client_bytes += len(data)
                        dst.sendall(data)
                except OSError:
                    pass
                for s in (src, dst):
                    with contextlib.suppress(OSError):
                        s.close()
            threading.Thread(target=pipe, args=(box, hub, True), daemon=True).start()
            threading.Thread(target=pipe, args=(hub, box, False), daemon=True).start()

    def close(self):
        self.sock.close()


@contextlib.contextmanager
def socket_on_loopback():
    """A loopback port that is bound but not listening: connections to it are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def owners(folder):
    """{path: (uid, gid)} of the folder and everything in it."""
    out = {folder: os.stat(folder)[stat.ST_UID:stat.ST_GID + 1]}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            out[path] = (st.st_uid, st.st_gid)
    return out


class EnrolTest(unittest.TestCase):
    """`terril-node enrol` as a technician meets it: the command printed by the hub, run with or without
    `sudo -u terril-node`, and each error explained in French and English (tests/README.md lists them)."""

    @classmethod
    def setUpClass(cls):
        cls.cl = Cluster()
        cls.hub = cls.cl.hub.start()

    @classmethod
    def tearDownClass(cls):
        cls.cl.__exit__(None, None, None)

    def folder(self, name):
        return os.path.join(self.cl.root, name)

    def code(self, node_id, centre=A):
        return self.hub.add_node(node_id, centre)["code"]

    def assertExplained(self, p, folder, fr, en):
        """A failed enrolment that says what happened in both languages and wrote no credentials."""
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn("Échec de l'enrôlement : " + fr, p.stderr)
        self.assertRegex(p.stderr, r"\nEnrolment failed: .*" + re.escape(en))
        self.assertFalse(os.path.exists(os.path.join(folder, "credentials.toml")), folder)

    def test_the_hub_prints_the_command_for_the_service_user(self):
        out = self.hub.cli("node", "add", "printed-box", "--centre", A).stdout
        code = re.search(r"^One-time enrolment code: (\S+)", out, re.M).group(1)
        self.assertRegex(out, r"(?m)^  sudo -u terril-node terril-node enrol --hub wss://\S+ --code " +
                         re.escape(code) + " --fingerprint " + re.escape(self.hub.fingerprint) + "$")
        self.assertNotRegex(out, r"(?m)^  sudo terril-node")

    def test_enrol_as_root_gives_the_files_to_the_data_folders_owner(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        box = tempfile.mkdtemp(prefix="terril-box-")  # in /tmp: nobody can reach it
        self.addCleanup(shutil.rmtree, box, ignore_errors=True)
        os.chown(box, NOBODY, NOBODY)
        p = enrol(self.hub.url, self.code("root-box"), box, pin=self.hub.fingerprint)  # what `sudo terril-node enrol` runs
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("sudo systemctl enable --now terril-node", p.stdout)
        files = owners(box)
        self.assertIn(os.path.join(box, "credentials.toml"), files)
        self.assertIn(os.path.join(box, "node.db"), files)
        self.assertEqual({k: v for k, v in files.items() if v != (NOBODY, NOBODY)}, {},
                         "all owned by the folder's owner")
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(box, "credentials.toml")).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(box).st_mode), 0o700)
        # The folder's owner (the service user, here nobody) can use them.
        as_nobody = ["setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups", "--"]
        run([*as_nobody, NODE_BIN, "passwd", "--data-dir", box, "--config", "/dev/null"], stdin=STAFF_PASSWORD + "\n")
        st = json.loads(run([*as_nobody, NODE_BIN, "status", "--json", "--data-dir", box,
                             "--config", "/dev/null"]).stdout)
        self.assertEqual(st["node_id"], "root-box")

    def test_L4_a_symlink_planted_in_the_data_folder_is_not_followed_by_enrol_passwd_as_root(self):
        """Security review L4: the service user owns the data folder and may plant links in it for the
        next command run as root; none is followed (its target keeps its content, mode and owner)."""
        if os.geteuid() != 0:
            self.skipTest("needs root")
        box = tempfile.mkdtemp(prefix="terril-box-")
        victims = tempfile.mkdtemp(prefix="terril-victims-")  # root's, like /etc
        for d in (box, victims):
            self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        os.chown(box, NOBODY, NOBODY)
        paths = {}
        for name in ("wal", "shm", "password", "credentials", "inner/file"):
            path = paths[name] = os.path.join(victims, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write("root's own file\n")
            os.chmod(path, 0o644)

        def snapshot():
            out = {}
            for dirpath, dirnames, filenames in os.walk(victims):
                for name in dirnames + filenames + ["."]:
                    path = os.path.join(dirpath, name)
                    st = os.lstat(path)
                    content = pathlib.Path(path).read_text() if stat.S_ISREG(st.st_mode) else None
                    out[path] = (content, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
            return out

        def plant(name, target):
            link = os.path.join(box, name)
            os.symlink(target, link)
            os.lchown(link, NOBODY, NOBODY)
            return link

        before = snapshot()
        wal = plant("node.db-wal", paths["wal"])
        shm = plant("node.db-shm", paths["shm"])
        p = enrol(self.hub.url, self.code("l4-box"), box, pin=self.hub.fingerprint)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn("refusing to open " + wal + ": it is a symbolic link", p.stderr)
        self.assertEqual(snapshot(), before)
        # Without them, enrol works; the walk that gives the folder to its owner changes the links
        # themselves, never a target, and does not go into a linked folder.
        os.remove(wal)
        os.remove(shm)
        plant("backups", os.path.join(victims, "inner"))
        plant("stray", paths["credentials"])
        p = enrol(self.hub.url, self.code("l4-box-2"), box, pin=self.hub.fingerprint)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(snapshot(), before)
        self.assertEqual({k: v for k, v in owners(box).items() if v != (NOBODY, NOBODY)}, {})
        # `sudo terril-node passwd` with a planted temporary file: the link is replaced, not written through.
        plant("staff.password.tmp", paths["password"])
        run([NODE_BIN, "passwd", "--data-dir", box, "--config", "/dev/null"], stdin=STAFF_PASSWORD + "\n")
        self.assertEqual(snapshot(), before)
        staff = os.path.join(box, "staff.password")
        self.assertFalse(os.path.islink(staff))
        self.assertEqual(stat.S_IMODE(os.lstat(staff).st_mode), 0o600)
        self.assertTrue(pathlib.Path(staff).read_text().startswith("$argon2id$"))
        self.assertFalse(os.path.lexists(staff + ".tmp"))

    def test_enrol_as_root_into_the_service_users_missing_folder_is_refused_and_keeps_the_code(self):
        if os.geteuid() != 0:
            self.skipTest("needs root (useradd)")
        try:
            pwd.getpwnam("terril-node")
            self.skipTest("a terril-node user exists (package installed): its folder is left alone")
        except KeyError:
            pass
        home = self.folder("var-lib-terril-node")
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", home,
                        "--shell", "/usr/sbin/nologin", "terril-node"], check=True)
        self.addCleanup(subprocess.run, ["groupdel", "terril-node"], capture_output=True)
        self.addCleanup(subprocess.run, ["userdel", "terril-node"], capture_output=True)
        code = self.code("svc-box")
        p = enrol(self.hub.url, code, home, pin=self.hub.fingerprint)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("ne le lancez pas en root", p.stderr)
        self.assertIn("do not run it as root", p.stderr)
        self.assertEqual(p.stderr.count("  sudo -u terril-node terril-node enrol --hub URL --code CODE --fingerprint FP\n"), 2)
        self.assertFalse(os.path.exists(home), "nothing written")
        # A root-owned folder of root's choosing: enrolled, with a warning.
        other = self.folder("root-chose-this")
        p = enrol(self.hub.url, self.code("svc-box-2"), other, pin=self.hub.fingerprint)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("Warning: files written by root in " + other, p.stderr)
        self.assertIn("Attention : fichiers écrits par root", p.stderr)
        # The refused code still works, once the package's folder is back.
        os.makedirs(home, mode=0o700)
        svc = pwd.getpwnam("terril-node")
        os.chown(home, svc.pw_uid, svc.pw_gid)
        p = enrol(self.hub.url, code, home, pin=self.hub.fingerprint)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(set(owners(home).values()), {(svc.pw_uid, svc.pw_gid)})

    def test_H2_a_relay_with_another_certificate_is_refused_and_the_code_survives(self):
        """The command exactly as printed, but the box's link goes through a TLS relay with
        another certificate (the code itself is valid): refused on the certificate, before
        the code is sent; the same command on the real hub then enrols."""
        box = self.folder("box-mitm")
        added = self.hub.add_node("mitm-box", A)
        cmd = added["command"].split() if "command" in added else None
        self.assertIsNotNone(cmd, "node add --json prints the command")
        self.assertIn("--fingerprint", cmd)
        relay = TlsRelay(self.hub.port, self.cl.root)
        self.addCleanup(relay.close)
        p = enrol(f"wss://127.0.0.1:{relay.port}", added["code"], box, "--fingerprint",
                  cmd[cmd.index("--fingerprint") + 1])
        self.assertExplained(p, box, "Le certificat du hub ne correspond pas", "fingerprint")
        self.assertEqual(relay.client_bytes, 0, "the box sent nothing through the relay")
        # Without the fingerprint the box refuses to enrol over wss:// at all.
        p = enrol(f"wss://127.0.0.1:{relay.port}", added["code"], box)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("il manque l'empreinte du certificat du hub", p.stderr)
        self.assertIn("the hub's certificate fingerprint is missing", p.stderr)
        self.assertEqual(relay.client_bytes, 0)
        p = enrol(self.hub.url, added["code"], box, "--fingerprint", cmd[cmd.index("--fingerprint") + 1])
        self.assertEqual(p.returncode, 0, p.stderr)
        listed = {n["node_id"]: n for n in json.loads(self.hub.cli("node", "list", "--json").stdout)}
        self.assertEqual(listed["mitm-box"]["state"], "active", "the first Hello spent the code")
        p = enrol(self.hub.url, added["code"], self.folder("box-mitm-replay"), pin=self.hub.fingerprint)
        self.assertExplained(p, self.folder("box-mitm-replay"), "Code d'enrôlement refusé", "unknown or already used")

    def test_wrong_used_and_expired_codes(self):
        box = self.folder("box-codes")
        p = enrol(self.hub.url, "ZZZZ-ZZZZ-ZZZZ", box, pin=self.hub.fingerprint)
        self.assertExplained(p, box, "Code d'enrôlement refusé (inconnu ou déjà utilisé)", "unknown or already used")
        code = self.code("used-box")
        self.assertEqual(enrol(self.hub.url, code, self.folder("box-first"), pin=self.hub.fingerprint).returncode, 0)
        p = enrol(self.hub.url, code, box, pin=self.hub.fingerprint)
        self.assertExplained(p, box, "Code d'enrôlement refusé (inconnu ou déjà utilisé)", "unknown or already used")
        if not FAKETIME_LIB:
            self.skipTest("libfaketime not installed: the expired code is not checked")
        month_ago = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(time.time() - 30 * 86400))
        old = json.loads(run([HUB_BIN, "node", "add", "late-box", "--centre", A, "--json", "--data-dir", self.hub.dir,
                              "--config", "/dev/null"], env=fake_clock(month_ago)).stdout)
        p = enrol(self.hub.url, old["code"], box, pin=self.hub.fingerprint)
        self.assertExplained(p, box, "Ce code d'enrôlement a expiré", "expired")

    def test_hub_unreachable_and_plain_ws(self):
        box = self.folder("box-unreachable")
        with socket_on_loopback() as port:  # a port nobody answers on
            p = enrol(f"wss://127.0.0.1:{port}", "ABCD-EFGH-JKMN", box, pin=self.hub.fingerprint)
        self.assertExplained(p, box, "Le hub wss://127.0.0.1:", "")
        self.assertIn("est injoignable", p.stderr)
        p = enrol(f"ws://127.0.0.1:{self.hub.port}", "ABCD-EFGH-JKMN", box)
        self.assertExplained(p, box, "Adresse du hub invalide", "refusing plain ws://")

    def test_certificate_mismatch(self):
        box = self.folder("box-pin")
        code = self.code("pin-box")
        wrong = ":".join(["AB"] * 32)
        p = enrol(self.hub.url, code, box, "--fingerprint", wrong, pin=self.hub.fingerprint)
        self.assertExplained(p, box, "Le certificat du hub ne correspond pas", "fingerprint")
        # The right pin enrols (the code was not spent on the wrong hub).
        p = enrol(self.hub.url, code, box, "--fingerprint", self.cl.hub.fingerprint, pin=self.hub.fingerprint)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = enrol(self.hub.url, self.code("pin-box-2"), box, pin=self.hub.fingerprint)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("ce boîtier est déjà enrôlé comme pin-box / this box is already enrolled as pin-box",
                      p.stderr)

    @unittest.skipIf(os.environ.get("TERRIL_EMULATED"), "faketime cannot reach a binary run under qemu")
    def test_clock_far_off_is_explained(self):
        if not FAKETIME_LIB:
            self.skipTest("libfaketime not installed (apt-get install faketime)")
        for when, fr, en in (("2040-06-01 12:00:00", "en avance", "ahead of the hub's"),
                             ("1970-01-02 00:00:00", "en retard", "behind the hub's")):
            box = self.folder("box-clock-" + when[:4])
            p = enrol(self.hub.url, self.code("clock-box-" + when[:4]), box, env=fake_clock(when), pin=self.hub.fingerprint)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertRegex(p.stdout,
                             r"Attention : l'horloge de ce boîtier est " + fr + r" de \d{4,} jours sur celle du hub")
            self.assertRegex(p.stdout, r"Note: this box's clock is \d{4,} days " + re.escape(en))
            self.assertIn("timedatectl set-ntp true", p.stdout)

    def test_no_space_left(self):
        if os.geteuid() != 0:
            self.skipTest("needs root (mounts a 4 MiB tmpfs)")
        sd = self.folder("small-sd-card")
        os.makedirs(sd)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", sd], capture_output=True).returncode:
            self.skipTest("cannot mount a tmpfs here")
        self.addCleanup(subprocess.run, ["umount", "-l", sd], capture_output=True)
        box = os.path.join(sd, "terril-node")
        code = self.code("full-box")
        p = enrol(self.hub.url, code, box, pin=self.hub.fingerprint)
        self.assertExplained(p, box, "Plus d'espace disque", "less than 16 MiB free")
        # Checked before the hub is asked: the code still works elsewhere.
        self.assertEqual(enrol(self.hub.url, code, self.folder("box-roomy"), pin=self.hub.fingerprint).returncode, 0)


# --- (a) packages ------------------------------------------------------------------------------------

def dpkg(*args, env=None, check=True):
    """dpkg, waiting while another process (apt of a colleague) holds its lock."""
    deadline = time.time() + 300
    while True:
        p = subprocess.run(["dpkg", *args], capture_output=True, text=True, env=env, timeout=300)
        locked = "lock" in p.stderr and ("dpkg frontend" in p.stderr or "locked" in p.stderr)
        if not locked or time.time() > deadline:
            break
        time.sleep(2)
    if check and p.returncode != 0:
        raise AssertionError(f"dpkg {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def installed(pkg):
    p = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}", pkg], capture_output=True, text=True)
    return p.returncode == 0 and p.stdout.strip() not in ("", "un", "pn")


def as_user(user, *cmd):
    """The command run as `user` (setpriv execs: signals reach the daemon itself)."""
    return ["setpriv", "--reuid", user, "--regid", user, "--init-groups", "--", *cmd]


def pids_of_user(user):
    uid = pwd.getpwnam(user).pw_uid
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.stat(f"/proc/{d}").st_uid == uid:
                    out.append(int(d))
            except FileNotFoundError:
                pass
    return out


# Commands a maintainer script must never run on install: they start or enable the service
# (try-restart, on upgrade, only restarts a service already running). Comments and echo'd
# instructions for the technician do not count.
STARTERS = re.compile(r"^(?!\s*(#|echo\b))[^\n]*\b(systemctl|deb-systemd-invoke|deb-systemd-helper|service|"
                      r"invoke-rc\.d)\b[^\n]*(?<![-\w])(start|enable|restart|reload-or-restart)\b", re.M)


class PackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            reason = "PackageTest needs root (dpkg -i, system users); run the suite as root to check the packages"
            print("\n" + reason, file=sys.stderr)
            raise unittest.SkipTest(reason)
        deb_dir = os.environ.get("TERRIL_DEB_DIR")
        if not deb_dir:
            # Package the build under test (its binaries, already built: seconds, not a second
            # build). scripts/package.sh makes the release packages (a TERRIL_SLIM build, -O2 and
            # section GC); test those with TERRIL_DEB_DIR=dist. Both go through the same CPack rules.
            cls.deb_tmp = tempfile.mkdtemp(prefix="terril-debs-")
            deb_dir = cls.deb_tmp
            package_build(deb_dir)
            print("(TERRIL_DEB_DIR=DIR tests other packages, e.g. dist/ from scripts/package.sh amd64)",
                  file=sys.stderr)
        cls.debs = debs_in(deb_dir)
        for pkg in PACKAGES:
            if installed(pkg):
                print(f"\npurging a {pkg} left installed by an earlier run", file=sys.stderr)
                dpkg("--purge", pkg)

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "deb_tmp", None):
            shutil.rmtree(cls.deb_tmp, ignore_errors=True)

    def setUp(self):
        self.cwd = os.getcwd()
        self.tmp = tempfile.mkdtemp(prefix="terril-pkg-")
        self.procs = []
        # Stand-ins for the service managers: they log every call, so we see whether a
        # maintainer script tried to start something (there is no systemd here).
        # deb-systemd-helper only manages enable links and its state files: the real one
        # runs after the log line, so its answers (debian-installed, was-enabled) are true.
        self.trap_dir = os.path.join(self.tmp, "trap")
        self.trap_log = os.path.join(self.tmp, "trap.log")
        os.makedirs(self.trap_dir)
        for cmd in ("systemctl", "deb-systemd-invoke", "deb-systemd-helper", "service", "invoke-rc.d"):
            path = os.path.join(self.trap_dir, cmd)
            then = 'exec /usr/bin/deb-systemd-helper "$@"' if cmd == "deb-systemd-helper" else "exit 0"
            with open(path, "w") as f:
                f.write(f'#!/bin/sh\necho "{cmd} $*" >> {self.trap_log}\n{then}\n')
            os.chmod(path, 0o755)
        self.env = dict(os.environ, PATH=self.trap_dir + ":" + os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"))

    def tearDown(self):
        for p in self.procs:
            p.stop()
        for pkg in PACKAGES:
            if installed(pkg):
                dpkg("--purge", pkg, check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)
        os.chdir(self.cwd)

    def assertOwnerMode(self, path, user, mode):
        st = os.stat(path)
        self.assertEqual((pwd.getpwuid(st.st_uid).pw_name, stat.S_IMODE(st.st_mode)), (user, mode),
                         f"{path}: owner and mode")

    @staticmethod
    def host_pids_of_user(user):
        """pids_of_user, without processes chrooted elsewhere (another test's Debian root on this
        machine may run its own daemons under the same uid; ours would run in /)."""
        out = []
        for pid in pids_of_user(user):
            try:
                if os.readlink(f"/proc/{pid}/root") == "/":
                    out.append(pid)
            except (FileNotFoundError, ProcessLookupError):
                pass
        return out

    def trap_calls(self):
        if not os.path.exists(self.trap_log):
            return ""
        with open(self.trap_log) as f:
            return f.read()

    def test_install_walk_the_guide_remove_and_purge(self):
        # The maintainer scripts never start or enable a service. The one enable there is
        # debhelper's --no-enable snippet: it re-creates the links of a unit the admin had
        # enabled (was-enabled), after an upgrade; never at a first install (checked below).
        for pkg, deb in self.debs.items():
            ctl = os.path.join(self.tmp, pkg + "-control")
            subprocess.run(["dpkg-deb", "-e", deb, ctl], check=True)
            for script in ("postinst", "prerm", "postrm"):
                with open(os.path.join(ctl, script)) as f:
                    text = f.read()
                if script == "postinst":
                    self.assertRegex(text, r'if deb-systemd-helper --quiet was-enabled "\$unit"; then\n'
                                           r'\s*# Create new symlinks, if any.\n'
                                           r'\s*deb-systemd-helper enable "\$unit" >/dev/null \|\| true\n')
                    text = text.replace('deb-systemd-helper enable "$unit"', "")
                self.assertIsNone(STARTERS.search(text), f"{pkg} {script}")
                self.assertNotRegex(text, r"(?m)^\s*systemctl (?!--system daemon-reload)", f"{pkg} {script}")
            with open(os.path.join(ctl, "conffiles")) as f:
                conffiles = f.read().split()
            self.assertEqual(conffiles,
                             [f"/etc/terril/{pkg.split('-')[1]}.toml"])
            fields = subprocess.run(["dpkg-deb", "-f", deb, "Architecture", "Depends"], capture_output=True,
                                    text=True, check=True).stdout
            self.assertIn("Architecture: amd64", fields)
            for lib in ("libc6", "libsqlite3-0", "libssl3", "libstdc++6"):  # from dpkg-shlibdeps
                self.assertIn(lib, fields, pkg)

        out = dpkg("-i", self.debs["terril-node"], self.debs["terril-hub"], env=self.env).stdout
        self.assertIn("not started", out)
        print("\n" + out.strip())

        for pkg, comp in (("terril-node", "node"), ("terril-hub", "hub")):
            binary = f"/usr/bin/{pkg}"
            self.assertOwnerMode(binary, "root", 0o755)
            with open(binary, "rb") as f:
                self.assertNotIn(b".symtab", f.read(), f"{binary} is stripped")
            self.assertOwnerMode(f"/usr/lib/systemd/system/{pkg}.service", "root", 0o644)
            self.assertOwnerMode(f"/etc/terril/{comp}.toml", "root", 0o644)
            self.assertOwnerMode(f"/usr/share/doc/{pkg}/README.md", "root", 0o644)
            for doc in (f"/usr/share/doc/{pkg}/copyright", f"/usr/share/doc/{pkg}/changelog.gz",
                        f"/usr/share/man/man8/{pkg}.8.gz", f"/usr/share/lintian/overrides/{pkg}"):
                self.assertOwnerMode(doc, "root", 0o644)
            user = pwd.getpwnam(pkg)
            self.assertLess(user.pw_uid, 1000, "a system user")
            self.assertEqual((user.pw_dir, user.pw_shell), (f"/var/lib/{pkg}", "/usr/sbin/nologin"))
            self.assertEqual(grp.getgrgid(user.pw_gid).gr_name, pkg)
            self.assertOwnerMode(f"/var/lib/{pkg}", pkg, 0o700)
            conffiles = subprocess.run(["dpkg-query", "-W", "-f=${Conffiles}", pkg], capture_output=True,
                                       text=True).stdout
            self.assertIn(f"/etc/terril/{comp}.toml", conffiles)
            version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True,
                                     text=True).stdout.strip()
            self.assertTrue(version)
            self.assertIn(version, run([binary, "--version"]).stdout)
            help_ = run([binary, "--help"])
            self.assertIn("enrol" if comp == "node" else "init", help_.stdout)
            # Nothing started: no call to a service manager asked to start, no enable
            # symlink, no process of the service user.
            self.assertFalse(os.path.exists(f"/etc/systemd/system/multi-user.target.wants/{pkg}.service"))
            self.assertEqual(self.host_pids_of_user(pkg), [])
        self.assertIsNone(STARTERS.search(self.trap_calls()), self.trap_calls())
        # deb-systemd-helper recorded the enable links (so a purge removes them), made none.
        for unit in ("terril-node.service", "terril-hub.service", "terril-hub-backup.timer"):
            self.assertIn(f"deb-systemd-helper update-state {unit}\n", self.trap_calls())
        self.assertEqual(glob.glob("/etc/systemd/system/*/terril-*"), [])
        self.assertTrue(os.path.exists("/usr/share/doc/terril-node/install-raspberry-pi.md"))

        # The guide, with the installed binaries, default paths and packaged configs,
        # run as the service users (ports: ephemeral, on loopback).
        os.chdir("/")
        init = run(as_user("terril-hub", "terril-hub", "init", "--password-stdin"), stdin=ADMIN_PASSWORD + "\n")
        fingerprint = [l.split()[-1] for l in init.stdout.splitlines() if "fingerprint" in l][0]
        hub = Process(as_user("terril-hub", "/usr/bin/terril-hub", "serve", "--config", "/etc/terril/hub.toml",
                              "--listen", "127.0.0.1:0"), os.path.join(self.tmp, "hub.log")).start()
        self.procs.append(hub)
        add = json.loads(run(as_user("terril-hub", "terril-hub", "node", "add", "pi-test", "--centre", A,
                                     "--json")).stdout)
        enrol = run(as_user("terril-node", "terril-node", "enrol", "--hub", f"wss://127.0.0.1:{hub.port}",
                            "--code", add["code"], "--fingerprint", fingerprint))
        self.assertIn("Enrolled: node pi-test", enrol.stdout)
        self.assertIn("systemctl enable --now terril-node", enrol.stdout)
        run(as_user("terril-node", "terril-node", "passwd"), stdin=STAFF_PASSWORD + "\n")
        # What `systemctl enable --now terril-node` runs (ExecStart), on another port.
        node = Process(as_user("terril-node", "/usr/bin/terril-node", "serve", "--config", "/etc/terril/node.toml",
                               "--listen", "127.0.0.1:0"), os.path.join(self.tmp, "node.log")).start()
        self.procs.append(node)
        api = Api(f"http://127.0.0.1:{node.port}", STAFF_PASSWORD)
        wait_for(lambda: api.call("GET", "/api/v1/status")[1].get("connected"), what="installed node synced")
        s, ev = api.call("POST", "/api/v1/events", event_body())
        self.assertEqual(s, 201, ev)
        wait_for(lambda: api.call("GET", "/api/v1/status")[1].get("pending") == 0, what="event synced")
        doctor = run(as_user("terril-node", "terril-node", "doctor"), check=False)
        self.assertEqual(doctor.returncode, 0, doctor.stdout + doctor.stderr)
        self.assertIn("Everything looks fine.", doctor.stdout)
        for pkg in PACKAGES:
            for dirpath, dirnames, filenames in os.walk(f"/var/lib/{pkg}"):
                for name in dirnames + filenames:
                    path = os.path.join(dirpath, name)
                    st = os.stat(path)
                    self.assertEqual(pwd.getpwuid(st.st_uid).pw_name, pkg, path)
                    if not name.endswith("-cert.pem"):  # the hub's certificate is public; its folder is not
                        self.assertEqual(stat.S_IMODE(st.st_mode) & 0o077, 0, f"{path} is private")
        self.assertOwnerMode("/var/lib/terril-node/credentials.toml", "terril-node", 0o600)
        node.stop()
        hub.stop()

        # remove: binaries go, data, users and configs stay.
        dpkg("-r", "terril-node", "terril-hub", env=self.env)
        self.assertFalse(os.path.exists("/usr/bin/terril-node"))
        self.assertTrue(os.path.exists("/var/lib/terril-node/node.db"))
        self.assertTrue(os.path.exists("/etc/terril/node.toml"))
        pwd.getpwnam("terril-node")
        # purge: nothing left.
        dpkg("--purge", "terril-node", "terril-hub", env=self.env)
        for pkg in PACKAGES:
            self.assertFalse(installed(pkg), pkg)
            with self.assertRaises(KeyError):
                pwd.getpwnam(pkg)
            with self.assertRaises(KeyError):
                grp.getgrnam(pkg)
        self.assertIn("deb-systemd-helper purge terril-node.service\n", self.trap_calls())
        self.assertIn("deb-systemd-helper purge terril-hub.service terril-hub-backup.timer\n", self.trap_calls())
        leftovers = [p for pattern in ("/var/lib/terril-*", "/etc/terril", "/usr/share/doc/terril-*",
                                       "/usr/lib/systemd/system/terril-*", "/usr/bin/terril-*",
                                       "/etc/systemd/system/*/terril-*", "/usr/share/man/man8/terril-*",
                                       "/usr/share/lintian/overrides/terril-*",
                                       "/var/lib/systemd/deb-systemd-helper-*/**/terril-*")
                     for p in glob.glob(pattern, recursive=True)]
        self.assertEqual(leftovers, [])
        self.assertIsNone(STARTERS.search(self.trap_calls()), self.trap_calls())


if __name__ == "__main__":
    unittest.main()
