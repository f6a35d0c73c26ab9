#!/usr/bin/env python3
"""One registration from a node's HTTP API to the hub, for scripts/fresh-root.sh.

Logs in to the node (staff password) and to the hub (admin password), waits for
the node to be connected, creates an event and a registration on the node, waits
until the node has nothing pending, then until the hub answers the registration
by its id (GET /api/v1/registrations/ID) with the same event, and checks the
hub's /healthz. Prints one line with the time taken; exits 1 with the reason
on a failure (a timeout names what it waited for).

    root_sync.py --node http://127.0.0.1:PORT --hub https://127.0.0.1:PORT [--timeout S]

The hub's certificate is not checked: both daemons are on this machine's
loopback, and the node pinned it at enrolment.
"""

import argparse
import os
import ssl
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import ADMIN_PASSWORD, STAFF_PASSWORD, Api, event_body, registration_body, wait_for  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--node", required=True, help="the node's API, http://127.0.0.1:PORT")
    ap.add_argument("--hub", required=True, help="the hub's API, https://127.0.0.1:PORT")
    ap.add_argument("--timeout", type=float, default=60, help="seconds for each wait (emulation is slow)")
    args = ap.parse_args()

    t0 = time.time()
    hub = Api(args.hub, ADMIN_PASSWORD, context=ssl._create_unverified_context())
    s, body = hub.call("GET", "/healthz")
    if s != 200:
        sys.exit(f"root_sync: hub /healthz answered {s}: {body}")
    node = Api(args.node, STAFF_PASSWORD)
    wait_for(lambda: node.call("GET", "/api/v1/status")[1].get("connected"), timeout=args.timeout,
             what="the node connected to the hub")
    s, ev = node.call("POST", "/api/v1/events", event_body(title="Atelier racine neuve"))
    if s != 201:
        sys.exit(f"root_sync: the node refused the event: {s} {ev}")
    s, reg = node.call("POST", "/api/v1/registrations", registration_body(ev["id"]))
    if s != 201:
        sys.exit(f"root_sync: the node refused the registration: {s} {reg}")
    wait_for(lambda: node.call("GET", "/api/v1/status")[1].get("pending") == 0, timeout=args.timeout,
             what="the node has nothing pending")
    got = wait_for(lambda: (lambda r: r[1] if r[0] == 200 else None)(
        hub.call("GET", "/api/v1/registrations/" + reg["id"])), timeout=args.timeout,
        what=f"registration {reg['id']} on the hub")
    if got.get("event_id") != ev["id"]:
        sys.exit(f"root_sync: the hub's registration has event {got.get('event_id')}, not {ev['id']}")
    print(f"root_sync: registration {reg['id']} written on the node reached the hub in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        sys.exit(f"root_sync: {e}")
