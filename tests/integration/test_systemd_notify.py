"""The sd_notify protocol of both daemons, tested without systemd.

The test plays systemd's part: it binds an AF_UNIX datagram socket, starts
`terril-node serve` / `terril-hub serve` with NOTIFY_SOCKET pointing at it
and the watchdog variables set the way systemd sets them (WATCHDOG_PID is the
daemon's own pid: a shell exports its $$ and execs the daemon, which keeps that
pid), and checks:

- READY=1 comes only once the HTTP port is bound: a TCP connect to the port,
  made as soon as READY=1 arrives, succeeds;
- WATCHDOG=1 keeps coming (at least two within 3 s for WATCHDOG_USEC=2 s);
- SIGTERM gives STOPPING=1 and a clean exit;
- no WATCHDOG=1 when the watchdog is meant for another pid or is not enabled.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import harness as h

WATCHDOG_USEC = 2_000_000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def can_connect(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Notify:
    """The systemd side: a datagram socket that collects the daemon's messages."""

    def __init__(self, folder):
        self.path = os.path.join(folder, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []  # (monotonic time, one assignment)

    def receive(self, timeout):
        """Next datagram's assignments (one message may carry several lines), or [] on timeout."""
        self.sock.settimeout(max(0.001, timeout))
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return []
        now = time.monotonic()
        got = [line for line in data.decode().split("\n") if line]
        self.messages.extend((now, m) for m in got)
        return got

    def wait_for(self, wanted, timeout, on_arrival=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.receive(deadline - time.monotonic())
            if wanted in got:
                return on_arrival() if on_arrival else True
        raise AssertionError(f"no {wanted} within {timeout}s; got {[m for _, m in self.messages]}")

    def collect(self, seconds):
        deadline = time.monotonic() + seconds
        out = []
        while time.monotonic() < deadline:
            out += self.receive(deadline - time.monotonic())
        return out

    def close(self):
        self.sock.close()


class SdNotifyTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="terril-notify-")
        self.notify = Notify(self.root)
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        self.notify.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def start(self, argv, log_name, watchdog_pid="self", watchdog_usec=WATCHDOG_USEC):
        """Starts argv as systemd would for Type=notify with WatchdogSec=."""
        env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
        env["NOTIFY_SOCKET"] = self.notify.path
        if watchdog_usec:
            env["WATCHDOG_USEC"] = str(watchdog_usec)
        if watchdog_pid == "self":
            # exec keeps the shell's pid: WATCHDOG_PID is the daemon's own pid, as under systemd.
            argv = ["sh", "-c", 'WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$@"', "sh"] + argv
        elif watchdog_pid is not None:
            env["WATCHDOG_PID"] = str(watchdog_pid)
        log = open(os.path.join(self.root, log_name), "ab")
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log, env=env)
        log.close()
        self.procs.append(p)
        return p

    def log(self, name):
        try:
            with open(os.path.join(self.root, name), errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def check_lifecycle(self, argv, port, log_name):
        p = self.start(argv, log_name)
        # READY=1 only once the port is bound: connect the moment it arrives.
        connected = self.notify.wait_for("READY=1", 30, on_arrival=lambda: can_connect(port))
        self.assertTrue(connected, f"READY=1 was sent before port {port} accepted connections\n{self.log(log_name)}")
        self.assertIsNone(p.poll(), self.log(log_name))
        ready_at = [t for t, m in self.notify.messages if m == "READY=1"][0]
        pings = [m for m in self.notify.collect(3.0) if m == "WATCHDOG=1"]
        self.assertGreaterEqual(len(pings), 2, f"WATCHDOG=1 within 3 s of READY: {self.notify.messages}")
        # Pings keep the interval well under WATCHDOG_USEC (systemd kills at WATCHDOG_USEC).
        times = [ready_at] + [t for t, m in self.notify.messages if m == "WATCHDOG=1"]
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.assertLess(max(gaps), WATCHDOG_USEC / 1e6, f"gap between pings {gaps}")
        p.send_signal(signal.SIGTERM)
        self.notify.wait_for("STOPPING=1", 10)
        self.assertEqual(p.wait(timeout=15), 0, self.log(log_name))
        names = [m.split("=")[0] for _, m in self.notify.messages]
        self.assertEqual(names.count("READY"), 1, self.notify.messages)
        self.assertLess(names.index("READY"), names.index("STOPPING"))
        return [m for _, m in self.notify.messages]

    def node_argv(self, data_dir, port):
        return [h.NODE_BIN, "serve", "--data-dir", data_dir, "--config", "/dev/null", "--listen", f"127.0.0.1:{port}"]

    def hub_argv(self, data_dir, port):
        return [h.HUB_BIN, "serve", "--data-dir", data_dir, "--config", "/dev/null", "--listen", f"127.0.0.1:{port}"]

    def test_node_ready_after_bind_watchdog_and_stopping(self):
        # An enrolled node, talking to a real hub, as on a centre's box.
        with h.Cluster() as cl:
            cl.hub.start()
            node = cl.add_node("node-notify", "valenciennes-dutemple", start=False)
            port = free_port()
            self.check_lifecycle(self.node_argv(node.dir, port), port, "node.log")

    def test_hub_ready_after_bind_watchdog_and_stopping(self):
        hub_dir = os.path.join(self.root, "hub")
        h.run([h.HUB_BIN, "init", "--data-dir", hub_dir, "--password-stdin"], stdin=h.ADMIN_PASSWORD + "\n")
        port = free_port()
        msgs = self.check_lifecycle(self.hub_argv(hub_dir, port), port, "hub.log")
        # The hub also says what it does, for `systemctl status`.
        self.assertTrue(any(m.startswith("STATUS=") for m in msgs), msgs)

    def test_no_watchdog_pings_for_another_pid_or_when_disabled(self):
        data_dir = os.path.join(self.root, "node")  # not enrolled: serves the local UI only
        for label, kwargs in (("WATCHDOG_PID of another process", {"watchdog_pid": 1}),
                              ("no WATCHDOG_USEC", {"watchdog_pid": None, "watchdog_usec": 0})):
            with self.subTest(label):
                self.notify.messages.clear()
                port = free_port()
                p = self.start(self.node_argv(data_dir, port), "node-nowd.log", **kwargs)
                self.notify.wait_for("READY=1", 30)
                got = self.notify.collect(2.5)
                self.assertNotIn("WATCHDOG=1", got, f"{label}: {self.notify.messages}")
                p.send_signal(signal.SIGTERM)
                self.notify.wait_for("STOPPING=1", 10)
                self.assertEqual(p.wait(timeout=15), 0, self.log("node-nowd.log"))


if __name__ == "__main__":
    unittest.main()
