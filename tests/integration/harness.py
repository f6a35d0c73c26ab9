"""Integration harness: real terril-hub and terril-node processes on loopback.

Each test gets a fresh temporary folder. The hub runs with real TLS on an
ephemeral port; nodes enrol with one-time codes, pin the hub's certificate,
and serve their HTTP API on ephemeral ports. Tests drive them through their
command lines and HTTP APIs and read their SQLite files to compare.

Binaries come from $TERRIL_BUILD (default: ./build). Everything is bounded in
time: waits poll with a deadline and fail with a clear message.

Under emulation (scripts/build-arm64.sh --e2e: TERRIL_BUILD holds wrappers that run
the arm64 daemons under qemu-aarch64, TERRIL_EMULATED=1, TERRIL_WAIT_SCALE=N) every
bound is scaled, and preload_env() hands a preloaded library to the guest.
"""

import http.cookiejar
import glob
import json
import os
import random
import shutil
import signal
import sysconfig
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

BUILD = os.environ.get("TERRIL_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
HUB_BIN = os.path.join(BUILD, "hub", "terril-hub")
NODE_BIN = os.path.join(BUILD, "node", "terril-node")
STAFF_PASSWORD = "accueil-centre-2026"
ADMIN_PASSWORD = "admin-hub-2026-secret"


# Sanitized daemons run 2-3x slower, and CI runs a light test beside a heavy
# one: scripts/sanitize.sh sets TERRIL_WAIT_SCALE so every wait gets room
# (a wait is for a condition, so a longer bound costs nothing when it holds).
# Emulated arm64 daemons (scripts/build-arm64.sh --e2e) run about 10x slower and set it too.
# It scales every bound here: waits, process start and stop, CLI runs, HTTP calls.
WAIT_SCALE = float(os.environ.get("TERRIL_WAIT_SCALE", "1") or "1")
# The daemons are arm64 binaries run under qemu-aarch64 user-mode emulation (the wrappers in
# $TERRIL_BUILD exec `qemu-aarch64-static -L / BINARY`).
EMULATED = bool(os.environ.get("TERRIL_EMULATED"))
# The daemons' multiarch triplet: where a library preloaded into them lives.
DAEMON_MULTIARCH = "aarch64-linux-gnu" if EMULATED else (sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu")


def daemon_lib(env_var, relative):
    """A library built for the daemons' architecture: $env_var if set, else
    /usr/lib/<DAEMON_MULTIARCH>/<relative>; None when it is not there. (With both
    libfaketime:amd64 and :arm64 installed, a glob over /usr/lib/* picks either.)"""
    path = os.environ.get(env_var) or os.path.join("/usr/lib", DAEMON_MULTIARCH, relative)
    return path if os.path.exists(path) else None


def preload_env(env, lib):
    """`env` (a dict, changed and returned) with `lib` preloaded into the daemon. Under
    emulation the host's LD_PRELOAD would go to the wrapper's amd64 /bin/sh (a static qemu
    preloads nothing): the guest's loader gets it through QEMU_SET_ENV, which qemu-user
    reads; the other variables reach the guest as they are."""
    if EMULATED:
        env["QEMU_SET_ENV"] = "LD_PRELOAD=" + lib
        env.pop("LD_PRELOAD", None)
    else:
        env["LD_PRELOAD"] = lib
    return env


def wait_for(pred, timeout=20.0, what="condition", interval=0.05):
    timeout *= WAIT_SCALE
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last={last!r})")


def run(args, stdin=None, check=True, timeout=60, env=None):
    p = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=timeout * WAIT_SCALE, env=env)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


class Process:
    """A daemon started with `serve`; its port is read from its first stdout line."""

    def __init__(self, args, log_path, env=None):
        self.args = args
        self.log_path = log_path
        self.env = env
        self.proc = None
        self.port = None

    def start(self, timeout=15):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=log, env=self.env)
        deadline = time.time() + timeout * WAIT_SCALE
        line = b""
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if line.startswith(b"listening "):
                self.port = int(line.split(b":")[-1])
                self.proc.stdout.close()  # nothing else is printed there; a closed pipe never blocks it
                return self
            if not line and self.proc.poll() is not None:
                break
        raise AssertionError(f"{self.args[0]} did not start: {line!r}; see {self.log_path}:\n"
                             + open(self.log_path, errors="replace").read()[-3000:])

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10 * WAIT_SCALE)
        self._close()

    def _close(self):
        if self.proc and self.proc.stdout and not self.proc.stdout.closed:
            self.proc.stdout.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10 * WAIT_SCALE)
            except subprocess.TimeoutExpired:
                self.kill9()
        self._close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


