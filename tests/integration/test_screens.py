"""Lobby screens: pairing with a short code (single use, expiring, guessing limited), the
admins' changes with their audit rows and the signal that reaches the screen, health from
heartbeats (bounded writes), and the same rules through the /admin/screens page's handlers
(a member's forged events change nothing) and through /api/admin/screens."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa

from movievote.errors import InvalidInput, ScreenCodeNotFound, ScreenNotFound, TooManyAttempts
from movievote.models import Screen, utcnow
from movievote.pages.admin_screens import ScreensState
from movievote.root import get_root
from movievote.services import accounts, admin, screens
from movievote.services.screens import (
    CODE_ALPHABET,
    CODE_LENGTH,
    HealthWrites,
    ScreenBus,
    health_of,
    normalise_code,
)
from movievote.services.throttle import PAIRING_FAILURES
from tests.integration.pages import page_of, session_token

screens_t = Screen.__table__  # type: ignore[attr-defined]
BOSS = admin.Actor(None, "boss@example.com")  # no account: the label is enough here


class Heard:
    """A subscriber to the screens' bus that keeps what it heard."""

    def __init__(self, bus: ScreenBus) -> None:
        self.notes: list[tuple[int, str]] = []
        bus.subscribe(self)

    async def __call__(self, screen_id: int, what: str) -> None:
        self.notes.append((screen_id, what))


def desk(actor: admin.Actor = BOSS) -> screens.Desk:
    root = get_root()
    return screens.Desk(actor, root.db, root.screens, "test")


async def paired_screen(name: str = "Lobby left", **kw: str) -> tuple[str, screens.ScreenHealth]:
    secret = screens.new_device_secret()
    shown = await screens.identify(secret=secret, db=get_root().db)
    found = await screens.pair(
        code=shown.code, name=name, throttle=get_root().throttle, desk=desk(), **kw
    )
    return secret, found


async def stored(db, screen_id: int):  # type: ignore[no-untyped-def]
    async with db.engine.connect() as conn:
        return (await conn.execute(sa.select(screens_t).where(screens_t.c.id == screen_id))).one()


