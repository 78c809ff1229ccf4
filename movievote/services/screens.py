"""Lobby screens: pairing a display with a short code, what each paired one shows (its board
and language), and its health from the heartbeats it sends.

A display is known by a random secret its browser keeps (256 bits, never stored here: only
its SHA-256). Unpaired, it shows a pairing code of CODE_LENGTH characters from an alphabet
without look-alikes, valid CODE_MINUTES and used once; an admin who types it pairs the screen.
Every admin action writes its audit row in the same transaction as the change, then tells the
screen (`ScreenBus`: this process at once, the others through PostgreSQL NOTIFY).

Heartbeats cost the database little: a screen's beat is written only when what it says
changed, or when the last write is HEALTH_WRITE_SECONDS old (`HealthWrites`); the health
states are read from the last written beat: live, reconnecting (it missed a beat or two), or
silent since (more than SILENT_SECONDS).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from movievote.db import Database
from movievote.errors import N_, InvalidInput, ScreenCodeNotFound, ScreenNotFound
from movievote.languages import DEFAULT_LANGUAGE, LANGUAGES
from movievote.models import Screen, utcnow
from movievote.services.admin import Actor, record
from movievote.services.throttle import LoginThrottle
from movievote.text import storable

logger = logging.getLogger(__name__)
screens_t = Screen.__table__  # type: ignore[attr-defined]

Board = Literal["month", "all_time", "winner", "hall_of_fame"]
BOARDS: tuple[str, ...] = ("month", "all_time", "winner", "hall_of_fame")
# no 0/O/D/Q, 1/I/L/J, 2/Z, 5/S, 8/B, U/V: read right from across a room, and said aloud
CODE_ALPHABET = "ACEFGHKMNPRTWXY34679"
CODE_LENGTH = 6  # 20^6 = 64 million codes; with the guessing limit, no guess lands
CODE_MINUTES = 10
MAX_NAME_CHARS = 80
BEAT_SECONDS = 5  # a display beats this often
HEALTH_WRITE_SECONDS = 10  # ... and a beat that says nothing new is written this often
MIN_WRITE_SECONDS = 2.0  # a screen's beats that say something new, at most this often
RECONNECTING_SECONDS = HEALTH_WRITE_SECONDS + 2 * BEAT_SECONDS  # no write for this long: 20 s
SILENT_SECONDS = 60  # a paired screen quiet this long is silent: an alert and a log line
STALE_UNPAIRED_HOURS = 24  # unpaired screens not seen this long are forgotten
CHANNEL = "movievote_screens"  # PostgreSQL NOTIFY: "<origin>|<screen id>|<what>"
Health = Literal["live", "reconnecting", "silent", "never"]


def device_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_device_secret() -> str:
    """A display's secret (kept in its browser)."""
    return secrets.token_urlsafe(32)


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    """What an admin typed, as stored: capitals, no spaces or dashes."""
    return "".join(c for c in text.upper() if c.isalnum())


def code_text(code: str | None) -> str:
    """A code as the screen shows it: "K7M-4QX"."""
    if code is None or len(code) != CODE_LENGTH:
        return code or ""  # not a code of ours (what an admin typed): as it is
    half = CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


@dataclass(frozen=True)
class ScreenSettings:
    """What a display needs to know about itself."""

    id: int
    paired: bool
    name: str
    board: str
    language: str
    code: str  # "" once paired
    code_expires_at: datetime | None


@dataclass(frozen=True)
class ScreenHealth:
    """A paired screen as the admins' list shows it."""

    id: int
    name: str
    board: str
    language: str
    paired_at: datetime
    health: Health
    last_seen_at: datetime | None
    ranking_at: datetime | None
    user_agent: str
    resolution: str


ScreenListener = Callable[[int, str], Awaitable[None]]


