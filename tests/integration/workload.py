"""Random writers and the convergence check shared by the chaos and crash-loop tests.

Writers create registrations, events and prototype notes, patch and delete
their own records through each node's HTTP API, choosing every record id
themselves (the API takes a client-made UUID), so each attempt is tracked:

  acked     the API answered 201/200: the write must reach the hub and every
            replica routing sends it to, exactly once
  in doubt  no answer (the node died, the request timed out): it may or may
            not have been committed, but never twice
  refused   a clear 4xx (e.g. an event not yet known at that node): not written
  not sent  the node was down (connection refused)

After the faults stop, `check()` compares the hub and every node's SQLite
file against the ledger and the routing rules of docs/design.md.
"""

import os
import random
import sqlite3
import threading
import time
import uuid

from harness import registration_body, rows

TABLES = {"registrations": "registrations", "events": "events", "prototype-notes": "prototype_notes"}
ROLES = ["habitant", "benevole", "partenaire", "salarie", "administrateur", "institutionnel"]
KINDS = ["atelier", "temps-fort", "reunion"]
STATUSES = ["idee", "prototype", "en-test", "deploye", "abandonne"]
PATCHABLE = {"registrations": ("notes", lambda r: f"note {r.randrange(10**6)}"),
             "events": ("capacity", lambda r: r.randrange(5, 500)),
             "prototype-notes": ("evaluation", lambda r: f"éval {r.randrange(10**6)}")}


def centres_csv():
    path = os.path.join(os.path.dirname(__file__), "..", "..", "data", "centres.csv")
    with open(path, encoding="utf-8") as f:
        return [line.split(",", 1)[0] for line in f.read().splitlines()[1:] if line.strip()]


