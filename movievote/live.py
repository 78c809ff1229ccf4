"""The live ranking that every leaderboard and display page shows, pushed on every change.

`LiveFeed`, a ranking observer (one per process), builds ONE state delta per change, encoded
once by Socket.IO, and sends it to every live page whose websocket this process holds. Reflex's
`rx.SharedState` did the same job by loading, patching and diffing every linked browser's state
tree in turn (about 3.5 ms of server time per browser per change, measured), so a few hundred
open pages would have held the event loop for a second at every change (203 ms of server CPU
per vote with 50 pages open, against 36 ms now); here each extra page costs one socket write.

The pages bind to `LiveRanking`'s vars; only the feed writes them (straight into the browsers),
never a handler, so every browser's copy is always SET whole from the service: a missed update
heals with the next one. A live page calls `LiveRanking.link` on load and on a timer; the link
registers the page with its worker's feed and sends it the current ranking: always on load
(Reflex's hydrate, which precedes every load, resets the page's copy to the defaults the
server-side state keeps), and on a tick only if the page lacks it (a socket that changed). When
a month ends the feed turns every page to the new month by itself. With several workers each
worker's feed serves its own sockets and hears every change (its own folds, and PostgreSQL NOTIFY for the others'),
so every browser gets one update per change.

Screen readers hear what moved ("Jaws moves up to second"): the feed words it once per change
for every page, in every language (`services.rank_moves`), against the ranking it last
announced, at most once per `ANNOUNCE_SECONDS`; the pages read it from a polite live region
(`announcer`). See `LiveFeed._announcement`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import engineio.async_drivers.asgi
import engineio.async_socket
import reflex as rx
import socketio
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from reflex.state import StateUpdate
from reflex_base.constants.state import FIELD_MARKER
from socketio import packet as sio_packet

from movievote.components.i18n import LANG
from movievote.languages import DEFAULT_LANGUAGE, LANGUAGES
from movievote.models import Ranking
from movievote.periods import current_period, format_period, next_vote_opens, parse_period
from movievote.root import Root, get_root
from movievote.services import ranking_cache
from movievote.services.observer import RankingChange
from movievote.services.rank_moves import Move, describe, moves

logger = logging.getLogger(__name__)
TOP = 10
REGISTRATION_SECONDS = 150.0  # pages re-link at least every 60 s; forget one silent this long
# How often a new ranking goes out to every page: a vote now and then is sent at once; a
# stream of votes (the ranking subject folds one batch every 50 ms under load) as its latest
# ranking once per interval, so the pages' share of the server does not grow with the vote
# rate. The interval grows with the pages this process serves, because a push costs each of
# them a socket write (about 60-70 us of this process's CPU here, measured): 250 ms up to 500
# pages, then 0.5 ms per page (2,000 pages: 1 s), which keeps pushes under a stream of votes
# to about an eighth of a core however many pages are open. Up to PUSH_BURST pushes may go
# back to back (a token bucket, refilled one push per interval): a vote a second at 2,000
# pages is not held back by the jitter of when each one is counted (docs/performance.md,
# "Fan-out").
PUSH_INTERVAL_SECONDS = 0.25
PUSH_SECONDS_PER_PAGE = 0.0005
PUSH_BURST = 2.0
# Under a stream of votes (STREAM_CHANGES changes of the ranking within a second: the subject
# folds every 50 ms under load, a vote now and then is one change) the interval is
# STREAM_SLOWDOWN times as long: 2 s at 2,000 pages. A push costs the same whatever the vote
# rate, so with votes 4-5 times cheaper than when the interval was set (issue 16) the pushes
# at 1 s had become a third of what a stream of votes could use (votes/s with 2,000 pages open:
# 70% of the rate with none); a lone vote still goes out at once (docs/performance.md).
STREAM_CHANGES = 5
STREAM_SLOWDOWN = 2.0
# At most one announcement of what moved per page this often: each is a sentence a screen
# reader speaks, and a new one interrupts nobody but queues behind the last (polite), so more
# often would be a backlog of stale news under a stream of votes. What moved meanwhile is said
# together, against the ranking last announced, once the interval has passed.
ANNOUNCE_SECONDS = 5.0
PODIUM = 3  # the movies page shows this month's top 3: it hears only of moves into them


def rows_of(
    board: Ranking, titles: dict[int, dict[str, str]] | None = None
) -> list[dict[str, Any]]:
    """A ranking as the pages' rows; `titles`: each movie's title per language (a page shows
    the one of its language: `row_title`)."""
    return [
        {
            "rank": entry.rank,
            "id": entry.movie.id,
            "title": entry.movie.title,
            "titles": (titles or {}).get(entry.movie.id or 0, {}),
            "year": str(entry.movie.year or ""),
            "votes": entry.votes,
            "share": entry.share,  # 0 to 1, formatted in the page's language
            "poster_url": entry.movie.poster_url or "",
        }
        for entry in board.items
    ]


class LiveRanking(rx.State):
    """The current month's and the all-time top 10 as the live pages show them. The browser's
    copy is written by `LiveFeed` only; the server-side copy keeps its defaults."""

    month: str = ""  # YYYY-MM
    month_total: int = 0
    month_rows: list[dict[str, Any]] = []
    all_total: int = 0
    all_rows: list[dict[str, Any]] = []
    updated_at: str = ""  # ISO 8601, when the ranking was computed
    closes_at: str = ""  # ISO 8601, when this month's voting closes

    @rx.event
    async def link(self, _tick: str = "") -> None:
        """Follow the live ranking: on load (a reconnect, after a drop or a restart, loads the
        page again, on whichever worker it lands), and from the page's timer, which keeps the
        registration alive and catches whatever a load missed."""
        feed = get_live_feed(get_root())
        if feed is None:
            return
        try:  # a tick carries the time; a load (after a hydrate) carries none
            await feed.link(self.router.session.client_token, loaded=not _tick)
        except Exception:  # the database is away: keep the page as it is, retry next tick
            logger.warning("could not link a live page", exc_info=True)


class LiveAnnouncement(rx.State):
    """What moved in the live rankings, in words, for the pages' polite live region: written
    by `LiveFeed` only, like `LiveRanking` (its own state, so a change re-renders only the
    region). `said`: {"n": a count (the same words twice are spoken twice), and per ranking
    ("month", "podium", "all") each language's sentence}."""

    said: dict[str, Any] = {}


def announcer(ranking: rx.Var[str] | str) -> rx.Component:
    """The polite live region that speaks what moved in `ranking` ("month", "podium", "all",
    or anything else for nothing), in the page's language: present, empty and invisible from
    the first paint, so a page's load announces nothing, then each announcement replaces its
    text (a new node each time, so the same words are spoken again)."""
    said = LiveAnnouncement.said
    text: rx.Var[str] = rx.Var(
        f"(({said})?.[{rx.Var.create(ranking)}]?.[{LANG}] ?? '')", _var_type=str
    )
    return rx.el.div(
        rx.el.span(text, key=rx.Var(f"String(({said})?.n ?? 0)", _var_type=str)),
        role="status",
        aria_live="polite",
        aria_atomic="true",
        id="ranking-announcement",
        # visually hidden, still read
        position="absolute",
        width="1px",
        height="1px",
        margin="-1px",
        padding="0",
        border="0",
        overflow="hidden",
        clip="rect(0 0 0 0)",
        clip_path="inset(50%)",
        white_space="nowrap",
    )


def positions(rows: list[dict[str, Any]]) -> dict[int, int]:
    """Movie id -> rank, from `rows_of`'s rows."""
    return {row["id"]: row["rank"] for row in rows}


def announcement(
    told: Mapping[str, dict[int, int]], values: Mapping[str, Any]
) -> dict[str, dict[str, str]]:
    """What moved between the positions the pages were `told` ("month", "all") and these
    `live_values`, per ranking ("month", "podium", "all") and language; {} when nothing rose."""
    said: dict[str, dict[str, str]] = {}
    for name, rows_key, keep in (
        ("month", "month_rows", None),
        ("podium", "month_rows", PODIUM),
        ("all", "all_rows", None),
    ):
        rows = values[rows_key]
        found: list[Move] = moves(told.get(rows_key, {}), positions(rows))
        if keep is not None:
            found = [move for move in found if move.rank <= keep]
        if not found:
            continue
        said[name] = {
            language: describe(
                found,
                {row["id"]: row["titles"].get(language) or row["title"] for row in rows},
                language=language,
                top=TOP,
            )
            for language in LANGUAGES
        }
    return said


def row_title(row: rx.vars.ObjectVar[dict[str, Any]]) -> rx.Var[str]:
    """A ranking row's title in the page's language (the catalogue's where it has none)."""
    return rx.Var(f"(({row})?.titles?.[{LANG}] ?? ({row})?.title ?? '')", _var_type=str)


def titles_of(boards: Mapping[str, tuple[Ranking, ...]]) -> dict[int, dict[str, str]]:
    """Each movie's title in each language, from the rankings read in each language."""
    titles: dict[int, dict[str, str]] = {}
    for language, read in boards.items():
        for board in read:
            for entry in board.items:
                titles.setdefault(entry.movie.id or 0, {})[language] = entry.movie.title
    return titles


def live_values(boards: Mapping[str, tuple[Ranking, Ranking]], *, zone: ZoneInfo) -> dict[str, Any]:
    """The values of `LiveRanking`'s vars for these rankings (this month's and all time's, per
    language): one delta every page gets, each showing the titles of its language."""
    month, all_time = boards[DEFAULT_LANGUAGE]
    titles = titles_of(boards)
    period = parse_period(month.period)
    return {
        "month": month.period,
        "month_total": month.total_votes,
        "month_rows": rows_of(month, titles),
        "all_total": all_time.total_votes,
        "all_rows": rows_of(all_time, titles),
        "updated_at": max(month.generated_at, all_time.generated_at).isoformat(),
        "closes_at": next_vote_opens(period, zone).isoformat(),
    }


def same_ranking(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two `live_values` show the same rankings (when they were computed aside)."""
    return {k: v for k, v in a.items() if k != "updated_at"} == {
        k: v for k, v in b.items() if k != "updated_at"
    }


Rankings = Callable[[], Awaitable[dict[str, tuple[Ranking, Ranking]]]]


def latest_of(root: Root) -> Rankings:
    """What a live page shows, read through the root's cache: this month's and all time's,
    in every language (one cached ranking each; the other languages' are derived from it)."""
    zone, cache = root.settings.zone, root.cache

    async def latest() -> dict[str, tuple[Ranking, Ranking]]:
        return {
            language: (
                await ranking_cache.ranking_for(
                    None, limit=TOP, language=language, cache=cache, zone=zone
                ),
                await ranking_cache.ranking_for(
                    "all", limit=TOP, language=language, cache=cache, zone=zone
                ),
            )
            for language in LANGUAGES
        }

    return latest


@dataclass
class _Page:
    expires: float  # monotonic
    sid: str = ""  # the socket it last received the ranking on
    version: int = 0  # the ranking it last received


class LiveFeed:
    """Ranking observer that keeps every live page connected to this process current."""

    def __init__(
        self,
        app: rx.App,
        *,
        latest: Rankings,
        zone: ZoneInfo,
        push_interval: float = PUSH_INTERVAL_SECONDS,
        push_seconds_per_page: float = PUSH_SECONDS_PER_PAGE,
        push_burst: float = PUSH_BURST,
        stream_slowdown: float = STREAM_SLOWDOWN,
        announce_interval: float = ANNOUNCE_SECONDS,
    ) -> None:
        self.app = app
        self.latest = latest  # reads the rankings (through the cache)
        self.zone = zone
        self.push_interval = push_interval
        self.push_seconds_per_page = push_seconds_per_page
        self.values: dict[str, Any] = {}
        self.version = 0  # bumped whenever `values` shows a different ranking
        self._pages: dict[str, _Page] = {}  # client token -> what it has
        self._swept = time.monotonic()
        self._lock = asyncio.Lock()  # one writer at a time: each socket gets rankings in order
        self.push_burst = push_burst
        self._credit = push_burst  # pushes to every page that may go out now
        self._credited_at = time.monotonic()
        self._stale = False  # a change came that no push has read yet
        self.stream_slowdown = stream_slowdown
        self._changes: deque[float] = deque(maxlen=STREAM_CHANGES)  # monotonic, the latest
        self._pusher: asyncio.Task[None] | None = None
        self.announce_interval = announce_interval
        self._told: dict[str, dict[int, int]] | None = None  # positions last announced
        self._told_month = ""  # YYYY-MM: their month
        self._told_at = -math.inf  # monotonic: when the last announcement went out
        self._announcements = 0
        self._teller: asyncio.Task[None] | None = None

    def interval(self) -> float:
        """One push to every page per this long, sustained, for the pages registered now (and
        `stream_slowdown` times as long while the ranking changes as under a stream of votes)."""
        interval = max(self.push_interval, len(self._pages) * self.push_seconds_per_page)
        return interval * self.stream_slowdown if self.streaming() else interval

    def streaming(self) -> bool:
        """Whether the ranking changed `STREAM_CHANGES` times within the last second."""
        changes = self._changes
        return len(changes) == changes.maxlen and time.monotonic() - changes[0] < 1.0

    def _earn(self) -> float:
        """The pushes that may go out now (one more per `interval()`, at most `push_burst`)."""
        now = time.monotonic()
        earned = (now - self._credited_at) / self.interval()
        self._credit = min(self.push_burst, self._credit + earned)
        self._credited_at = now
        return self._credit

    async def ranking_changed(self, change: RankingChange) -> None:
        """Push the new ranking at once if a push may go out; otherwise as soon as one may
        (whatever the ranking is by then), without waiting for it."""
        self._changes.append(time.monotonic())
        self._forget_silent_pages(time.monotonic())
        if not self._pages:  # nobody to tell: the next page to link reads it afresh
            self.values, self._told = {}, None
            return
        self._stale = True
        if self._pusher is not None and not self._pusher.done():
            return  # a push is due: it will read this change too
        if self._earn() >= 1:
            self._stale = False
            async with self._lock:
                await self._push_if_changed()
            return
        self._pusher = asyncio.get_running_loop().create_task(
            self._push_when_due(), name="live-feed-push"
        )

    async def _push_when_due(self) -> None:
        while self._stale:
            short = 1 - self._earn()
            if short > 0:
                await asyncio.sleep(short * self.interval())
            self._stale = False
            try:
                async with self._lock:
                    await self._push_if_changed()
            except Exception:  # the database is away: the next change or link retries
                logger.exception("could not push the ranking to the live pages")

    async def roll_over(self) -> bool:
        """If a new month has begun since the pages got their ranking, send them its (empty)
        ranking; whether it had."""
        async with self._lock:
            if not self._month_is_over():
                return False
            await self._push_if_changed()
            return True

    async def follow_the_calendar(self) -> None:
        """At each month's end, turn every live page to the new month, vote or no vote."""
        while True:
            await asyncio.sleep(seconds_until_the_month_ends(self.zone) + 0.5)
            try:
                await self.roll_over()
            except Exception:  # the database is away: the pages' own links retry
                logger.exception("could not turn the live pages to the new month")

    async def link(self, token: str, *, loaded: bool = True) -> None:
        """Register the page of client `token` and send it the ranking: if it was just
        `loaded` (hydrated: it shows the defaults), or if it lacks this one."""
        async with self._lock:
            now = time.monotonic()
            if now - self._swept > REGISTRATION_SECONDS:  # closed pages, even with no votes
                self._forget_silent_pages(now)
            page = self._pages.setdefault(token, _Page(expires=0.0))
            page.expires = now + REGISTRATION_SECONDS
            fresh_process = not self.values
            if (fresh_process or self._month_is_over()) and await self._push_if_changed():
                return  # this page was among everyone
            await self._send([token], only_if_behind=not loaded)

    def live_pages(self) -> int:
        return sum(1 for page in self._pages.values() if page.expires > time.monotonic())

    def _month_is_over(self) -> bool:
        """Whether the pages got the ranking of a month that has since ended."""
        current = format_period(current_period(self.zone))
        return bool(self.values) and self.values["month"] != current

    def _forget_silent_pages(self, now: float) -> None:
        self._swept = now
        self._pages = {t: p for t, p in self._pages.items() if p.expires > now}

    async def _push_if_changed(self) -> bool:
        """Re-read the rankings; if they changed, send them to every live page. Whether they had."""
        if not await self._refresh():
            return False
        self._forget_silent_pages(time.monotonic())
        await self._send(list(self._pages), said=self._announcement())
        self._earn()
        self._credit -= 1
        return True

    async def _refresh(self) -> bool:
        """Read the rankings (from the cache); whether they differ from the last ones."""
        values = live_values(await self.latest(), zone=self.zone)
        if self.values and same_ranking(values, self.values):
            return False
        self.values = values
        self.version += 1
        return True

    def _announcement(self) -> dict[str, Any] | None:
        """What moved since the last announcement, if one may go out now (and something rose):
        then it is the last. If one may not yet, a teller will say it when it may.

        Worded here, once per change for every page (a sentence per ranking and language, a
        few microseconds), not in each browser: the pages only show it. A process's first
        reading is the base, never news: a page's load must not announce the whole ranking."""
        if not self.values:
            return None
        if self._told is None:
            self._tell_from_here()
            return None
        if self.values["month"] != self._told_month:  # a new month: every movie is news
            self._told["month_rows"] = {}
            self._told_month = self.values["month"]
        wait = self._told_at + self.announce_interval - time.monotonic()
        if wait > 0:
            if self._teller is None or self._teller.done():
                self._teller = asyncio.get_running_loop().create_task(
                    self._tell_when_due(wait), name="live-feed-announce"
                )
            return None
        said = announcement(self._told, self.values)
        self._tell_from_here()
        if not said:
            return None
        self._told_at = time.monotonic()
        self._announcements += 1
        return {"n": self._announcements, **said}

    def _tell_from_here(self) -> None:
        self._told = {key: positions(self.values[key]) for key in ("month_rows", "all_rows")}
        self._told_month = self.values["month"]

    async def _tell_when_due(self, wait: float) -> None:
        """Say what moved once an announcement may go out again (nothing, if nothing did).
        While a push is due (a stream of votes) it carries the words, so they cost the pages
        no socket write of their own; said alone once the pushes stop."""
        await asyncio.sleep(wait)
        while (pusher := self._pusher) is not None and not pusher.done():
            await asyncio.wait({pusher})  # its end, whatever it was (it logs its own errors)
        self._teller = None  # done waiting: a wake a hair early waits again, in a new teller
        try:
            async with self._lock:
                said = self._announcement()
                if said:
                    await self._send(list(self._pages), said=said, ranking=False)
        except Exception:
            logger.exception("could not tell the live pages what moved")

    async def _send(
        self,
        tokens: list[str],
        *,
        only_if_behind: bool = False,
        said: dict[str, Any] | None = None,
        ranking: bool = True,
    ) -> None:
        """Send the current values (unless not `ranking`) and the announcement `said`, if any,
        to those of `tokens` with a live socket on this process, in one Socket.IO emit (the
        packet is encoded once).

        Every page gets the announcement, also one loaded since the ranking it starts from
        (at most `ANNOUNCE_SECONDS` earlier): it may hear of a move its load showed, which
        beats missing a move made after it, and telling them apart would be work per page."""
        namespace = self.app.event_namespace
        if namespace is None:
            return
        manager, sids = namespace._token_manager, []
        for token in tokens:
            page = self._pages.get(token)
            if page is None:
                continue
            socket = manager.token_to_socket.get(token)
            if socket is None or socket.instance_id != manager.instance_id:
                continue  # closed, or another worker's socket (that worker serves it)
            if only_if_behind and page.sid == socket.sid and page.version == self.version:
                continue
            if ranking:
                page.sid, page.version = socket.sid, self.version
            sids.append(socket.sid)
        if not sids:
            return
        delta: dict[str, Any] = {}
        if ranking:
            values = {k + FIELD_MARKER: v for k, v in self.values.items()}
            delta[LiveRanking.get_full_name()] = values
        if said is not None:
            delta[LiveAnnouncement.get_full_name()] = {"said" + FIELD_MARKER: said}
        await deliver(
            namespace, sids, str(rx.constants.SocketEvent.EVENT), StateUpdate(delta=delta)
        )


async def deliver(namespace: Any, sids: list[str], event: str, data: Any) -> None:
    """Send one Socket.IO event to the sockets `sids`: encoded once, and the same Engine.IO
    packet put straight into each socket's send queue, whose writer task sends it.

    `AsyncServer.emit` does the same with a task per recipient (to call `send_packet`, which
    checks the socket's ping and awaits the queue), then waits for them all: at 2,000 pages
    that was most of the server's time per update (profiled, docs/performance.md "Fan-out").
    The queue keeps each socket's order: Reflex's own emits to a socket are queued before
    its emit returns. Without a Socket.IO server (tests), the namespace's `emit`."""
    server = getattr(namespace, "server", None)
    if not isinstance(server, socketio.AsyncServer):
        await namespace.emit(event, data, to=sids)
        return
    name = namespace.namespace
    encoded = server.packet_class(sio_packet.EVENT, namespace=name, data=[event, data]).encode()
    if not isinstance(encoded, str):  # binary attachments: not a state delta
        await namespace.emit(event, data, to=sids)
        return
    packet = eio_packet.Packet(eio_packet.MESSAGE, encoded)
    packet.encode()  # the text every writer sends, computed once (Packet caches it)
    sockets, manager = server.eio.sockets, server.manager
    for sid in sids:
        eio_sid = manager.eio_sid_from_sid(sid, name)
        socket = sockets.get(eio_sid) if eio_sid is not None else None
        if socket is not None and not socket.closed:
            socket.queue.put_nowait(packet)


def seconds_until_the_month_ends(zone: ZoneInfo, now: datetime | None = None) -> float:
    """Until the current month's voting closes, at most an hour (so a clock that is set
    meanwhile cannot make the wait overshoot by much)."""
    now = now or datetime.now(UTC)
    closes = next_vote_opens(current_period(zone, now), zone)
    return max(0.0, min((closes - now).total_seconds(), 3600.0))


async def _poll(self: engineio.async_socket.AsyncSocket) -> list[eio_packet.Packet]:
    """`AsyncSocket.poll` (what a socket's writer task waits on) for many live sockets.

    Engine.IO's wraps every wait in `asyncio.wait_for`, which on Python 3.11 makes a task of
    its own and arms a timer (ping interval + timeout, 145 s) for each message sent: with
    2,000 pages that was most of the writers' time (profiled). Here a websocket's writer
    waits on its queue alone: it needs no timer, since its socket's receive loop, which keeps
    its own, queues None when the connection ends, whatever ends it (the client, a ping
    timeout, the server). A long-polling request still waits at most that long. The rest is
    Engine.IO's: the packets queued, [] once the socket closes (the None stays queued),
    QueueEmpty on the timeout or when cancelled."""
    queue = self.queue
    try:
        if not queue.empty():
            packets = [queue.get_nowait()]
        elif self.upgraded:
            packets = [await queue.get()]
        else:
            async with asyncio.timeout(self.server.ping_interval + self.server.ping_timeout):
                packets = [await queue.get()]
        queue.task_done()
    except (TimeoutError, asyncio.CancelledError):
        raise eio_exceptions.QueueEmpty() from None
    if packets == [None]:
        return []
    while not queue.empty():
        pkt = queue.get_nowait()
        queue.task_done()
        if pkt is None:
            queue.put_nowait(None)
            break
        packets.append(pkt)
    return packets


RAW_SEND = "movievote.raw_send"  # movievote.api.edges.RAW_SEND: the server's own `send`


async def _accept_then_send_raw(self: Any, environ: dict[str, Any]) -> str:
    """Engine.IO's ASGI `WebSocket.__call__`, but once the socket is accepted (through the
    app's middleware, which answers with Reflex's subprotocol) its messages go straight to
    the server's `send` that the edges put in the scope, not through every middleware's
    wrapper of it: Starlette's two and Reflex's pass every websocket message through three
    coroutines that only watch for the start of an HTTP response (about a seventh of the
    writers' time at 2,000 pages, profiled)."""
    self.asgi_receive = environ["asgi.receive"]
    self.asgi_send = environ["asgi.send"]
    await self.asgi_send({"type": "websocket.accept"})
    raw = environ.get("asgi.scope", {}).get(RAW_SEND)
    if raw is not None:
        self.asgi_send = raw
    await self.handler(self)
    return ""  # send nothing as response


def tune_engineio() -> None:
    """Give Engine.IO's websocket writers the poll above, and their sends the server's own
    `send` (once per process)."""
    engineio.async_socket.AsyncSocket.poll = _poll
    engineio.async_drivers.asgi.WebSocket.__call__ = _accept_then_send_raw


def tune_the_garbage_collector() -> None:
    """Keep the cyclic garbage collector off the event loop while many pages are open.

    What the process built before serving (the compiled app, its states and components, about
    310,000 objects) is frozen out of its collections, and a young collection waits for 50,000
    new objects instead of 700. A push to 2,000 pages keeps thousands of objects alive for a
    moment (queued packets, woken tasks, timers); with Python's default thresholds they were
    promoted and collected again and again: a third of the event loop's time while votes came
    in (py-spy --native), against none with these (and about the same memory: what a young
    collection would find dies by reference counting meanwhile)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


LIVE_FEED = "live_feed"  # its key in the root's extras


def get_live_feed(root: Root) -> LiveFeed | None:
    """This process's feed, once the app's lifespan has started it."""
    feed = root.extras.get(LIVE_FEED)
    return feed if isinstance(feed, LiveFeed) else None


async def run_live_feed(app: rx.App) -> None:
    """Lifespan task: keep this process's LiveFeed subscribed to its ranking subject."""
    root = get_root()
    tune_engineio()
    tune_the_garbage_collector()
    feed = LiveFeed(app, latest=latest_of(root), zone=root.settings.zone)
    root.extras[LIVE_FEED] = feed
    root.subject.subscribe(feed)
    try:
        await feed.follow_the_calendar()
    finally:
        root.subject.unsubscribe(feed)
        root.extras.pop(LIVE_FEED, None)


SCREEN_HUB = "screen_hub"  # its key in the root's extras
SCREEN_REGISTRATION_SECONDS = 45.0  # displays beat every 5 s; forget one silent this long


class ScreenHub:
    """The paired-screen displays whose websockets this process holds, by screen id, and the
    way to tell one that its settings changed: an event sent down its socket (the display then
    reads its settings itself, on whichever worker its events go to), or a reload.

    The root's `ScreenBus` calls `screen_changed` for changes made in this process at once
    and, on PostgreSQL, for other processes' changes from their NOTIFY."""

    def __init__(self, app: rx.App, events: Mapping[str, Callable[[], Any]]) -> None:
        self.app = app
        self.events = events  # what -> a function making the event to send ("settings", ...)
        self._screen_of: dict[str, tuple[int, float]] = {}  # token -> (screen id, expiry)
        self._tokens: dict[int, set[str]] = {}  # screen id -> client tokens

    def register(self, screen_id: int, token: str) -> None:
        """The display of client `token` shows screen `screen_id` (for the next 45 s)."""
        before = self._screen_of.get(token)
        if before is not None and before[0] != screen_id:  # a browser shows one screen
            self._drop(token, before[0])
        self._screen_of[token] = (screen_id, time.monotonic() + SCREEN_REGISTRATION_SECONDS)
        self._tokens.setdefault(screen_id, set()).add(token)

    def _drop(self, token: str, screen_id: int) -> None:
        self._screen_of.pop(token, None)
        tokens = self._tokens.get(screen_id)
        if tokens is not None:
            tokens.discard(token)
            if not tokens:
                del self._tokens[screen_id]

    def tokens_of(self, screen_id: int) -> list[str]:
        """The live displays of a screen (forgetting those silent too long)."""
        now, live = time.monotonic(), []
        for token in list(self._tokens.get(screen_id, ())):
            if self._screen_of.get(token, (0, 0.0))[1] > now:
                live.append(token)
            else:
                self._drop(token, screen_id)
        return live

    async def screen_changed(self, screen_id: int, what: str) -> None:
        make = self.events.get(what)
        namespace = self.app.event_namespace
        if make is None or namespace is None:
            return
        manager = namespace._token_manager
        for token in self.tokens_of(screen_id):
            socket = manager.token_to_socket.get(token)
            if socket is None or socket.instance_id != manager.instance_id:
                continue  # closed, or another worker's socket (that worker tells it)
            update = StateUpdate(events=rx.event.Event.from_event_type([make()]))
            await namespace.emit(str(rx.constants.SocketEvent.EVENT), update, to=socket.sid)


def get_screen_hub(root: Root) -> ScreenHub | None:
    hub = root.extras.get(SCREEN_HUB)
    return hub if isinstance(hub, ScreenHub) else None


async def run_screen_hub(app: rx.App, events: Mapping[str, Callable[[], Any]]) -> None:
    """Lifespan task body: keep this process's ScreenHub subscribed to the root's bus."""
    root = get_root()
    hub = ScreenHub(app, events)
    root.extras[SCREEN_HUB] = hub
    root.screens.subscribe(hub.screen_changed)
    try:
        await asyncio.Event().wait()  # until the process stops
    finally:
        root.screens.unsubscribe(hub.screen_changed)
        root.extras.pop(SCREEN_HUB, None)
