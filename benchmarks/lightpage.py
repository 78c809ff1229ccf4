"""Light live pages for `bench_fanout`: clients that speak Reflex's websocket protocol exactly as
a /leaderboard page does, at a few kilobytes and microseconds each instead of a renderer.

One `LightPage` is one browser tab: an Engine.IO v4 / Socket.IO v5 client over a websocket of
its own, written on `asyncio.Protocol` (the websocket framing by hand, no library: a library's
per-message machinery is what would be measured at 2,000 clients, see the script's docstring).
What it sends is what a real page sends, copied from one (`Script`, captured by bench_fanout
from Chromium over the DevTools protocol):

  GET /_event/?token=<uuid>&EIO=4&transport=websocket   (subprotocol: Reflex's version)
  <- 0{"sid":...,"pingInterval":25000,...}              Engine.IO open
  -> 40/_event,{"event": <hydrate_and_load>, "state_schema": ...}   connect, hydrate inside
  <- 40/_event,{"sid":...}                              connected
  -> 42/_event,["event",{<LiveRanking.link, the page's timer's first tick>}]
  <- 42/_event,["event",{"delta":...}] ...              hydrate, on_load, the ranking
  <- 2 / -> 3                                           Engine.IO ping / pong (every 25 s)
  -> 42/_event,["event",{<link tick>}]                  every `tick_seconds` (60 on /leaderboard)

Each page records, with `time.time()` (one clock for every process on the machine), when it
first held each month total (the `month_total` of a delta: the ranking that includes that many
votes), and when it was last live (it got its ranking after connecting). After a dropped
connection it reconnects as Reflex's client does: at once, then with a backoff of 200 ms per
failed attempt (at most 2 s), rehydrating in full (no `hashes`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

TOTAL = re.compile(rb'month_total_rx_state_":(\d+)')
LIVE = re.compile(rb'month_rx_state_":"\d')  # a ranking, not the defaults a full hydrate sends


@dataclass
class Script:
    """What a real /leaderboard page sent, to replay: the Socket.IO CONNECT packet with the
    hydrate event (`connect`), and the link event of its timer (`tick`, whose `_tick` payload
    is the browser's date string)."""

    connect: str  # '40/_event,{"event":{...hydrate_and_load...},"state_schema":"..."}'
    tick: str  # '42/_event,["event",{...link...,"payload":{"_tick":"..."}}]'
    subprotocol: str  # Reflex's version, sent as the websocket subprotocol

    def reconnect(self) -> str:
        """The CONNECT packet of a reconnect: the hydrate without the first load's `hashes`."""
        prefix, body = self.connect.split(",", 1)
        auth = json.loads(body)
        auth["event"].get("payload", {}).pop("hashes", None)
        return f"{prefix},{json.dumps(auth, separators=(',', ':'))}"

    def tick_now(self) -> str:
        prefix, body = self.tick.split(",", 1)
        message = json.loads(body)
        message[1]["payload"] = {"_tick": time.strftime("%a %b %d %Y %H:%M:%S GMT+0000")}
        return f"{prefix},{json.dumps(message, separators=(',', ':'))}"


def _frame(text: str) -> bytes:
    """A masked websocket text frame (a client's frames must be masked)."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        header = bytes((0x81, 0x80 | n))
    elif n < 65536:
        header = bytes((0x81, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x81, 0x80 | 127)) + n.to_bytes(8, "big")
    mask = os.urandom(4)
    repeated = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")
    return header + mask + masked


@dataclass
class Stats:
    connects: int = 0  # websocket handshakes that succeeded
    failed_attempts: int = 0  # connection attempts refused or dropped before the namespace
    drops: int = 0  # established connections that closed
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


class LightPage(asyncio.Protocol):
    def __init__(
        self,
        host: str,
        port: int,
        script: Script,
        stats: Stats,
        *,
        tick_seconds: float = 60.0,
        connect_timeout: float = 30.0,
    ) -> None:
        self.host, self.port, self.script, self.stats = host, port, script, stats
        self.token = _uuid4()
        self.tick_seconds, self.connect_timeout = tick_seconds, connect_timeout
        self.seen: dict[int, float] = {}  # month total -> when first held
        self.most = -1
        self.live_at = 0.0  # when it last got its ranking after (re)connecting; 0: not live
        self.connected_at = 0.0
        self.closing = False
        self.attempts = 0
        self.reconnecting = False
        self.first = True  # the first connect sends the first load's hydrate
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._handshaken = False
        self._fragments: list[bytes] = []
        self._ticker: asyncio.TimerHandle | None = None
        self._lost: asyncio.Future[None] | None = None
        self._retry: asyncio.Future[None] | None = None
        self.live = asyncio.Event()  # set whenever live_at is

    # -- connecting ---------------------------------------------------------------------
    async def open(self) -> bool:
        """Connect once; whether the socket opened (the rest happens in callbacks)."""
        loop = asyncio.get_running_loop()
        self._buffer.clear()
        self._handshaken = False
        self._lost = loop.create_future()
        try:
            await asyncio.wait_for(
                loop.create_connection(lambda: self, self.host, self.port), self.connect_timeout
            )
        except (OSError, TimeoutError) as e:
            self.stats.failed_attempts += 1
            self.stats.error(type(e).__name__)
            return False
        return True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /_event/?token={self.token}&EIO=4&transport=websocket HTTP/1.1\r\n"
            f"Host: {self.host}:{self.port}\r\n"
            f"Origin: http://{self.host}:{self.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: {self.script.subprotocol}\r\n\r\n"
        )
        transport.write(request.encode())

    def connection_lost(self, exc: Exception | None) -> None:
        was_up = self._handshaken
        self.transport = None
        self.live_at = 0.0
        self.live.clear()
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)
        if self.closing:
            return
        if was_up and self.connected_at:
            self.stats.drops += 1
        else:
            self.stats.failed_attempts += 1
        self._schedule_reconnect()

    def _schedule_reconnect(self) -> None:
        """As Reflex's client: at once after a drop, then 200 ms more per failed attempt."""
        if self.reconnecting or self.closing:
            return
        self.reconnecting = True
        delay = 0.0 if self.connected_at else 0.2 * min(self.attempts, 10)
        self.connected_at = 0.0
        self.attempts += 1
        asyncio.get_running_loop().call_later(delay, self._reconnect)

    def _reconnect(self) -> None:
        async def again() -> None:
            self.reconnecting = False
            if self.closing:
                return
            if not await self.open():
                self._schedule_reconnect()

        self._retry = asyncio.ensure_future(again())

    def close(self) -> None:
        self.closing = True
        if self._ticker is not None:
            self._ticker.cancel()
        if self.transport is not None:
            self.transport.close()

    # -- receiving ----------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        if not self._handshaken:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buffer[: buffer.find(b"\r\n")])
            del buffer[: end + 4]
            if b" 101 " not in status:
                self.stats.error("handshake " + status.decode(errors="replace")[9:12])
                assert self.transport is not None
                self.transport.close()
                return
            self._handshaken = True
            self.stats.connects += 1
        while len(buffer) >= 2:
            first, second = buffer[0], buffer[1]
            length, start = second & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    return
                length, start = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                if len(buffer) < 10:
                    return
                length, start = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < start + length:
                return
            payload = bytes(buffer[start : start + length])
            del buffer[: start + length]
            opcode = first & 0x0F
            if opcode == 0x8:  # close
                assert self.transport is not None
                self.transport.close()
                return
            if opcode == 0x9:  # websocket ping
                self._send_raw(0x8A, payload)
                continue
            if opcode in (0x1, 0x2, 0x0):
                self._fragments.append(payload)
                if first & 0x80:
                    message = b"".join(self._fragments)
                    self._fragments.clear()
                    self._message(message)

    def _message(self, message: bytes) -> None:
        kind = message[:1]
        if kind == b"4":  # Engine.IO message: a Socket.IO packet
            if message.startswith(b"42", 0):
                self._event(message)
            elif message.startswith(b"40", 0):  # the namespace is connected
                self.connected_at = time.time()
                self.attempts = 0
                self._send(self.script.tick_now())  # the page's timer ticks once on mount
                self._schedule_tick(first=True)
            elif message.startswith(b"44", 0):
                self.stats.error("connect_error")
        elif kind == b"2":  # Engine.IO ping
            self._send("3")
        elif kind == b"0":  # Engine.IO open: connect the namespace with the hydrate
            self._send(self.script.connect if self.first else self.script.reconnect())
            self.first = False

    def _event(self, message: bytes) -> None:
        now = time.time()
        match = TOTAL.search(message)
        if match is not None:
            total = int(match.group(1))
            if total not in self.seen:
                self.seen[total] = now
            if total > self.most:
                self.most = total
        if not self.live_at and LIVE.search(message):
            self.live_at = now
            self.live.set()

    # -- sending ------------------------------------------------------------------------
    def _send(self, text: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_frame(text))

    def _send_raw(self, first: int, payload: bytes) -> None:
        if self.transport is None:
            return
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes((first, 0x80 | len(payload))) + mask + masked)

    def _schedule_tick(self, *, first: bool = False) -> None:
        # pages opened together tick apart: a random phase, then every `tick_seconds`
        delay = random.uniform(0, self.tick_seconds) if first else self.tick_seconds
        self._ticker = asyncio.get_running_loop().call_later(delay, self._tick)

    def _tick(self) -> None:
        self._send(self.script.tick_now())
        self._schedule_tick()