class ScreenBus:
    """Tells this process's subscribers (the displays' hub) that a screen changed."""

    def __init__(self) -> None:
        self._listeners: list[ScreenListener] = []

    def subscribe(self, listener: ScreenListener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: ScreenListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    async def publish(self, screen_id: int, what: str) -> None:
        for listener in list(self._listeners):
            try:
                await listener(screen_id, what)
            except Exception:  # one screen's trouble must not stop the others'
                logger.exception("could not tell screen %s (%s)", screen_id, what)


def parse_note(payload: str) -> tuple[str, int, str]:
    """A NOTIFY payload: (origin, screen id, what); ValueError if it is not ours."""
    origin, screen_id, what = payload.rsplit("|", 2)
    return origin, int(screen_id), what


@dataclass(frozen=True)
class Desk:
    """Who acts at the admins' desk, and where a change goes: the database, this process's
    bus (its displays), and this process's name in the NOTIFY the others hear."""

    actor: Actor
    db: Database
    bus: ScreenBus
    origin: str


def _settings(row: Any) -> ScreenSettings:
    paired = row.paired_at is not None
    return ScreenSettings(
        id=row.id,
        paired=paired,
        name=row.name or "",
        board=row.board if paired else "month",
        language=row.language,
        code="" if paired else (row.code or ""),
        code_expires_at=None if paired else row.code_expires_at,
    )


async def _fresh_code(conn: AsyncConnection, screen_id: int, now: datetime) -> None:
    """Give an unpaired screen a new code (a clash with another screen's: draw again)."""
    for _ in range(5):
        code = new_code()
        taken = await conn.scalar(sa.select(screens_t.c.id).where(screens_t.c.code == code))
        if taken is None:
            await conn.execute(
                sa.update(screens_t)
                .where(screens_t.c.id == screen_id)
                .values(code=code, code_expires_at=now + timedelta(minutes=CODE_MINUTES))
            )
            return
    raise RuntimeError("no free pairing code after 5 draws")


async def identify(*, secret: str, db: Database) -> ScreenSettings:
    """The display whose browser keeps `secret`: its settings if paired, else its pairing code
    (a new one once the last has expired). A secret never seen becomes a new unpaired screen."""
    digest, now = device_hash(secret), utcnow()
    async with db.transaction() as conn:
        row = (
            await conn.execute(sa.select(screens_t).where(screens_t.c.device_hash == digest))
        ).first()
        if row is None:
            await conn.execute(  # the unpaired screens nobody looked at for a day
                sa.delete(screens_t).where(
                    screens_t.c.paired_at.is_(None),
                    sa.func.coalesce(screens_t.c.last_seen_at, screens_t.c.created_at)
                    < now - timedelta(hours=STALE_UNPAIRED_HOURS),
                )
            )
            await conn.execute(
                db.insert(screens_t)
                .values(
                    device_hash=digest, board="month", language=DEFAULT_LANGUAGE, created_at=now
                )
                .on_conflict_do_nothing(index_elements=["device_hash"])
            )
            row = (
                await conn.execute(sa.select(screens_t).where(screens_t.c.device_hash == digest))
            ).one()
        if row.paired_at is None and (
            row.code is None or row.code_expires_at is None or row.code_expires_at <= now
        ):
            await _fresh_code(conn, row.id, now)
            row = (await conn.execute(sa.select(screens_t).where(screens_t.c.id == row.id))).one()
        return _settings(row)


def _name(name: str) -> str:
    text = storable((name or "").strip(), field="name")
    if not text:
        raise InvalidInput(N_("Give the screen a name."), field="name")
    if len(text) > MAX_NAME_CHARS:
        raise InvalidInput(
            N_("A screen's name is at most {count} characters."),
            field="name",
            count=MAX_NAME_CHARS,
        )
    return text


def _board(board: str) -> str:
    if board not in BOARDS:
        raise InvalidInput(N_("Choose what the screen shows."), field="board")
    return board


def _language(language: str) -> str:
    if language not in LANGUAGES:
        raise InvalidInput(N_("Choose the screen's language."), field="language")
    return language


def _public(row: Any) -> dict[str, Any]:
    return {"name": row.name, "board": row.board, "language": row.language}


async def _tell(conn: AsyncConnection, desk: Desk, screen_id: int, what: str) -> None:
    """On PostgreSQL, tell the other processes when the transaction commits."""
    if desk.db.dialect == "postgresql":
        note = f"{desk.origin}|{screen_id}|{what}"
        await conn.execute(sa.select(sa.func.pg_notify(CHANNEL, note)))


async def pair(
    *,
    code: str,
    name: str,
    board: str = "month",
    language: str = DEFAULT_LANGUAGE,
    desk: Desk,
    throttle: LoginThrottle,
) -> ScreenHealth:
    """Pair the unpaired screen showing `code` (not expired; the code is used up). Wrong
    codes are counted per admin (`LoginThrottle.check_pairing`)."""
    label, board, language = _name(name), _board(board), _language(language)
    typed, now = normalise_code(code), utcnow()
    await throttle.check_pairing(actor=desk.actor.label)
    async with desk.db.transaction() as conn:
        row = (
            await conn.execute(
                sa.update(screens_t)
                .where(
                    screens_t.c.code == typed,
                    screens_t.c.paired_at.is_(None),
                    screens_t.c.code_expires_at > now,
                )
                .values(
                    paired_at=now,
                    name=label,
                    board=board,
                    language=language,
                    code=None,
                    code_expires_at=None,
                    silence_logged_at=None,
                )
                .returning(screens_t.c.id)
            )
        ).first()
        if row is None or not typed:
            await throttle.pairing_failed(actor=desk.actor.label)
            raise ScreenCodeNotFound(
                N_(
                    "No screen shows the code {code}, or it has expired. Check the code on "
                    "the screen (a new one appears every {minutes} minutes)."
                ),
                code=code_text(typed[:12]) or "-",
                minutes=CODE_MINUTES,
            )
        await record(
            conn,
            actor=desk.actor,
            action="screen.pair",
            target_type="screen",
            target_id=row.id,
            before=None,
            after={"name": label, "board": board, "language": language},
        )
        await _tell(conn, desk, row.id, "settings")
        found = await _health_row(conn, row.id)
    await desk.bus.publish(row.id, "settings")
    return found


async def _change(
    *,
    screen_id: int,
    values: dict[str, str],
    action: str,
    desk: Desk,
) -> ScreenHealth:
    async with desk.db.transaction() as conn:
        before = await _paired(conn, screen_id, lock=True)
        changed = {k: v for k, v in values.items() if getattr(before, k) != v}
        if changed:
            await conn.execute(
                sa.update(screens_t).where(screens_t.c.id == screen_id).values(**changed)
            )
            await record(
                conn,
                actor=desk.actor,
                action=action,
                target_type="screen",
                target_id=screen_id,
                before={k: getattr(before, k) for k in changed},
                after=changed,
            )
            await _tell(conn, desk, screen_id, "settings")
        found = await _health_row(conn, screen_id)
    if changed:
        await desk.bus.publish(screen_id, "settings")
    return found


async def rename(*, screen_id: int, name: str, desk: Desk) -> ScreenHealth:
    """Give a paired screen another name."""
    return await _change(
        screen_id=screen_id,
        values={"name": _name(name)},
        action="screen.rename",
        desk=desk,
    )


async def set_board(*, screen_id: int, board: str, desk: Desk) -> ScreenHealth:
    """Choose what a paired screen shows; it changes within a second or two."""
    return await _change(
        screen_id=screen_id,
        values={"board": _board(board)},
        action="screen.board",
        desk=desk,
    )


async def set_language(*, screen_id: int, language: str, desk: Desk) -> ScreenHealth:
    """Choose the language of a paired screen's texts."""
    return await _change(
        screen_id=screen_id,
        values={"language": _language(language)},
        action="screen.language",
        desk=desk,
    )


async def reload(*, screen_id: int, desk: Desk) -> ScreenHealth:
    """Reload a paired screen's page in its browser."""
    async with desk.db.transaction() as conn:
        found = await _health_row(conn, screen_id)
        await record(
            conn,
            actor=desk.actor,
            action="screen.reload",
            target_type="screen",
            target_id=screen_id,
            before=None,
            after={"name": found.name},
        )
        await _tell(conn, desk, screen_id, "reload")
    await desk.bus.publish(screen_id, "reload")
    return found


async def unpair(*, screen_id: int, desk: Desk) -> None:
    """Unpair a screen: it shows a new pairing code (and this month's public ranking)."""
    now = utcnow()
    async with desk.db.transaction() as conn:
        before = await _paired(conn, screen_id, lock=True)
        await conn.execute(
            sa.update(screens_t)
            .where(screens_t.c.id == screen_id)
            .values(paired_at=None, name=None, board="month", silence_logged_at=None)
        )
        await _fresh_code(conn, screen_id, now)
        await record(
            conn,
            actor=desk.actor,
            action="screen.unpair",
            target_type="screen",
            target_id=screen_id,
            before=_public(before),
            after=None,
        )
        await _tell(conn, desk, screen_id, "settings")
    await desk.bus.publish(screen_id, "settings")


def health_of(last_seen_at: datetime | None, now: datetime) -> Health:
    if last_seen_at is None:
        return "never"
    quiet = (now - last_seen_at).total_seconds()
    if quiet > SILENT_SECONDS:
        return "silent"
    if quiet > RECONNECTING_SECONDS:
        return "reconnecting"
    return "live"


def _health(row: Any, now: datetime) -> ScreenHealth:
    return ScreenHealth(
        id=row.id,
        name=row.name or "",
        board=row.board,
        language=row.language,
        paired_at=row.paired_at,
        health=health_of(row.last_seen_at, now),
        last_seen_at=row.last_seen_at,
        ranking_at=row.ranking_at,
        user_agent=row.user_agent or "",
        resolution=row.resolution or "",
    )


async def _paired(conn: AsyncConnection, screen_id: int, *, lock: bool = False) -> Any:
    """A paired screen's row (held FOR UPDATE if `lock`); ScreenNotFound if there is none."""
    query = sa.select(screens_t).where(
        screens_t.c.id == screen_id, screens_t.c.paired_at.is_not(None)
    )
    row = (await conn.execute(query.with_for_update() if lock else query)).first()
    if row is None:
        raise ScreenNotFound(
            N_("There is no paired screen with id {screen_id}."), screen_id=str(screen_id)
        )
    return row


async def _health_row(conn: AsyncConnection, screen_id: int) -> ScreenHealth:
    return _health(await _paired(conn, screen_id), utcnow())


async def list_screens(*, db: Database) -> list[ScreenHealth]:
    """Every paired screen, by name, with its health now."""
    now = utcnow()
    async with db.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(screens_t)
                .where(screens_t.c.paired_at.is_not(None))
                .order_by(screens_t.c.name, screens_t.c.id)
            )
        ).all()
    return [_health(row, now) for row in rows]