class Api:
    """A logged-in HTTP client (cookie jar) for a node or the hub."""

    def __init__(self, base, password, context=None):
        self.base = base
        self.ctx = context
        self.jar = http.cookiejar.CookieJar()
        handlers = [urllib.request.HTTPCookieProcessor(self.jar)]
        if context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self.opener = urllib.request.build_opener(*handlers)
        if password is not None:
            status, body = self.call("POST", "/api/v1/login", {"password": password})
            assert status == 200, f"login failed: {status} {body}"

    def call(self, method, path, body=None, headers=None, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with self.opener.open(req, timeout=30 * WAIT_SCALE) as r:
                payload = r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            payload = e.read()
            status = e.code
        try:
            return status, json.loads(payload) if payload else None
        except ValueError:
            return status, payload.decode(errors="replace")


class Hub:
    def __init__(self, root, insecure=False):
        self.dir = os.path.join(root, "hub")
        self.insecure = insecure
        self.process = None
        out = run([HUB_BIN, "init", "--data-dir", self.dir, "--password-stdin"], stdin=ADMIN_PASSWORD + "\n")
        self.init_output = out.stdout
        self.fingerprint = [l.split()[-1] for l in out.stdout.splitlines() if "fingerprint" in l][0]

    def base_args(self):
        a = ["--data-dir", self.dir, "--config", "/dev/null"]
        return a + (["--insecure"] if self.insecure else [])

    def start(self, port=0, extra=()):
        """`extra`: more serve flags (e.g. a quota). The daily quotas are off unless `extra`
        sets them: tests write thousands of notes for one centre in a day."""
        extra = list(extra)
        for flag in ("--daily-notes-per-centre", "--daily-events-per-centre"):
            if flag not in extra:
                extra += [flag, "0"]
        log = os.path.join(self.dir, "..", "hub.log")
        self.process = Process([HUB_BIN, "serve", "--listen", f"127.0.0.1:{port}", *extra] + self.base_args(),
                               log).start()
        self.port = self.process.port
        return self

    @property
    def url(self):
        return ("ws://" if self.insecure else "wss://") + f"127.0.0.1:{self.port}"

    def pin_args(self):
        """What `enrol` needs besides the URL and code: the certificate's fingerprint
        (as the command the hub prints carries it), or --insecure for ws://."""
        return ["--insecure"] if self.insecure else ["--fingerprint", self.fingerprint]

    def cli(self, *args, check=True, stdin=None):
        return run([HUB_BIN, *args, "--data-dir", self.dir, "--config", "/dev/null"], check=check, stdin=stdin)

    def add_node(self, node_id, centre):
        out = self.cli("node", "add", node_id, "--centre", centre, "--json")
        return json.loads(out.stdout)

    def db(self):
        return sqlite3.connect(f"file:{os.path.join(self.dir, 'hub.db')}?mode=ro", uri=True, timeout=10)

    @property
    def db_path(self):
        return os.path.join(self.dir, "hub.db")


class Node:
    def __init__(self, root, hub, node_id, centre):
        self.dir = os.path.join(root, node_id)
        self.node_id = node_id
        self.centre = centre
        self.hub = hub
        self.process = None
        self.api = None
        code = hub.add_node(node_id, centre)["code"]
        args = ["enrol", "--hub", hub.url, "--code", code, "--json"] + hub.pin_args()
        out = self.cli(*args)
        self.enrolment = json.loads(out.stdout)
        self.cli("passwd", stdin=STAFF_PASSWORD + "\n")

    def cli(self, *args, check=True, stdin=None, env=None):
        return run([NODE_BIN, *args, "--data-dir", self.dir, "--config", "/dev/null"], check=check, stdin=stdin,
                   env=env)

    def start(self, env=None, listen="127.0.0.1:0", extra=(), https=False):
        """`extra`: more serve flags. `https`: the API client speaks TLS (a node listening off
        loopback), to 127.0.0.1 without checking the self-signed certificate."""
        args = [NODE_BIN, "serve", "--data-dir", self.dir, "--config", "/dev/null", "--listen", listen, *extra]
        if self.hub.insecure:
            args.append("--insecure")
        self.process = Process(args, os.path.join(self.dir, "..", self.node_id + ".log"), env=env).start()
        scheme, ctx = ("https", ssl._create_unverified_context()) if https else ("http", None)
        self.api = Api(f"{scheme}://127.0.0.1:{self.process.port}", STAFF_PASSWORD, context=ctx)
        return self

    def status(self):
        s, body = self.api.call("GET", "/api/v1/status")
        assert s == 200, body
        return body

    def db(self):
        return sqlite3.connect(f"file:{os.path.join(self.dir, 'node.db')}?mode=ro", uri=True, timeout=10)

    @property
    def db_path(self):
        return os.path.join(self.dir, "node.db")

    def create(self, path, body):
        s, r = self.api.call("POST", "/api/v1/" + path, body)
        assert s == 201, f"create {path} on {self.node_id}: {s} {r}"
        return r


def file_bytes(path):
    """A SQLite file's bytes with its WAL's: where a name could still be found."""
    data = b""
    for suffix in ("", "-wal"):
        if os.path.exists(path + suffix):
            with open(path + suffix, "rb") as f:
                data += f.read()
    return data


def rows(db, sql, *args):
    """Runs one query on a connection from Hub.db()/Node.db() and closes it."""
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


class Cluster:
    """A hub and nodes in one temporary folder; stops everything on exit."""

    def __init__(self, insecure=False):
        self.root = tempfile.mkdtemp(prefix="terril-it-")
        self.hub = Hub(self.root, insecure=insecure)
        self.nodes = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for n in self.nodes:
            if n.process:
                n.process.stop()
        if self.hub.process:
            self.hub.process.stop()
        if exc[0] is None and not os.environ.get("TERRIL_KEEP"):
            shutil.rmtree(self.root, ignore_errors=True)
        else:
            print(f"kept {self.root}")

    def add_node(self, node_id, centre, start=True):
        n = Node(self.root, self.hub, node_id, centre)
        self.nodes.append(n)
        if start:
            n.start()
        return n


def event_body(title="Atelier numérique", kind="atelier", days=10, capacity=20):
    t = time.time() + days * 86400
    return {"title": title, "kind": kind, "starts_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)),
            "place": "Salle polyvalente", "capacity": capacity}


def registration_body(event_id, first="Camille", last="Dupont", role="habitant"):
    return {"event_id": event_id, "first_name": first, "last_name": last, "phone": "06 12 34 56 78",
            "role": role, "consent": True}


def seed():
    s = int(os.environ.get("TERRIL_SEED", random.randrange(1 << 30)))
    print(f"seed={s}")
    return random.Random(s)


PACKAGES = ("terril-node", "terril-hub")


def package_build(dest):
    """The Debian packages of the build under test, made by cpack into `dest` from its binaries
    (already built: seconds, not a second build). Returns {package: path of its .deb}."""
    t0 = time.time()
    run(["cpack", "-G", "DEB", "--config", os.path.join(BUILD, "CPackConfig.cmake"),
         "-D", "CPACK_OUTPUT_FILE_PREFIX=" + dest, "-B", dest], timeout=900)
    print(f"\npackaged {BUILD} with cpack in {time.time() - t0:.0f} s", file=sys.stderr)
    return debs_in(dest)


def debs_in(folder, arch="amd64"):
    """{package: the newest PACKAGE_*_ARCH.deb in folder}; fails when one is missing."""
    found = {}
    for pkg in PACKAGES:
        paths = sorted(glob.glob(os.path.join(folder, f"{pkg}_*_{arch}.deb")))
        if not paths:
            raise AssertionError(f"no {pkg}_*_{arch}.deb in {folder}")
        found[pkg] = paths[-1]
    return found