def _uuid4() -> str:
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# -- a client process: many pages on one event loop, driven over a pipe ---------------------


def serve_pages(conn: Any, host: str, port: int, script: Script, tick_seconds: float) -> None:
    """The body of a client process: commands come over `conn` (a multiprocessing
    Connection), one reply each. Runs uvloop if it is installed."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    import resource

    resource.setrlimit(resource.RLIMIT_NOFILE, resource.getrlimit(resource.RLIMIT_NOFILE)[1:] * 2)
    asyncio.run(_serve(conn, host, port, script, tick_seconds))


async def _serve(conn: Any, host: str, port: int, script: Script, tick_seconds: float) -> None:
    loop = asyncio.get_running_loop()
    stats = Stats()
    pages: list[LightPage] = []

    async def open_pages(count: int, concurrency: int) -> float:
        """Open `count` more pages, `concurrency` handshakes at a time; wait until each is
        live. Returns the seconds it took."""
        started = time.monotonic()
        new = [
            LightPage(host, port, script, stats, tick_seconds=tick_seconds) for _ in range(count)
        ]
        pages.extend(new)
        gate = asyncio.Semaphore(concurrency)

        async def one(page: LightPage) -> None:
            async with gate:
                if not await page.open():
                    page._schedule_reconnect()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(page.live.wait(), 120)

        await asyncio.gather(*(one(p) for p in new))
        return time.monotonic() - started

    while True:  # the pipe is read in a thread: its descriptor stays blocking for the replies
        command, argument = await loop.run_in_executor(None, conn.recv)
        if command == "open":
            count, concurrency = argument
            conn.send(await open_pages(count, concurrency))
        elif command == "status":
            usage = resource_usage()
            conn.send(
                {
                    "pages": len(pages),
                    "open": sum(1 for p in pages if p.transport is not None),
                    "live": sum(1 for p in pages if p.live_at),
                    "connects": stats.connects,
                    "failed_attempts": stats.failed_attempts,
                    "drops": stats.drops,
                    "errors": dict(stats.errors),
                    "cpu": usage,
                }
            )
        elif command == "seen":  # per page: {total: first time held} for totals >= argument
            conn.send([{t: at for t, at in p.seen.items() if t >= argument} for p in pages])
        elif command == "live_at":  # per page: when it was last live (0: not now)
            conn.send([p.live_at for p in pages])
        elif command == "close":
            for page in pages:
                page.close()
            await asyncio.sleep(0.5)
            conn.send(True)
            return


def resource_usage() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
