#!/usr/bin/env python3
"""A fault-injecting TCP proxy for tests (this kernel has no tc netem).

Listens on loopback, forwards every connection to one target (the hub), and
injects faults chosen by a seeded random generator, so a failing run can be
replayed with the same decisions (timings still vary with the machine).
Each connection may be throttled from the start, then every 1-12 s it draws
one fault, for as long as it lives:

  cut        close both sides, half the time with a TCP reset (SO_LINGER 0),
             else with a FIN
  stall      stop forwarding one direction or both (reading too, so the
             sender's TCP window fills) for 1-30 s: past the WebSocket ping
             timeout at times
  throttle   toggle a 2G-like link: 50 kbit/s each way, 500 ms one-way latency
  truncate   forward only part of a chunk 1-3000 bytes later, then close: the
             receiver sees a truncated TLS record / WebSocket frame
And for connection attempts:
  delay      hold the upstream connect 0-2 s (30% of attempts), so attempts
             are reordered
  refuse     close the listening socket for 1-8 s now and then: attempts are
             refused (ECONNREFUSED); then it listens again on the same port

Usage:
  proxy.py --target 127.0.0.1:PORT [--listen 127.0.0.1:0] [--seed N]
           [--mode chaos|clean] [--control 127.0.0.1:0]

It prints `seed=N`, then `listening HOST:PORT control HOST:PORT` on stdout.
The control port takes one command per line and answers one JSON line:
  heal    stop injecting: faults pending on open connections are cancelled
          (stalls released, throttles lifted, planned cuts dropped), new
          connections are clean, the listener stays open
  chaos   inject again (new connections)
  stats   counters of what was injected so far
  target HOST:PORT   forward new connections there
Faults are logged on stderr. Loopback only: it refuses any other address.
"""

import argparse
import asyncio
import ipaddress
import json
import random
import socket
import struct
import sys
import time

RATE_2G = 50_000 / 8  # bytes per second, each way
LATENCY_2G = 0.5      # seconds, one way
CHUNK = 16384


def loopback(hostport):
    host, port = hostport.rsplit(":", 1)
    if not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"proxy.py: {host} is not a loopback address")
    return host, int(port)


def log(msg):
    print(f"{time.strftime('%H:%M:%S')} proxy: {msg}", file=sys.stderr, flush=True)


class Direction:
    """One way of one connection, with its own stall and throttle state."""

    def __init__(self, name):
        self.name = name
        self.unstalled = asyncio.Event()
        self.unstalled.set()
        self.rate = None       # bytes/s, None = unlimited
        self.latency = 0.0
        self.truncate_at = None  # byte offset at which to truncate and close
        self.bytes = 0