async def get_screen(*, screen_id: int, db: Database) -> ScreenHealth:
    async with db.engine.connect() as conn:
        return await _health_row(conn, screen_id)


@dataclass
class _Written:
    at: float  # time.monotonic() of the last write
    said: tuple[Any, ...]


class HealthWrites:
    """This process's last written beat per screen: a beat is written when it says something
    new (another ranking, browser or resolution) but at most every `min_seconds` (a stream
    of votes pushes a ranking four times a second), and HEALTH_WRITE_SECONDS after the last
    write when it says nothing new."""

    def __init__(
        self, every_seconds: float = HEALTH_WRITE_SECONDS, min_seconds: float = MIN_WRITE_SECONDS
    ) -> None:
        self.every_seconds, self.min_seconds = every_seconds, min_seconds
        self._written: dict[int, _Written] = {}

    def due(self, screen_id: int, said: tuple[Any, ...], now: float) -> bool:
        last = self._written.get(screen_id)
        if last is None:
            return True
        quiet = now - last.at
        return quiet >= self.every_seconds or (last.said != said and quiet >= self.min_seconds)

    def wrote(self, screen_id: int, said: tuple[Any, ...], now: float) -> None:
        if len(self._written) > 10_000:  # screens gone long ago
            self._written = {
                k: v for k, v in self._written.items() if now - v.at < 10 * self.every_seconds
            }
        self._written[screen_id] = _Written(now, said)


