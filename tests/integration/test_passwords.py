"""Every command that sets a password follows the contract's rule: the password
is read from standard input when it is not a terminal (issue 11: `terril-hub
init` with a password piped in used to ignore it and print a random one unless
`--password-stdin` was given; the flag stays, as an alias). Real binaries; the
password is checked by logging in to the running daemon with it.
Run: TERRIL_BUILD=build python3 -m unittest tests/integration/test_passwords.py"""

import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIPED = "mot-de-passe-par-tube-2026"
OTHER = "un-autre-mot-de-passe-2026"


def insecure_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class HubPasswordTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="terril-it-pw-")
        self.dir = os.path.join(self.root, "hub")
        self.process = None

    def tearDown(self):
        if self.process:
            self.process.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def hub(self, *args, stdin=None, check=True):
        return h.run([h.HUB_BIN, *args, "--data-dir", self.dir, "--config", "/dev/null"], stdin=stdin, check=check)

    def hub_devnull(self, *args):
        """A command with standard input at end of file (</dev/null): nothing is piped."""
        return subprocess.run([h.HUB_BIN, *args, "--data-dir", self.dir, "--config", "/dev/null"],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)

    def login_status(self, password):
        """Starts the hub once, then answers the HTTP status of a login with `password`."""
        if self.process is None:
            self.process = h.Process([h.HUB_BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", self.dir,
                                      "--config", "/dev/null"], os.path.join(self.root, "hub.log")).start()
        api = h.Api(f"https://127.0.0.1:{self.process.port}", None, context=insecure_context())
        status, _ = api.call("POST", "/api/v1/login", {"password": password})
        return status

    def test_init_reads_a_piped_password_without_the_flag(self):
        out = self.hub("init", stdin=PIPED + "\n")
        self.assertIn("Hub initialised", out.stdout)
        self.assertNotIn("admin password", out.stdout)  # no random password printed: the piped one is used
        self.assertEqual(self.login_status(PIPED), 200)

    def test_init_without_a_piped_password_prints_a_random_one_and_a_second_init_keeps_it(self):
        out = self.hub_devnull("init")
        self.assertEqual(out.returncode, 0, out.stderr)
        shown = [l.split()[2] for l in out.stdout.splitlines() if "admin password:" in l]
        self.assertEqual(len(shown), 1, out.stdout)
        again = self.hub_devnull("init")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("already initialised", again.stdout)
        self.assertNotIn("admin password", again.stdout)
        self.assertEqual(self.login_status(shown[0]), 200)

    def test_init_again_with_a_piped_password_sets_it(self):
        self.hub("init", stdin=PIPED + "\n")
        self.hub("init", stdin=OTHER + "\n")
        self.assertEqual(self.login_status(OTHER), 200)
        self.assertEqual(self.login_status(PIPED), 401)

    def test_password_stdin_stays_an_alias(self):
        out = self.hub("init", "--password-stdin", stdin=PIPED + "\n")
        self.assertNotIn("admin password", out.stdout)
        self.assertEqual(self.login_status(PIPED), 200)
        # With the flag, nothing on standard input is an error, not a random password.
        shutil.rmtree(self.dir)
        empty = self.hub_devnull("init", "--password-stdin")
        self.assertNotEqual(empty.returncode, 0)
        self.assertIn("no password on standard input", empty.stderr)

    def test_init_refuses_a_piped_password_too_short(self):
        out = self.hub("init", stdin="court\n", check=False)
        self.assertNotEqual(out.returncode, 0)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "admin.password")))

    def test_passwd_reads_a_piped_password(self):
        self.hub("init", stdin=PIPED + "\n")
        self.hub("passwd", stdin=OTHER + "\n")
        self.assertEqual(self.login_status(OTHER), 200)
        self.assertEqual(self.login_status(PIPED), 401)

    def test_l8_a_password_change_ends_other_sessions(self):
        """L8: `terril-hub passwd`, run while the hub serves, logs every session out."""
        self.hub("init", stdin=PIPED + "\n")
        self.login_status(PIPED)  # starts the hub
        base = f"https://127.0.0.1:{self.process.port}"
        admin = h.Api(base, PIPED, context=insecure_context())
        self.assertEqual(admin.call("GET", "/api/v1/status")[0], 200)
        self.hub("passwd", stdin=OTHER + "\n")
        self.assertEqual(admin.call("GET", "/api/v1/status")[0], 401)
        self.assertEqual(h.Api(base, OTHER, context=insecure_context()).call("GET", "/api/v1/status")[0], 200)


class NodePasswordTest(unittest.TestCase):
    def test_l8_a_password_change_ends_other_sessions(self):
        """L8: `terril-node passwd`, run while the node serves, logs every session out."""
        root = tempfile.mkdtemp(prefix="terril-it-pw-")
        box = os.path.join(root, "box")
        node = None
        try:
            args = ["--data-dir", box, "--config", "/dev/null"]
            h.run([h.NODE_BIN, "passwd", *args], stdin=PIPED + "\n")
            node = h.Process([h.NODE_BIN, "serve", *args, "--listen", "127.0.0.1:0"],
                             os.path.join(root, "node.log")).start()
            base = f"http://127.0.0.1:{node.port}"
            staff = h.Api(base, PIPED)
            self.assertEqual(staff.call("GET", "/api/v1/status")[0], 200)
            h.run([h.NODE_BIN, "passwd", *args], stdin=OTHER + "\n")
            self.assertEqual(staff.call("GET", "/api/v1/status")[0], 401)
            self.assertEqual(h.Api(base, OTHER).call("GET", "/api/v1/status")[0], 200)
        finally:
            if node:
                node.stop()
            shutil.rmtree(root, ignore_errors=True)

    def test_node_passwd_reads_a_piped_password(self):
        root = tempfile.mkdtemp(prefix="terril-it-pw-")
        box = os.path.join(root, "box")
        node = None
        try:
            args = ["--data-dir", box, "--config", "/dev/null"]
            h.run([h.NODE_BIN, "passwd", *args], stdin=PIPED + "\n")
            node = h.Process([h.NODE_BIN, "serve", *args, "--listen", "127.0.0.1:0"],
                             os.path.join(root, "node.log")).start()
            api = h.Api(f"http://127.0.0.1:{node.port}", None)
            self.assertEqual(api.call("POST", "/api/v1/login", {"password": OTHER})[0], 401)
            self.assertEqual(api.call("POST", "/api/v1/login", {"password": PIPED})[0], 200)
        finally:
            if node:
                node.stop()
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