class Conn:
    def __init__(self, proxy, index, reader, writer):
        self.proxy = proxy
        self.index = index
        self.rng = random.Random(proxy.seed * 1_000_003 + index)
        self.client_reader, self.client_writer = reader, writer
        self.up = Direction("up")      # client -> target
        self.down = Direction("down")  # target -> client
        self.tasks = []        # forwarding tasks
        self.fault_tasks = []  # planned faults, cancelled by heal
        self.closed = False

    def plan(self):
        """This connection's faults (chaos mode only): maybe a 2G throttle from
        the start, then a fault every 1-12 s for as long as it lives."""
        r = self.rng
        if r.random() < 0.3:
            self.throttle()

        async def faults():
            while not self.closed:
                await asyncio.sleep(r.uniform(1, 12))
                if self.proxy.healed or self.closed:
                    return
                p = r.random()
                if p < 0.30:
                    self.cut(rst=r.random() < 0.5)
                elif p < 0.55:
                    self.stall(r.choice([self.up, self.down, None]), r.uniform(1, 30))
                elif p < 0.70:
                    d = r.choice([self.up, self.down])
                    d.truncate_at = d.bytes + r.randint(1, 3000)
                elif p < 0.90:
                    if self.up.rate is None:
                        self.throttle()
                    else:
                        for d in (self.up, self.down):
                            d.rate, d.latency = None, 0.0
                # else: nothing this time
        self.fault_tasks.append(asyncio.ensure_future(faults()))

    def throttle(self):
        self.proxy.stats["throttled"] += 1
        for d in (self.up, self.down):
            d.rate, d.latency = RATE_2G, LATENCY_2G

    def stall(self, d, duration):
        dirs = [self.up, self.down] if d is None else [d]
        self.proxy.stats["stalls"] += 1
        self.proxy.stats["stall_seconds"] += round(duration, 1)
        log(f"#{self.index} stall {'both' if d is None else d.name} {duration:.1f}s")
        for x in dirs:
            x.unstalled.clear()

        async def release():
            await asyncio.sleep(duration)
            for x in dirs:
                x.unstalled.set()
        self.fault_tasks.append(asyncio.ensure_future(release()))

    def cut(self, rst):
        self.proxy.stats["cuts_rst" if rst else "cuts_fin"] += 1
        log(f"#{self.index} cut ({'RST' if rst else 'FIN'}) after up {self.up.bytes} B, down {self.down.bytes} B")
        self.close(rst)

    def heal(self):
        for d in (self.up, self.down):
            d.rate, d.latency, d.truncate_at = None, 0.0, None
            d.unstalled.set()
        for t in self.fault_tasks:
            if not t.done() and t is not asyncio.current_task():
                t.cancel()

    def close(self, rst=False):
        if self.closed:
            return
        self.closed = True
        for w in (self.client_writer, getattr(self, "target_writer", None)):
            if w is None:
                continue
            try:
                if rst:
                    sock = w.get_extra_info("socket")
                    if sock is not None:
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                w.close()
            except Exception:
                pass
        for t in self.tasks + self.fault_tasks:
            if not t.done() and t is not asyncio.current_task():
                t.cancel()
        self.proxy.conns.discard(self)

    async def run(self):
        p = self.proxy
        if not p.healed:
            self.plan()
            if self.rng.random() < 0.3:
                delay = self.rng.uniform(0, 2)
                p.stats["delayed_connects"] += 1
                await asyncio.sleep(delay)
        try:
            self.target_reader, self.target_writer = await asyncio.wait_for(
                asyncio.open_connection(*p.target), timeout=10)
        except Exception as e:
            p.stats["upstream_failures"] += 1
            log(f"#{self.index} upstream connect failed: {e}")
            self.close(rst=True)
            return
        if self.closed:
            self.target_writer.close()
            return
        self.tasks += [asyncio.ensure_future(self.pump(self.client_reader, self.target_writer, self.up)),
                       asyncio.ensure_future(self.pump(self.target_reader, self.client_writer, self.down))]
        await asyncio.gather(*self.tasks[-2:], return_exceptions=True)
        self.close()

    async def pump(self, reader, writer, d):
        queue = asyncio.Queue()
        stats = self.proxy.stats

        async def writer_side():
            try:
                while True:
                    due, data = await queue.get()
                    if data is None:
                        return
                    wait = due - time.monotonic()
                    if wait > 0 and d.latency:
                        await asyncio.sleep(wait)
                    while data:
                        await d.unstalled.wait()
                        piece = data if d.rate is None else data[:1024]
                        data = data[len(piece):]
                        if d.rate is not None:
                            await asyncio.sleep(len(piece) / d.rate)
                        writer.write(piece)
                        await writer.drain()
            except (ConnectionError, OSError):
                self.close()

        w = asyncio.ensure_future(writer_side())
        self.tasks.append(w)
        try:
            while not self.closed:
                await d.unstalled.wait()
                data = await reader.read(CHUNK)
                if not data:
                    break
                if d.truncate_at is not None and d.bytes + len(data) > d.truncate_at:
                    keep = max(0, d.truncate_at - d.bytes)
                    if keep:
                        queue.put_nowait((time.monotonic() + d.latency, data[:keep]))
                    queue.put_nowait((0, None))
                    await asyncio.wait_for(w, timeout=30)
                    stats["truncations"] += 1
                    log(f"#{self.index} truncated {d.name} at byte {d.truncate_at} (chunk of {len(data)})")
                    self.close(rst=self.rng.random() < 0.5)
                    return
                d.bytes += len(data)
                stats["bytes_" + d.name] += len(data)
                queue.put_nowait((time.monotonic() + d.latency, data))
            # End of stream: deliver what is queued, then pass the FIN on;
            # the other direction goes on until it ends too.
            queue.put_nowait((0, None))
            await asyncio.wait_for(w, timeout=120)
            if not self.closed and writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, asyncio.TimeoutError, OSError):
            self.close()


