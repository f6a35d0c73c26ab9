"""Hub backups and restore (issue 12, item 5), with real processes and files.

A real terril-hub serves one real node whose staff keep registering people
through its API. Meanwhile `terril-hub backup` must write a consistent copy
(mode 0600, nothing left beside it), `terril-hub restore` must refuse the
serving hub's folder, a corrupted file and an existing database, and a
restore into a new folder must give a hub that serves with the same TLS
certificate (the nodes pin its fingerprint), the same admin password and the
same records as the backup.

Run: TERRIL_BUILD=build python3 -m unittest -v tests/integration/test_backup.py
"""

import hashlib
import json
import os
import sqlite3
import ssl
import stat
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ADMIN_PASSWORD, HUB_BIN, Api, Cluster, Process, event_body, registration_body,  # noqa: E402
                     rows, run, wait_for)

CENTRE = "valenciennes-beaujardin"


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def ro(path):
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)


def served_fingerprint(port):
    """SHA-256 of the certificate the server presents, as `terril-hub init` prints it."""
    der = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", port)))
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def no_verify_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class BackupTest(unittest.TestCase):
    def setUp(self):
        self.cl = Cluster()
        self.cl.hub.start()
        self.node = self.cl.add_node("node-beaujardin", CENTRE)
        self.event = self.node.create("events", event_body(capacity=100000))
        self.stop = threading.Event()
        self.errors = []
        self.writer = threading.Thread(target=self.write_forever, daemon=True)
        self.writer.start()
        self.hub_regs = lambda: rows(self.cl.hub.db(), "SELECT count(*) FROM registrations")[0][0]
        wait_for(lambda: self.hub_regs() >= 10, timeout=60, what="registrations at the hub")

    def tearDown(self):
        self.stop.set()
        self.writer.join(timeout=30)
        self.cl.__exit__(None, None, None)

    def write_forever(self):
        i = 0
        while not self.stop.is_set():
            i += 1
            try:
                self.node.create("registrations", registration_body(self.event["id"], first=f"Personne{i}"))
            except AssertionError as e:  # reported by the test, not lost in the thread
                self.errors.append(str(e))
                return

    def hub_cli(self, *args, data_dir=None, check=False):
        return run([HUB_BIN, *args, "--data-dir", data_dir or self.cl.hub.dir, "--config", "/dev/null"],
                   check=check)

    def test_backup_while_serving_then_restore_into_a_new_folder(self):
        backups = os.path.join(self.cl.root, "backups")
        os.mkdir(backups, 0o755)
        before = {r[0] for r in rows(self.cl.hub.db(), "SELECT id FROM registrations")}

        out = self.hub_cli("backup", "--to", backups + "/", "--json", check=True)
        report = json.loads(out.stdout)
        path = report["file"]
        self.assertEqual(os.listdir(backups), [os.path.basename(path)], "nothing but the backup is left there")
        self.assertEqual(mode(path), 0o600)
        self.assertEqual(report["bytes"], os.path.getsize(path))
        self.assertGreaterEqual(report["ms"], 0)
        self.assertEqual(sorted(report["files"]), ["admin.password", "tls/hub-cert.pem", "tls/hub-key.pem"])
        in_backup = {r[0] for r in rows(ro(path), "SELECT id FROM registrations")}
        self.assertTrue(before <= in_backup, "every registration the hub held before the backup is in it")
        self.assertEqual(rows(ro(path), "PRAGMA integrity_check"), [("ok",)])
        total = sum(rows(ro(path), f"SELECT count(*) FROM {t}")[0][0]
                    for t in ("centres", "events", "registrations", "prototype_notes"))
        self.assertEqual(report["records"], total)
        wait_for(lambda: self.hub_regs() > len(in_backup), timeout=60, what="writes going on after the backup")

        # The serving hub's folder: refused, and nothing touched.
        p = self.hub_cli("restore", "--from", path, "--force")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("is serving", p.stderr)
        self.assertFalse([f for f in os.listdir(self.cl.hub.dir) if "before-restore" in f])
        self.assertTrue(self.cl.hub.process.alive())

        # A corrupted copy: refused before anything is written.
        bad = os.path.join(self.cl.root, "bad.backup")
        with open(path, "rb") as f:
            data = bytearray(f.read())
        data[8192 + 8:8192 + 2008] = b"\x5a" * 2000
        with open(bad, "wb") as f:
            f.write(bytes(data))
        fresh = os.path.join(self.cl.root, "restored")
        p = self.hub_cli("restore", "--from", bad, data_dir=fresh)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("restore refused", p.stderr)
        self.assertFalse(os.path.exists(fresh))

        # Into a new folder: private files, no stale WAL, the next steps told.
        p = self.hub_cli("restore", "--from", path, data_dir=fresh, check=True)
        self.assertIn("heals with them by itself", p.stdout)
        self.assertEqual(mode(fresh), 0o700)
        for name in ("hub.db", "admin.password", "tls/hub-cert.pem", "tls/hub-key.pem"):
            self.assertEqual(mode(os.path.join(fresh, name)), 0o600, name)
        self.assertFalse(os.path.exists(os.path.join(fresh, "hub.db-wal")))
        self.assertEqual(rows(ro(os.path.join(fresh, "hub.db")),
                              "SELECT count(*) FROM sqlite_schema WHERE name = 'backup_files'"), [(0,)])
        p = self.hub_cli("restore", "--from", path, data_dir=fresh)
        self.assertEqual(p.returncode, 1, "an existing hub.db needs --force")
        self.assertIn("--force", p.stderr)

        # It serves with the same certificate, password and records.
        restored = Process([HUB_BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", fresh, "--config",
                            "/dev/null"], os.path.join(self.cl.root, "restored-hub.log")).start()
        try:
            self.assertEqual(served_fingerprint(restored.port), self.cl.hub.fingerprint)
            api = Api(f"https://127.0.0.1:{restored.port}", ADMIN_PASSWORD, context=no_verify_context())
            ids, after = set(), None
            while True:
                s, page = api.call("GET", "/api/v1/registrations?limit=1000" + (f"&after={after}" if after else ""))
                self.assertEqual(s, 200, page)
                ids |= {r["id"] for r in page["items"]}
                after = page["next"]
                if not after:
                    break
            self.assertEqual(ids, in_backup)
            # Restore again with --force while it serves: refused; stopped: done, old copy kept aside.
            p = self.hub_cli("restore", "--from", path, "--force", data_dir=fresh)
            self.assertEqual(p.returncode, 1)
        finally:
            restored.stop()
        p = self.hub_cli("restore", "--from", path, "--force", data_dir=fresh, check=True)
        self.assertTrue([f for f in os.listdir(fresh) if f.startswith("hub.db.before-restore-")])
        self.assertEqual(self.errors, [])

    def test_backup_to_a_folder_keeps_the_newest(self):
        backups = os.path.join(self.cl.root, "backups")
        os.mkdir(backups)
        old = [f"terril-hub-2020010{d}T000000.000Z.backup" for d in (1, 2, 3)]
        for name in old + ["notes.txt"]:
            open(os.path.join(backups, name), "w").close()
        out = self.hub_cli("backup", "--to", backups, "--keep", "2", "--json", check=True)
        report = json.loads(out.stdout)
        self.assertEqual(sorted(os.listdir(backups)),
                         sorted([old[2], os.path.basename(report["file"]), "notes.txt"]))
        self.assertEqual(sorted(report["removed"]), sorted(os.path.join(backups, n) for n in old[:2]))
        p = self.hub_cli("backup", "--to", os.path.join(backups, "one.backup"), "--keep", "2")
        self.assertEqual(p.returncode, 1, "--keep needs a folder")
        out = self.hub_cli("backup", "--to", os.path.join(backups, "one.backup"), check=True)
        self.assertIn("Backup written to", out.stdout)
        self.assertEqual(mode(os.path.join(backups, "one.backup")), 0o600)
        self.assertEqual(self.errors, [])


if __name__ == "__main__":
    unittest.main()