class Ledger:
    """Every write attempt and its outcome. Thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.created = {}       # id -> (path, node_id, centre) for acked creates
        self.in_doubt = {}      # id -> (path, node_id, centre) for creates with no answer
        self.refused = 0
        self.not_sent = 0       # the node was down: the request never left
        self.errors = {}        # status -> count (unexpected answers)
        self.patches = {}       # (path, id, field) -> list of (outcome, value), in order
        self.deleted = set()    # ids whose DELETE was acked
        self.delete_doubt = set()
        self.acked = {"create": 0, "patch": 0, "delete": 0}
        self.refused = 0  # answers the rules give staff (a capacity below what is confirmed)

    def note_error(self, status):
        with self.lock:
            self.errors[status] = self.errors.get(status, 0) + 1

    def total_acked(self):
        return sum(self.acked.values())


def _call(node, method, path, body=None):
    """(status, body); (0, why) when the request surely never reached the node
    (it is down: connection refused); (None, exc) when the outcome is unknown
    (reset or timeout after the request was sent)."""
    api = node.api
    if api is None:
        return 0, "node down"
    try:
        return api.call(method, path, body)
    except Exception as e:
        reason = getattr(e, "reason", e)
        if isinstance(reason, ConnectionRefusedError) or isinstance(e, ConnectionRefusedError):
            return 0, "node down"
        return None, e


class Writer(threading.Thread):
    """Writes at random to one node until `stop` is set."""

    def __init__(self, node, ledger, rng, stop, pace=(0.15, 0.8)):
        super().__init__(daemon=True)
        self.node, self.ledger, self.rng, self.stop_event, self.pace = node, ledger, rng, stop, pace
        self.own = {"registrations": [], "events": [], "prototype-notes": []}
        self.events = []
        self.events_read_at = 0
        self.attempts = 0

    def known_events(self):
        if time.time() - self.events_read_at > 3:
            try:
                self.events = [r[0] for r in rows(self.node.db(), "SELECT id FROM events WHERE deleted = 0")]
            except sqlite3.Error:
                pass
            self.events_read_at = time.time()
        return self.events

    def run(self):
        while not self.stop_event.is_set():
            self.step()
            self.stop_event.wait(self.rng.uniform(*self.pace))

    def step(self):
        r, L, n = self.rng, self.ledger, self.node
        self.attempts += 1
        x = r.random()
        events = self.known_events()
        if x < 0.40 and events:
            self.create("registrations", registration_body(
                r.choice(events), first=f"Prénom{r.randrange(10**6)}", last=f"Nom{uuid.uuid4().hex[:10]}",
                role=r.choice(ROLES)))
        elif x < 0.52 or not events:
            t = time.time() + r.randrange(1, 60) * 86400
            self.create("events", {"title": f"Atelier {r.randrange(10**6)}", "kind": r.choice(KINDS),
                                   "starts_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)),
                                   "place": "Salle " + str(r.randrange(9)), "capacity": r.randrange(5, 200)})
        elif x < 0.70:
            self.create("prototype-notes", {"title": f"Prototype {r.randrange(10**6)}", "status": r.choice(STATUSES),
                                            "summary": "Essai « chaos » — ça marche ?", "tags": "chaos,test"})
        elif x < 0.97:
            path = r.choice([p for p in self.own if self.own[p]] or ["events"])
            if not self.own[path]:
                return
            rid = r.choice(self.own[path])
            field, gen = PATCHABLE[path]
            value = gen(r)
            status, body = _call(n, "PATCH", f"/api/v1/{path}/{rid}", {field: value})
            key = (path, rid, field)
            with L.lock:
                if status == 200:
                    L.patches.setdefault(key, []).append(("acked", value))
                    L.acked["patch"] += 1
                elif status is None:
                    L.patches.setdefault(key, []).append(("doubt", value))
            # The seat rules refuse a capacity below what the host confirmed
            # (docs/design.md 9.3): an answer staff get, not a fault.
            seat_refusal = (status == 400 and path == "events" and isinstance(body, dict)
                            and body.get("field") == "capacity")
            if seat_refusal:
                with L.lock:
                    L.refused += 1
            elif status not in (200, None, 0):
                L.note_error(f"PATCH {status}")
        else:
            path = r.choice(["prototype-notes", "events"])
            if not self.own[path]:
                return
            rid = self.own[path].pop(r.randrange(len(self.own[path])))
            status, body = _call(n, "DELETE", f"/api/v1/{path}/{rid}")
            with L.lock:
                if status == 200:
                    L.deleted.add(rid)
                    L.acked["delete"] += 1
                elif status is None:
                    L.delete_doubt.add(rid)
            if status == 0:
                self.own[path].append(rid)  # never sent: still ours to delete
            elif status not in (200, None):
                L.note_error(f"DELETE {status}")

    def create(self, path, body):
        rid = str(uuid.uuid4())
        body = dict(body, id=rid)
        status, answer = _call(self.node, "POST", f"/api/v1/{path}", body)
        L = self.ledger
        with L.lock:
            if status == 201:
                L.created[rid] = (path, self.node.node_id, self.node.centre)
                L.acked["create"] += 1
            elif status is None:
                L.in_doubt[rid] = (path, self.node.node_id, self.node.centre)
            elif status == 0:
                L.not_sent += 1
            else:
                L.refused += 1
        if status == 201:
            self.own[path].append(rid)
            if path == "events":
                self.events.append(rid)
        elif status not in (None, 0) and not (status == 400 and "unknown_event" in str(answer)):
            L.note_error(f"POST {path} {status}")


def table(db, name):
    return {r[0]: r[1:] for r in rows(db, f"SELECT id, centre_id, state, deleted FROM {name}")}


def snapshot(hub, nodes):
    """{replica: {table: {id: (centre_id, state, deleted)}}} read from the SQLite files."""
    snap = {"hub": {t: table(hub.db(), t) for t in ("centres", "events", "registrations", "prototype_notes")}}
    for n in nodes:
        snap[n.node_id] = {t: table(n.db(), t) for t in ("centres", "events", "registrations", "prototype_notes")}
    return snap


def problems(hub, nodes, ledger, final=False):
    """What keeps the replicas from the expected end state (empty = converged)."""
    out = []
    snap = snapshot(hub, nodes)
    h = snap["hub"]
    hub_ids = {t: set(v) for t, v in h.items()}
    # 1. Every acked create is at the hub; nothing at the hub that was never attempted.
    for rid, (path, node_id, centre) in ledger.created.items():
        if rid not in hub_ids[TABLES[path]]:
            out.append(f"LOST: acked {path} {rid} from {node_id} not at the hub")
    attempted = set(ledger.created) | set(ledger.in_doubt)
    for t in ("events", "registrations", "prototype_notes"):
        for rid in hub_ids[t] - attempted:
            out.append(f"UNKNOWN: {t} {rid} at the hub was never written")
    # 2. Acked patches and deletes hold at the hub (the last acked value, or a later in-doubt one).
    cols = {"registrations": "notes", "events": "capacity", "prototype-notes": "evaluation"}
    if final and not out:
        for (path, rid, field), hist in ledger.patches.items():
            last_acked = max((i for i, (o, _) in enumerate(hist) if o == "acked"), default=None)
            if last_acked is None:
                continue
            allowed = [v for o, v in hist[last_acked:]]
            got = rows(hub.db(), f"SELECT {cols[path]} FROM {TABLES[path]} WHERE id = ?", rid)
            if not got or got[0][0] not in allowed:
                out.append(f"LOST: acked patch {path} {rid} {field}={hist[last_acked][1]!r}, hub has {got}")
        for rid in ledger.deleted:
            t = "events" if rid in h["events"] else "prototype_notes"
            if rid in h[t] and h[t][rid][2] != 1:
                out.append(f"LOST: acked delete of {t} {rid} not at the hub")
    # 3. Each node holds exactly what routing sends it, byte-equal to the hub.
    host = {rid: v[0] for rid, v in h["events"].items()}
    event_of = dict(rows(hub.db(), "SELECT id, event_id FROM registrations"))
    for n in nodes:
        mine = snap[n.node_id]
        for t in ("centres", "events", "prototype_notes", "registrations"):
            if t == "registrations":
                want = {rid for rid, v in h[t].items()
                        if v[0] == n.centre or host.get(event_of.get(rid)) == n.centre}
            else:
                want = set(h[t])
            have = set(mine[t])
            if have - want:
                out.append(f"ROUTING: {n.node_id} holds {len(have - want)} {t} it must not, e.g. {sorted(have - want)[0]}")
            if want - have:
                out.append(f"MISSING: {n.node_id} lacks {len(want - have)} {t}, e.g. {sorted(want - have)[0]}")
            diff = [rid for rid in have & want if mine[t][rid][1] != h[t][rid][1]]
            if diff:
                out.append(f"DIVERGED: {n.node_id} {t} {len(diff)} records differ from the hub, e.g. {diff[0]}")
    return out


def duplicates(hub, nodes):
    """origin_seq held twice at the hub, or more of a node's changes than it ever made."""
    out = []
    dup = rows(hub.db(), "SELECT origin, origin_seq, count(*) FROM change_log GROUP BY 1, 2 HAVING count(*) > 1")
    out += [f"DUPLICATE: {o}#{s} held {c} times at the hub" for o, s, c in dup]
    cursors = dict(rows(hub.db(), "SELECT origin, seq FROM origin_cursors"))
    for n in nodes:
        own = rows(n.db(), "SELECT value FROM meta WHERE key = 'own_seq'")
        own_seq = int(own[0][0]) if own else 0
        held = rows(hub.db(), "SELECT count(*), coalesce(max(origin_seq), 0) FROM change_log WHERE origin = ?",
                    n.node_id)[0]
        if held[1] > own_seq or held[0] > own_seq:
            out.append(f"DUPLICATE: hub holds {held} changes of {n.node_id}, which made {own_seq}")
        if cursors.get(n.node_id, 0) != own_seq:
            out.append(f"BEHIND: hub cursor of {n.node_id} is {cursors.get(n.node_id, 0)}, node made {own_seq}")
    return out


def wait_converged(hub, nodes, ledger, timeout):
    """Seconds until every check passes; raises with what is left after `timeout`."""
    t0 = time.time()
    last = []
    while time.time() - t0 < timeout:
        try:
            last = problems(hub, nodes, ledger) + duplicates(hub, nodes)
        except sqlite3.Error as e:
            last = [f"sqlite: {e}"]
        if not last:
            return time.time() - t0
        time.sleep(1.0)
    raise AssertionError(f"not converged after {timeout}s: {len(last)} problems:\n" + "\n".join(last[:30]))


def integrity(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("PRAGMA integrity_check").fetchall()
    finally:
        db.close()


def seeded_rng(name):
    s = int(os.environ.get("TERRIL_SEED", random.randrange(1 << 30)))
    print(f"{name}: seed={s} (rerun with TERRIL_SEED={s})", flush=True)
    return s, random.Random(s)