class Proxy:
    def __init__(self, listen, target, seed, mode):
        self.listen_host, self.listen_port = listen
        self.target = target
        self.seed = seed
        self.healed = mode == "clean"
        self.rng = random.Random(seed)
        self.conns = set()
        self.index = 0
        self.server = None
        self.stats = {k: 0 for k in ("connections", "throttled", "cuts_rst", "cuts_fin", "stalls", "stall_seconds",
                                     "truncations", "delayed_connects", "refusal_windows", "refused_seconds",
                                     "upstream_failures", "bytes_up", "bytes_down")}

    async def on_client(self, reader, writer):
        self.index += 1
        self.stats["connections"] += 1
        c = Conn(self, self.index, reader, writer)
        self.conns.add(c)
        try:
            await c.run()
        except Exception as e:  # a proxy bug must not look like a network fault
            log(f"#{c.index} proxy error: {e!r}")
            c.close(rst=True)

    async def open_listener(self):
        self.server = await asyncio.start_server(self.on_client, self.listen_host, self.listen_port,
                                                 reuse_address=True, backlog=512)
        self.listen_port = self.server.sockets[0].getsockname()[1]

    async def refusals(self):
        while True:
            await asyncio.sleep(self.rng.uniform(5, 20))
            if self.healed or self.rng.random() < 0.5:
                continue
            dur = self.rng.uniform(1, 8)
            self.stats["refusal_windows"] += 1
            self.stats["refused_seconds"] += round(dur, 1)
            log(f"refusing connections for {dur:.1f}s")
            self.server.close()
            await self.server.wait_closed()
            await asyncio.sleep(dur)
            for _ in range(50):
                try:
                    await self.open_listener()
                    break
                except OSError:
                    await asyncio.sleep(0.1)
            log("accepting connections again")

    async def control(self, reader, writer):
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                cmd = line.decode().split()
                reply = {"ok": True}
                if cmd[:1] == ["heal"]:
                    self.healed = True
                    for c in list(self.conns):
                        c.heal()
                    log("healed")
                elif cmd[:1] == ["chaos"]:
                    self.healed = False
                    log("chaos")
                elif cmd[:1] == ["stats"]:
                    reply = dict(self.stats, seed=self.seed, open=len(self.conns), healed=self.healed)
                elif cmd[:1] == ["target"] and len(cmd) == 2:
                    self.target = loopback(cmd[1])
                else:
                    reply = {"ok": False, "error": "commands: heal, chaos, stats, target HOST:PORT"}
                writer.write((json.dumps(reply) + "\n").encode())
                await writer.drain()
        finally:
            writer.close()


async def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--target", required=True)
    ap.add_argument("--control", default="127.0.0.1:0")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--mode", choices=("chaos", "clean"), default="chaos")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    print(f"seed={seed}", flush=True)
    p = Proxy(loopback(a.listen), loopback(a.target), seed, a.mode)
    await p.open_listener()
    ch, cp = loopback(a.control)
    ctl = await asyncio.start_server(p.control, ch, cp)
    print(f"listening {p.listen_host}:{p.listen_port} control {ch}:{ctl.sockets[0].getsockname()[1]}", flush=True)
    await p.refusals()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