def _clip(text: str, limit: int) -> str:
    return "".join(c for c in text if c.isprintable())[:limit]


async def beat(
    *,
    screen_id: int,
    ranking_at: datetime | None,
    user_agent: str,
    resolution: str,
    db: Database,
    writes: HealthWrites,
) -> bool:
    """A display's heartbeat: written if due (`HealthWrites`); whether it was."""
    said = (ranking_at, _clip(user_agent, 300), _clip(resolution, 24))
    now = time.monotonic()
    if not writes.due(screen_id, said, now):
        return False
    writes.wrote(screen_id, said, now)
    async with db.transaction() as conn:
        await conn.execute(
            sa.update(screens_t)
            .where(screens_t.c.id == screen_id)
            .values(
                last_seen_at=utcnow(),
                ranking_at=said[0],
                user_agent=said[1] or None,
                resolution=said[2] or None,
                silence_logged_at=None,
            )
        )
    return True


async def newly_silent(*, db: Database) -> list[ScreenHealth]:
    """The paired screens silent for more than SILENT_SECONDS whose silence is not logged
    yet, marked logged (a conditional UPDATE: with several processes, one logs each)."""
    now = utcnow()
    async with db.transaction() as conn:
        ids = (
            await conn.execute(
                sa.update(screens_t)
                .where(
                    screens_t.c.paired_at.is_not(None),
                    screens_t.c.last_seen_at < now - timedelta(seconds=SILENT_SECONDS),
                    screens_t.c.silence_logged_at.is_(None),
                )
                .values(silence_logged_at=now)
                .returning(screens_t.c.id)
            )
        ).all()
        if not ids:
            return []
        rows = (
            await conn.execute(sa.select(screens_t).where(screens_t.c.id.in_([r.id for r in ids])))
        ).all()
    return [_health(row, now) for row in rows]


async def watch_silence(*, db: Database, every_seconds: float = 10.0) -> None:
    """Log one warning per paired screen that falls silent (a background task)."""
    while True:
        await asyncio.sleep(every_seconds)
        try:
            for screen in await newly_silent(db=db):
                logger.warning(
                    "screen %s (%r) has been silent since %s",
                    screen.id,
                    screen.name,
                    screen.last_seen_at.isoformat() if screen.last_seen_at else "never",
                )
        except Exception:  # the database is away: try again at the next check
            logger.warning("could not check the screens' health", exc_info=True)
