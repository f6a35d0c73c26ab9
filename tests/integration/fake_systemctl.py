#!/usr/bin/env python3
"""A stand-in for `systemctl` where PID 1 is not systemd (these machines, a chroot).

The package tests put this file first on PATH as `systemctl`, so the maintainer scripts'
real `deb-systemd-invoke` and `deb-systemd-helper` (init-system-helpers) drive it the way they
drive systemd. It is the smallest service manager those scripts and a technician need:

  start | stop | restart | try-restart UNIT...   runs the unit's ExecStart as its User=/Group=,
                                                detached, output to STATE/UNIT.log, pid in STATE/UNIT.pid;
                                                stop sends SIGTERM and waits (TimeoutStopSec, then SIGKILL)
  is-active UNIT            exit 0 when its process runs
  is-enabled UNIT           "enabled" when an /etc/systemd/system/*.wants/UNIT link exists
  enable [--now] | disable  the [Install] WantedBy= link, like systemctl
  daemon-reload, --version, list-units   answered, nothing to do

Every call is appended to STATE/calls.log (one line: the arguments), so a test can count the
restarts a package upgrade made. STATE is $FAKE_SYSTEMD_STATE (default /run/terril-fake-systemd).
Unit files are read from /usr/lib/systemd/system, then /etc/systemd/system. StateDirectory= is
created (owned by User=, StateDirectoryMode=) and Type=notify waits for READY=1 on
$NOTIFY_SOCKET (until TimeoutStartSec=), as systemd would. The sandboxing keys are ignored:
this checks what the packages do, not systemd's confinement (scripts/check_systemd.sh does that).
"""
import os
import pwd
import signal
import socket
import subprocess
import sys
import time

STATE = os.environ.get("FAKE_SYSTEMD_STATE", "/run/terril-fake-systemd")
UNIT_DIRS = ("/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")


def unit_file(unit):
    for d in UNIT_DIRS:
        path = os.path.join(d, unit)
        if os.path.isfile(path):
            return path
    return None


def parse(unit):
    """{section: {key: [values]}} of the unit file, or None when there is no such unit."""
    path = unit_file(unit)
    if path is None:
        return None
    sections, current = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                current = sections.setdefault(line[1:-1], {})
            elif "=" in line and current is not None:
                key, value = line.split("=", 1)
                current.setdefault(key.strip(), []).append(value.strip())
    return sections


def pid_of(unit):
    try:
        with open(os.path.join(STATE, unit + ".pid")) as f:
            pid = int(f.read().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    # A zombie (exited, not reaped: we are not its parent) is not running.
    try:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                return None
    except FileNotFoundError:
        return None
    return pid


def start(unit):
    if pid_of(unit):
        return 0
    conf = parse(unit)
    if conf is None:
        print(f"Failed to start {unit}: Unit {unit} not found.", file=sys.stderr)
        return 5
    service = conf.get("Service", {})
    user = service.get("User", ["root"])[-1]
    group = service.get("Group", [user])[-1]
    pw = pwd.getpwnam(user)
    for state_dir in service.get("StateDirectory", []):
        for name in state_dir.split():
            path = os.path.join("/var/lib", name)
            os.makedirs(path, exist_ok=True)
            os.chown(path, pw.pw_uid, pw.pw_gid)
            os.chmod(path, int(service.get("StateDirectoryMode", ["0755"])[-1], 8))
    cmd = service["ExecStart"][-1].split()
    log = open(os.path.join(STATE, unit + ".log"), "ab")
    umask = int(service.get("UMask", ["0022"])[-1], 8)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": pw.pw_dir}
    notify = None
    if service.get("Type", ["simple"])[-1] == "notify":
        # Like systemd: the service says READY=1 on $NOTIFY_SOCKET; start returns then.
        path = os.path.join(STATE, unit + ".notify")
        if os.path.exists(path):
            os.unlink(path)
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(path)
        os.chmod(path, 0o666)
        env["NOTIFY_SOCKET"] = path
    p = subprocess.Popen(["setpriv", "--reuid", user, "--regid", group, "--init-groups", "--", *cmd],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd="/", start_new_session=True,
                         preexec_fn=lambda: os.umask(umask), env=env)
    with open(os.path.join(STATE, unit + ".pid"), "w") as f:
        f.write(str(p.pid))
    if notify is None:
        return 0
    deadline = time.time() + float(service.get("TimeoutStartSec", ["90"])[-1].rstrip("s"))
    notify.settimeout(0.2)
    try:
        while time.time() < deadline:
            if p.poll() is not None:
                print(f"Job for {unit} failed: ExecStart exited with {p.returncode} (see {STATE}/{unit}.log)",
                      file=sys.stderr)
                return 1
            try:
                if b"READY=1" in notify.recv(4096).split(b"\n"):
                    return 0
            except socket.timeout:
                pass
        print(f"Job for {unit} failed: no READY=1 within TimeoutStartSec", file=sys.stderr)
        return 1
    finally:
        notify.close()


def stop(unit):
    pid = pid_of(unit)
    if not pid:
        return 0
    conf = parse(unit) or {}
    timeout = float(conf.get("Service", {}).get("TimeoutStopSec", ["30"])[-1].rstrip("s"))
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + timeout
    while pid_of(unit) and time.time() < deadline:
        time.sleep(0.05)
    if pid_of(unit):
        os.kill(pid, signal.SIGKILL)
    return 0


def wants_links(unit):
    conf = parse(unit) or {}
    return [f"/etc/systemd/system/{target}.wants/{unit}"
            for line in conf.get("Install", {}).get("WantedBy", []) for target in line.split()]


def main(argv):
    os.makedirs(STATE, exist_ok=True)
    with open(os.path.join(STATE, "calls.log"), "a") as f:
        f.write(" ".join(argv) + "\n")
    args = [a for a in argv if not a.startswith("-")]
    flags = [a for a in argv if a.startswith("-")]
    if "--version" in flags:
        print("systemd 252 (252-fake)")
        return 0
    if not args:
        return 0
    verb, units = args[0], [u if "." in u else u + ".service" for u in args[1:]]
    if verb in ("daemon-reload", "list-units"):
        return 0
    if verb == "is-active":
        active = all(pid_of(u) for u in units)
        if "--quiet" not in flags:
            print("active" if active else "inactive")
        return 0 if active else 3
    if verb == "is-enabled":
        enabled = all(any(os.path.islink(l) for l in wants_links(u)) for u in units)
        print("enabled" if enabled else "disabled")
        return 0 if enabled else 1
    rc = 0
    for u in units:
        if verb == "start":
            rc |= start(u)
        elif verb == "stop":
            rc |= stop(u)
        elif verb == "restart":
            stop(u)
            rc |= start(u)
        elif verb == "try-restart":
            if pid_of(u):
                stop(u)
                rc |= start(u)
        elif verb in ("enable", "disable"):
            for link in wants_links(u):
                if verb == "enable" and not os.path.islink(link):
                    os.makedirs(os.path.dirname(link), exist_ok=True)
                    os.symlink(unit_file(u), link)
                elif verb == "disable" and os.path.islink(link):
                    os.unlink(link)
            if "--now" in flags:
                rc |= start(u) if verb == "enable" else stop(u)
        else:
            print(f"fake systemctl: {verb} is not implemented", file=sys.stderr)
            return 1
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
