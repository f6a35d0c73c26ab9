"""A box in the field lives through upgrades: the previous release's packages, installed and used,
then upgraded to the packages of this build with dpkg, keep everything (issue 16, item 2).

The previous release is tag v0.1.0, its packages kept as a fixture in tests/fixtures/packages/
(scripts/previous-release.sh rebuilds them; TERRIL_PREVIOUS_DEB_DIR points elsewhere). The
packages under test are this build tree's, made with cpack (as test_technician.PackageTest does).

There is no systemd here (PID 1 is not systemd), so `systemctl` is tests/integration/fake_systemctl.py,
first on PATH: the maintainer scripts' real deb-systemd-invoke/-helper drive it, it runs each unit's
ExecStart as its User= and logs every call, so the test counts the restarts an upgrade made.

Root only (dpkg -i, system users, /usr/bin); it changes the machine, so ctest runs it alone
(RUN_SERIAL) and it purges both packages at the end, whatever happened.
"""
import contextlib
import glob
import json
import os
import shutil
import sqlite3
import ssl
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (ADMIN_PASSWORD, PACKAGES, STAFF_PASSWORD, Api, debs_in, event_body,  # noqa: E402
                     package_build, registration_body, run, wait_for)
from test_technician import as_user, dpkg, installed  # noqa: E402


HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "packages")
SCHEMA_DIR = os.path.join(ROOT, "common", "store", "schema")
CENTRE = "valenciennes-beaujardin"
DB = {"terril-node": "/var/lib/terril-node/node.db", "terril-hub": "/var/lib/terril-hub/hub.db"}
CONF = {"terril-node": "/etc/terril/node.toml", "terril-hub": "/etc/terril/hub.toml"}
WRITES = 40  # registrations made on the previous release


def latest_schema():
    return max(int(os.path.basename(p)[:3]) for p in glob.glob(os.path.join(SCHEMA_DIR, "[0-9][0-9][0-9]_*.sql")))


def user_version(db):
    # Read-only, through the URI so a running daemon's WAL is seen.
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as c:
        return c.execute("PRAGMA user_version").fetchone()[0]


def registration_ids(db):
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as c:
        return {r[0] for r in c.execute("SELECT id FROM registrations WHERE deleted = 0")}


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def package_version(deb):
    return run(["dpkg-deb", "-f", deb, "Version"]).stdout.strip()


class UpgradeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            reason = "UpgradeTest needs root (dpkg -i, system users); run the suite as root to check upgrades"
            print("\n" + reason, file=sys.stderr)
            raise unittest.SkipTest(reason)
        cls.tmp = tempfile.mkdtemp(prefix="terril-upgrade-")
        cls.previous = debs_in(os.environ.get("TERRIL_PREVIOUS_DEB_DIR", FIXTURES))
        cls.current = package_build(os.path.join(cls.tmp, "current"))
        print("previous release: " + ", ".join(os.path.basename(d) for d in cls.previous.values()), file=sys.stderr)
        for pkg in PACKAGES:
            if installed(pkg):
                print(f"purging a {pkg} left installed by an earlier run", file=sys.stderr)
                dpkg("--purge", pkg)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        # systemctl = the fake service manager; /run/systemd/system tells the maintainer scripts
        # and deb-systemd-invoke that systemd runs (made here only if absent, removed after).
        os.chmod(self.tmp, 0o755)  # the services reach $NOTIFY_SOCKET in it
        self.bin = os.path.join(self.tmp, "bin")
        os.makedirs(self.bin, exist_ok=True)
        shim = os.path.join(self.bin, "systemctl")
        if not os.path.exists(shim):
            os.symlink(os.path.join(HERE, "fake_systemctl.py"), shim)
        self.state = os.path.join(self.tmp, "systemd-state")
        self.made_run_systemd = not os.path.isdir("/run/systemd/system")
        os.makedirs("/run/systemd/system", exist_ok=True)
        # A container's policy-rc.d ("exit 101": never start services) would make deb-systemd-invoke
        # skip the restart; a box has none. Set aside for the test, put back after.
        self.policy = "/usr/sbin/policy-rc.d"
        self.policy_aside = os.path.join(self.tmp, "policy-rc.d")
        if os.path.exists(self.policy):
            shutil.move(self.policy, self.policy_aside)
        self.env = dict(os.environ, PATH=self.bin + ":/usr/sbin:/usr/bin:/sbin:/bin", FAKE_SYSTEMD_STATE=self.state,
                        DEBIAN_FRONTEND="noninteractive")

    def tearDown(self):
        for pkg in PACKAGES:
            self.systemctl("stop", pkg, check=False)
        for pkg in PACKAGES:
            if installed(pkg):
                dpkg("--purge", pkg, check=False, env=self.env)
        for pkg in PACKAGES:
            for link in glob.glob(f"/etc/systemd/system/*/{pkg}.service"):
                os.unlink(link)
        if os.path.exists(self.policy_aside):
            shutil.move(self.policy_aside, self.policy)
        if self.made_run_systemd:
            shutil.rmtree("/run/systemd", ignore_errors=True)

    # --- helpers -----------------------------------------------------------------------------------

    def systemctl(self, *args, check=True):
        return run(["systemctl", *args], env=self.env, check=check, timeout=180)

    def calls(self):
        try:
            with open(os.path.join(self.state, "calls.log")) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def pid(self, pkg):
        with open(os.path.join(self.state, f"{pkg}.service.pid")) as f:
            return int(f.read())

    def unit_log(self, pkg):
        with open(os.path.join(self.state, f"{pkg}.service.log"), errors="replace") as f:
            return f.read()

    def install(self, *debs, check=True):
        return dpkg("-i", *debs, env=self.env, check=check)

    def edit_config(self, pkg, settings):
        """What an admin does: uncomment and set some keys in /etc/terril/X.toml."""
        with open(CONF[pkg]) as f:
            text = f.read()
        for key, value in settings.items():
            commented = f"#{key} = "
            line = next(l for l in text.splitlines() if l.startswith(commented))
            text = text.replace(line, f"{key} = {value}  # edited by the admin")
        with open(CONF[pkg], "w") as f:
            f.write(text)
        return text

    # --- the test ----------------------------------------------------------------------------------

    def test_upgrade_keeps_everything_and_a_downgrade_is_refused(self):
        old_version = package_version(self.previous["terril-node"])
        new_version = package_version(self.current["terril-node"])
        result = run(["dpkg", "--compare-versions", new_version, "gt", old_version], check=False)
        self.assertEqual(result.returncode, 0, f"{new_version} must be newer than {old_version}")

        # 1. The previous release, installed and set up as the install guide says.
        self.install(self.previous["terril-hub"], self.previous["terril-node"])
        hub_port, node_port = free_port(), free_port()
        hub_conf = self.edit_config("terril-hub", {"listen": f'"127.0.0.1:{hub_port}"', "log_level": '"debug"'})
        node_conf = self.edit_config("terril-node", {"listen": f'"127.0.0.1:{node_port}"', "log_level": '"debug"'})
        os.chdir("/")
        init = run(as_user("terril-hub", "terril-hub", "init", "--password-stdin"), stdin=ADMIN_PASSWORD + "\n")
        fingerprint = [l.split()[-1] for l in init.stdout.splitlines() if "fingerprint" in l][0]
        self.systemctl("enable", "--now", "terril-hub")
        add = json.loads(run(as_user("terril-hub", "terril-hub", "node", "add", "pi-upgrade", "--centre", CENTRE,
                                     "--json")).stdout)
        run(as_user("terril-node", "terril-node", "enrol", "--hub", f"wss://127.0.0.1:{hub_port}",
                    "--code", add["code"], "--fingerprint", fingerprint))
        run(as_user("terril-node", "terril-node", "passwd"), stdin=STAFF_PASSWORD + "\n")
        self.systemctl("enable", "--now", "terril-node")

        api = Api(f"http://127.0.0.1:{node_port}", STAFF_PASSWORD)
        s, ev = api.call("POST", "/api/v1/events", event_body(capacity=WRITES + 10))
        self.assertEqual(s, 201, ev)
        for i in range(WRITES):
            s, body = api.call("POST", "/api/v1/registrations", registration_body(ev["id"], first=f"Prénom{i}"))
            self.assertEqual(s, 201, body)
        wait_for(lambda: api.call("GET", "/api/v1/status")[1].get("pending") == 0, timeout=60,
                 what="the previous release's node synced")
        before = {pkg: registration_ids(DB[pkg]) for pkg in PACKAGES}
        self.assertEqual(len(before["terril-node"]), WRITES)
        self.assertEqual(before["terril-hub"], before["terril-node"])
        old_schema = {pkg: user_version(DB[pkg]) for pkg in PACKAGES}
        self.assertLess(old_schema["terril-node"], latest_schema(), "the previous release has an older schema")
        pids = {pkg: self.pid(pkg) for pkg in PACKAGES}
        calls_before = len(self.calls())

        # 2. The upgrade, with the services running (as unattended upgrades would).
        t0 = time.time()
        out = self.install(self.current["terril-hub"], self.current["terril-node"])
        print(f"\nupgrade {old_version} -> {new_version} took {time.time() - t0:.1f} s:\n{out.stdout.strip()}",
              file=sys.stderr)
        upgrade_calls = self.calls()[calls_before:]
        for pkg in PACKAGES:
            self.assertTrue(installed(pkg))
            self.assertEqual(run(["dpkg-query", "-W", "-f=${Version}", pkg]).stdout, new_version)
            # Restarted exactly once, on the new binary.
            restarts = [c for c in upgrade_calls if f"{pkg}.service" in c.split()
                        and {"restart", "try-restart"} & set(c.split())]
            self.assertEqual(len(restarts), 1, f"{pkg}: restarts during the upgrade: {upgrade_calls}")
            self.assertNotEqual(self.pid(pkg), pids[pkg], f"{pkg} runs a new process")
            self.assertEqual(os.readlink(f"/proc/{self.pid(pkg)}/exe"), f"/usr/bin/{pkg}")
            self.assertIn(new_version, run([f"/usr/bin/{pkg}", "--version"]).stdout)
            # The schema migrated; every registration is there.
            self.assertEqual(user_version(DB[pkg]), latest_schema(), f"{pkg}: schema migrated")
            self.assertEqual(registration_ids(DB[pkg]), before[pkg], f"{pkg}: registrations kept")
        # The admin's edits of the conffiles are kept, no .dpkg-dist/.dpkg-old left to sort out.
        with open(CONF["terril-hub"]) as f:
            self.assertEqual(f.read(), hub_conf)
        with open(CONF["terril-node"]) as f:
            self.assertEqual(f.read(), node_conf)
        self.assertEqual(glob.glob("/etc/terril/*.dpkg-*"), [])

        # 3. The credentials still work: staff log in, the node's secret is accepted by the hub, the
        # admin logs in, and a registration made after the upgrade reaches the hub.
        wait_for(lambda: node_answers(node_port), timeout=60, what="the upgraded node answers")
        api = Api(f"http://127.0.0.1:{node_port}", STAFF_PASSWORD)
        s, body = api.call("POST", "/api/v1/registrations", registration_body(ev["id"], first="Après"))
        self.assertEqual(s, 201, body)
        wait_for(lambda: (api.call("GET", "/api/v1/status")[1] or {}).get("connected")
                 and api.call("GET", "/api/v1/status")[1].get("pending") == 0, timeout=60,
                 what="the upgraded node synced with its old credentials")
        wait_for(lambda: body["id"] in registration_ids(DB["terril-hub"]), what="the new registration at the hub")
        Api(f"https://127.0.0.1:{hub_port}", ADMIN_PASSWORD, context=ssl._create_unverified_context())  # logs in
        nodes = json.loads(run(as_user("terril-hub", "terril-hub", "node", "list", "--json")).stdout)
        row = next(n for n in nodes if n["node_id"] == "pi-upgrade")
        self.assertIn(new_version, row["software_version"], row)
        doctor = run(as_user("terril-node", "terril-node", "doctor"), check=False)
        self.assertEqual(doctor.returncode, 0, doctor.stdout + doctor.stderr)

        # 4. A downgrade to the previous release (0.1.0, which had no guard in its package): its binary refuses the newer schema with a clear
        # message, and opens nothing; the data stay as they were, and upgrading again serves them.
        after = registration_ids(DB["terril-node"])
        self.systemctl("stop", "terril-node")
        self.install(self.previous["terril-node"], check=False)
        started = self.systemctl("start", "terril-node", check=False)
        self.assertNotEqual(started.returncode, 0, "the previous release must not serve a newer schema")
        self.assertIn(f"schema version {latest_schema()} is newer than this software", self.unit_log("terril-node"))
        self.assertEqual(user_version(DB["terril-node"]), latest_schema())
        self.assertEqual(registration_ids(DB["terril-node"]), after)
        self.install(self.current["terril-node"])
        self.systemctl("start", "terril-node")
        wait_for(lambda: node_answers(node_port), timeout=60, what="the node served again after re-upgrading")
        self.assertEqual(registration_ids(DB["terril-node"]), after)

        # 5. From this version on, the package itself refuses the downgrade, before replacing a file:
        # a "newer release" (this package, relabelled) migrates the database one step further (done
        # by hand here), then this version is installed over it.
        future = relabel(self.current["terril-node"], "9.9.9", os.path.join(self.tmp, "future"))
        self.install(future)
        self.systemctl("stop", "terril-node")
        with contextlib.closing(sqlite3.connect(DB["terril-node"])) as c:  # the last to close checkpoints
            c.execute(f"PRAGMA user_version = {latest_schema() + 1}")
        refused = self.install(self.current["terril-node"], check=False)
        self.assertNotEqual(refused.returncode, 0, refused.stdout)
        self.assertIn(f"at database schema {latest_schema() + 1}, newer than this version knows ({latest_schema()})",
                      refused.stderr)
        self.assertIn("plus récent que cette version", refused.stderr)
        print("\n" + refused.stderr.strip(), file=sys.stderr)
        self.assertEqual(run(["dpkg-query", "-W", "-f=${Version} ${db:Status-Abbrev}", "terril-node"]).stdout.strip(),
                         "9.9.9 ii", "the newer version stays installed")
        self.assertEqual(registration_ids(DB["terril-node"]), after)


def relabel(deb, version, folder):
    """The package `deb` as version `version` (same files): a stand-in for a later release."""
    tree = os.path.join(folder, "tree")
    os.makedirs(folder, exist_ok=True)
    run(["dpkg-deb", "-R", deb, tree])
    control = os.path.join(tree, "DEBIAN", "control")
    with open(control) as f:
        text = f.read()
    with open(control, "w") as f:
        f.write("".join(f"Version: {version}\n" if l.startswith("Version:") else l
                        for l in text.splitlines(keepends=True)))
    out = os.path.join(folder, f"relabelled_{version}.deb")
    run(["dpkg-deb", "--root-owner-group", "-b", tree, out])
    return out


def node_answers(port):
    try:
        Api(f"http://127.0.0.1:{port}", STAFF_PASSWORD)
        return True
    except (AssertionError, OSError):
        return False


if __name__ == "__main__":
    unittest.main()