async def test_an_unpaired_screen_gets_a_readable_code_and_only_a_hash_is_stored(db):
    secret = screens.new_device_secret()
    first = await screens.identify(secret=secret, db=db)
    assert not first.paired and len(first.code) == CODE_LENGTH
    assert set(first.code) <= set(CODE_ALPHABET) and not set("0O1IL2Z5S8B") & set(CODE_ALPHABET)
    assert screens.code_text(first.code)[CODE_LENGTH // 2] == "-"
    again = await screens.identify(secret=secret, db=db)
    assert (again.id, again.code) == (first.id, first.code)  # a reload keeps its code
    row = await stored(db, first.id)
    assert row.device_hash == screens.device_hash(secret) and secret not in tuple(map(str, row))
    other = await screens.identify(secret=screens.new_device_secret(), db=db)
    assert other.id != first.id and other.code != first.code


async def test_pairing_uses_the_code_once_records_it_and_tells_the_screen(db):
    heard = Heard(get_root().screens)
    secret = screens.new_device_secret()
    shown = await screens.identify(secret=secret, db=db)
    typed = f" {screens.code_text(shown.code).lower()} "  # as an admin may type it
    assert normalise_code(typed) == shown.code
    found = await screens.pair(
        code=typed,
        name="  Lobby left ",
        board="all_time",
        language="pt-BR",
        throttle=get_root().throttle,
        desk=desk(),
    )
    assert (found.name, found.board, found.language, found.health) == (
        "Lobby left",
        "all_time",
        "pt-BR",
        "never",
    )
    assert heard.notes == [(found.id, "settings")]
    now = await screens.identify(secret=secret, db=db)
    assert now.paired and now.code == "" and (now.board, now.language) == ("all_time", "pt-BR")
    entry = (await admin.audit_entries(db=db)).items[0]
    assert (entry.action, entry.target_type, entry.target_id) == (
        "screen.pair",
        "screen",
        str(found.id),
    )
    assert entry.after == {"name": "Lobby left", "board": "all_time", "language": "pt-BR"}
    with pytest.raises(ScreenCodeNotFound) as used:  # single use
        await screens.pair(code=shown.code, name="Again", throttle=get_root().throttle, desk=desk())
    assert "has expired" in used.value.message


async def test_an_expired_code_is_refused_and_the_screen_gets_a_new_one(db):
    secret = screens.new_device_secret()
    shown = await screens.identify(secret=secret, db=db)
    async with db.transaction() as conn:
        await conn.execute(
            sa.update(screens_t).values(code_expires_at=utcnow() - timedelta(seconds=1))
        )
    with pytest.raises(ScreenCodeNotFound):
        await screens.pair(code=shown.code, name="Late", throttle=get_root().throttle, desk=desk())
    fresh = await screens.identify(secret=secret, db=db)
    assert fresh.id == shown.id and not fresh.paired and fresh.code_expires_at > utcnow()


async def test_code_guessing_is_limited_per_admin(db):
    shown = await screens.identify(secret=screens.new_device_secret(), db=db)
    throttle = get_root().throttle
    for _ in range(PAIRING_FAILURES):
        with pytest.raises(ScreenCodeNotFound):
            await screens.pair(code="AAAAAA", name="Guess", throttle=throttle, desk=desk())
    with pytest.raises(TooManyAttempts):  # even the right code, now
        await screens.pair(code=shown.code, name="Guess", throttle=throttle, desk=desk())
    other = admin.Actor(None, "other@example.com")
    found = await screens.pair(code=shown.code, name="Right", throttle=throttle, desk=desk(other))
    assert found.name == "Right"


async def test_changes_are_recorded_and_signalled_and_unpairing_shows_a_new_code(db):
    secret, found = await paired_screen()
    heard = Heard(get_root().screens)
    await screens.rename(screen_id=found.id, name="Lobby right", desk=desk())
    await screens.set_board(screen_id=found.id, board="hall_of_fame", desk=desk())
    await screens.set_language(screen_id=found.id, language="pt-BR", desk=desk())
    await screens.set_language(screen_id=found.id, language="pt-BR", desk=desk())  # no change
    await screens.reload(screen_id=found.id, desk=desk())
    with pytest.raises(InvalidInput):
        await screens.set_board(screen_id=found.id, board="nonsense", desk=desk())
    with pytest.raises(InvalidInput):
        await screens.rename(screen_id=found.id, name="   ", desk=desk())
    await screens.unpair(screen_id=found.id, desk=desk())
    assert heard.notes == [(found.id, w) for w in ("settings",) * 3 + ("reload", "settings")]
    actions = [e.action for e in (await admin.audit_entries(db=db)).items]
    assert actions == [
        "screen.unpair",
        "screen.reload",
        "screen.language",
        "screen.board",
        "screen.rename",
        "screen.pair",
    ]
    rename = (await admin.audit_entries(db=db)).items[4]
    assert (rename.before, rename.after) == ({"name": "Lobby left"}, {"name": "Lobby right"})
    again = await screens.identify(secret=secret, db=db)
    assert not again.paired and again.code and again.board == "month"
    assert await screens.list_screens(db=db) == []
    with pytest.raises(ScreenNotFound):
        await screens.reload(screen_id=found.id, desk=desk())


async def test_heartbeats_are_written_only_when_they_say_something_new_or_are_due(db):
    _, found = await paired_screen()
    writes = HealthWrites(every_seconds=3600, min_seconds=0.3)
    shown = utcnow()
    beat = {"ranking_at": shown, "user_agent": "TV\x00 browser", "resolution": "1920x1080"}
    assert await screens.beat(screen_id=found.id, db=db, writes=writes, **beat)
    assert not await screens.beat(screen_id=found.id, db=db, writes=writes, **beat)
    row = await stored(db, found.id)
    assert (row.user_agent, row.resolution, row.ranking_at) == ("TV browser", "1920x1080", shown)
    newer = {**beat, "ranking_at": shown + timedelta(seconds=5)}
    assert not await screens.beat(screen_id=found.id, db=db, writes=writes, **newer)  # too soon
    await asyncio.sleep(0.35)
    assert await screens.beat(screen_id=found.id, db=db, writes=writes, **newer)
    listed = (await screens.list_screens(db=db))[0]
    assert listed.health == "live" and listed.ranking_at == newer["ranking_at"]


def test_health_states_follow_the_last_heartbeat():
    now = utcnow()
    assert health_of(None, now) == "never"
    assert health_of(now - timedelta(seconds=10), now) == "live"
    assert health_of(now - timedelta(seconds=screens.RECONNECTING_SECONDS + 1), now) == (
        "reconnecting"
    )
    assert health_of(now - timedelta(seconds=61), now) == "silent"


async def test_a_silent_screen_is_logged_once_until_it_beats_again(db, caplog):
    _, found = await paired_screen()
    await screens.beat(
        screen_id=found.id,
        ranking_at=None,
        user_agent="",
        resolution="",
        db=db,
        writes=HealthWrites(),
    )
    assert await screens.newly_silent(db=db) == []
    async with db.transaction() as conn:
        await conn.execute(
            sa.update(screens_t).values(last_seen_at=utcnow() - timedelta(seconds=61))
        )
    silent = await screens.newly_silent(db=db)
    assert [s.name for s in silent] == ["Lobby left"] and silent[0].health == "silent"
    assert await screens.newly_silent(db=db) == []  # logged once
    await screens.beat(
        screen_id=found.id,
        ranking_at=None,
        user_agent="",
        resolution="",
        db=db,
        writes=HealthWrites(),
    )
    assert (await screens.list_screens(db=db))[0].health == "live"


# the page's handlers


async def test_a_member_gets_nothing_and_forged_events_change_nothing(db, make_user):
    _, found = await paired_screen()
    shown = await screens.identify(secret=screens.new_device_secret(), db=db)
    member = await make_user()
    page = await page_of(ScreensState, await session_token(member))
    await ScreensState.load.fn(page)
    assert not page.allowed and page.screens == []
    await ScreensState.pair.fn(page, {"code": shown.code, "name": "Mine"})
    await ScreensState.rename.fn(page, {"screen_id": str(found.id), "name": "Hacked"})
    await ScreensState.set_board.fn(page, str(found.id), "winner")
    await ScreensState.set_language.fn(page, str(found.id), "pt-BR")
    await ScreensState.reload.fn(page, str(found.id))
    await ScreensState.unpair.fn(page, str(found.id))
    listed = await screens.list_screens(db=db)
    assert [(s.name, s.board, s.language) for s in listed] == [("Lobby left", "month", "en")]
    assert [e.action for e in (await admin.audit_entries(db=db)).items] == ["screen.pair"]


async def test_an_admin_pairs_renames_switches_and_unpairs_from_the_page(db, make_user):
    boss = await make_user(email="boss@example.com")
    await admin.grant_admin(email=boss.email, actor=admin.CLI, db=db)
    page = await page_of(
        ScreensState, await session_token(await accounts.get_user(user_id=boss.id, db=db))
    )
    await ScreensState.load.fn(page)
    assert page.allowed and page.screens == []
    await ScreensState.pair.fn(page, {"code": "ZZZZZZ", "name": "Lobby"})
    assert "No screen shows the code" in page.error
    shown = await screens.identify(secret=screens.new_device_secret(), db=db)
    await ScreensState.pair.fn(
        page, {"code": shown.code, "name": "Lobby left", "board": "winner", "language": "en"}
    )
    assert page.message == "Lobby left is paired." and not page.error
    row = page.screens[0]
    assert (row["name"], row["board"], row["health"]) == ("Lobby left", "winner", "never")
    await ScreensState.rename.fn(page, {"screen_id": row["id"], "name": "Bar"})
    await ScreensState.set_language.fn(page, row["id"], "pt-BR")
    await ScreensState.set_board.fn(page, row["id"], "all_time")
    assert (page.screens[0]["name"], page.screens[0]["language"], page.screens[0]["board"]) == (
        "Bar",
        "pt-BR",
        "all_time",
    )
    await ScreensState.set_board.fn(page, "not a number", "month")
    assert page.error == "Choose a screen first."
    await ScreensState.unpair.fn(page, row["id"])
    assert page.screens == [] and page.message.startswith("The screen is unpaired")
    actions = [e.action for e in (await admin.audit_entries(db=db)).items]
    assert actions[:5] == [
        "screen.unpair",
        "screen.board",
        "screen.language",
        "screen.rename",
        "screen.pair",
    ]


# the API


@pytest.fixture
async def boss(api, login):  # type: ignore[no-untyped-def]
    await login("boss@example.com")
    await admin.grant_admin(email="boss@example.com", actor=admin.CLI, db=get_root().db)
    response = await api.post(
        "/api/token", data={"username": "boss@example.com", "password": "password123"}
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_members_and_strangers_are_refused_on_every_screens_route(api, login, db):
    _, found = await paired_screen()
    shown = await screens.identify(secret=screens.new_device_secret(), db=db)
    member = await login("member@example.com")
    routes = [
        ("GET", "/api/admin/screens", None),
        ("POST", "/api/admin/screens", {"code": shown.code, "name": "Mine"}),
        ("GET", f"/api/admin/screens/{found.id}", None),
        ("PATCH", f"/api/admin/screens/{found.id}", {"name": "Hacked"}),
        ("POST", f"/api/admin/screens/{found.id}/reload", None),
        ("DELETE", f"/api/admin/screens/{found.id}", None),
    ]
    for method, path, body in routes:
        anonymous = await api.request(method, path, json=body)
        assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_authenticated"
        refused = await api.request(method, path, json=body, headers=member)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["code"] == "admin_required"
    listed = await screens.list_screens(db=db)
    assert [(s.id, s.name) for s in listed] == [(found.id, "Lobby left")]
    assert [e.action for e in (await admin.audit_entries(db=db)).items] == ["screen.pair"]


async def test_the_api_pairs_changes_and_unpairs_with_json_errors(api, boss, db):
    shown = await screens.identify(secret=screens.new_device_secret(), db=db)
    wrong = await api.post("/api/admin/screens", headers=boss, json={"code": "X", "name": "A"})
    assert wrong.status_code == 404 and wrong.json()["code"] == "screen_code_not_found"
    assert "No screen shows the code X," in wrong.json()["detail"]
    unstorable = await api.post(
        "/api/admin/screens",
        headers={**boss, "Content-Type": "application/json"},
        content='{"code": "AB\\ud800C", "name": "A"}',  # a lone surrogate: no database stores it
    )
    assert unstorable.status_code in (404, 422) and "code" in unstorable.json()
    bad = await api.post(
        "/api/admin/screens", headers=boss, json={"code": shown.code, "name": "A", "board": "x"}
    )
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_input"
    paired = await api.post(
        "/api/admin/screens",
        headers=boss,
        json={"code": shown.code, "name": "Lobby left", "language": "pt-BR"},
    )
    assert paired.status_code == 201, paired.text
    screen_id = paired.json()["id"]
    assert paired.json()["health"] == "never" and paired.json()["language"] == "pt-BR"
    changed = await api.patch(
        f"/api/admin/screens/{screen_id}", headers=boss, json={"name": "Desk", "board": "winner"}
    )
    assert changed.status_code == 200 and changed.json()["board"] == "winner"
    assert (
        await api.post(f"/api/admin/screens/{screen_id}/reload", headers=boss)
    ).status_code == 200
    listed = await api.get("/api/admin/screens", headers=boss)
    assert [s["name"] for s in listed.json()] == ["Desk"]
    assert (await api.delete(f"/api/admin/screens/{screen_id}", headers=boss)).status_code == 204
    gone = await api.get(f"/api/admin/screens/{screen_id}", headers=boss)
    assert gone.status_code == 404 and gone.json()["code"] == "screen_not_found"
    assert (await api.get("/api/admin/screens/0", headers=boss)).status_code == 422
    malformed = await api.patch(
        "/api/admin/screens/1", headers={**boss, "Content-Type": "application/json"}, content="{"
    )
    assert malformed.status_code in (400, 422) and "code" in malformed.json()
    spec = (await api.get("/api/openapi.json")).json()
    assert spec["paths"]["/api/admin/screens"]["post"]["tags"] == ["admin"]


async def test_the_silence_watcher_logs_one_line_per_silence(db, caplog):
    _, found = await paired_screen()
    async with db.transaction() as conn:
        await conn.execute(
            sa.update(screens_t).values(last_seen_at=utcnow() - timedelta(seconds=90))
        )
    with caplog.at_level(logging.WARNING, logger="movievote.services.screens"):
        watcher = asyncio.create_task(screens.watch_silence(db=db, every_seconds=0.05))
        await asyncio.sleep(0.5)  # several checks
        watcher.cancel()
    lines = [r.getMessage() for r in caplog.records if "silent" in r.getMessage()]
    assert len(lines) == 1 and f"screen {found.id} ('Lobby left') has been silent since" in lines[0]
