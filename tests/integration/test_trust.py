"""Votes you can trust, attacked over the API as an attacker would: unverified accounts, address
enumeration, stolen or ended sessions, guessing from one or many addresses, forged forwarding
headers, who may join. Mail goes to a real SMTP server the test runs (aiosmtpd) or, like the
zero-setup app, to the development outbox."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from email.message import Message

import httpx
import pytest
import sqlalchemy as sa

from movievote.config import get_settings
from movievote.root import get_root, reset_root
from movievote.services import notifications
from tests.mail import Inbox, token_in

PASSWORD = "password123"


@pytest.fixture
def configure(monkeypatch) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """Change settings (as environment variables) for one test; services built afresh."""

    def apply(**values: object) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name.upper(), str(value))
        get_settings.cache_clear()
        reset_root()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()
    reset_root()


class AsyncInbox(Inbox):
    async def wait_for(self, to: str, subject: str, within: float = 5.0) -> Message:
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            found = self.find(to, subject)
            if found is not None:
                return found
            await asyncio.sleep(0.02)
        raise AssertionError(
            f"no '{subject}' mail to {to}: {[m['Subject'] for m in self.messages]}"
        )


@pytest.fixture
def inbox(configure) -> Iterator[AsyncInbox]:  # type: ignore[no-untyped-def]
    handler = AsyncInbox()
    configure(notify_smtp_url=handler.start())
    yield handler
    handler.stop()


def link_in(message: Message | str) -> str:
    return token_in(message)


@pytest.fixture
async def api_from() -> AsyncIterator[object]:
    """API clients that connect from a given address (the test's stand-in for other machines)."""
    from movievote.api.app import create_api

    app, clients = create_api(), []

    def make(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 50000))
        client = httpx.AsyncClient(transport=transport, base_url="http://movievote.test")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def sign_up(api, email: str, **extra: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    return await api.post(
        "/api/signup",
        json={"email": email, "password": PASSWORD, "display_name": "Member", **extra},
    )


async def token_of(api, email: str, password: str = PASSWORD) -> dict[str, str]:  # type: ignore[no-untyped-def]
    response = await api.post("/api/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_an_unverified_member_may_log_in_but_not_vote_until_the_mailed_link(
    api, movies, inbox, db
):
    assert (await sign_up(api, "nina@example.com")).status_code == 202
    mail = await inbox.wait_for("nina@example.com", "Confirm your email address")
    headers = await token_of(api, "nina@example.com")
    me = await api.get("/api/me", headers=headers)
    assert me.status_code == 200 and me.json()["email_verified"] is False
    refused = await api.post(f"/api/vote/{movies[0]}", headers=headers)
    assert refused.status_code == 403 and refused.json()["code"] == "email_not_verified"
    token = link_in(mail)
    # the mailbox alone is not enough: the account's own session (or its password) too
    alone = await api.post("/api/verify-email", json={"token": token})
    assert alone.status_code == 403 and alone.json()["code"] == "password_required"
    verified = await api.post("/api/verify-email", json={"token": token}, headers=headers)
    assert verified.status_code == 200 and verified.json()["email_verified"] is True
    assert (await api.post(f"/api/vote/{movies[0]}", headers=headers)).status_code == 201
    again = await api.post("/api/verify-email", json={"token": token}, headers=headers)  # once
    assert again.status_code == 404 and again.json()["code"] == "invalid_link"
    async with db.engine.connect() as conn:  # recorded like every delivery; the link is not
        rows = (
            await conn.execute(
                sa.text(
                    "SELECT channel, status, payload FROM notifications WHERE kind = 'verify_email'"
                )
            )
        ).all()
    assert [(r[0], r[1]) for r in rows] == [("email", "sent")]
    assert token not in str(rows[0][2])


async def test_verification_links_expire_and_resending_is_limited(api, inbox, db):
    await sign_up(api, "olga@example.com")
    first = link_in(await inbox.wait_for("olga@example.com", "Confirm"))
    async with db.transaction() as conn:
        await conn.execute(sa.text("UPDATE email_links SET expires_at = created_at"))
    expired = await api.post("/api/verify-email", json={"token": first})
    assert expired.status_code == 404 and expired.json()["code"] == "invalid_link"
    headers = await token_of(api, "olga@example.com")
    for _ in range(2):  # the sign-up's mail was the first of three this hour
        resent = await api.post("/api/verify-email/resend", headers=headers)
        assert resent.status_code == 202 and resent.json()["code"] == "check_inbox"
    limited = await api.post("/api/verify-email/resend", headers=headers)
    assert limited.status_code == 429 and limited.json()["code"] == "too_many_attempts"
    assert 0 < int(limited.headers["Retry-After"]) <= 3600
    await notifications.settle_in_flight()
    assert len(inbox.to("olga@example.com")) == 3
    latest = link_in(inbox.to("olga@example.com")[-1])
    followed = await api.post("/api/verify-email", json={"token": latest, "password": PASSWORD})
    assert followed.status_code == 200
    done = await api.post("/api/verify-email/resend", headers=headers)
    assert done.json()["code"] == "already_verified"


async def test_sign_up_does_not_tell_whether_an_address_has_an_account(api, inbox):
    first = await sign_up(api, "pia@example.com")
    taken = await sign_up(api, "PIA@example.com", display_name="Impostor")
    assert first.status_code == taken.status_code == 202
    assert first.json() == taken.json()
    note = await inbox.wait_for("pia@example.com", "You already have a movievote account")
    # the owner's note carries a reset link that works
    token = link_in(note)
    reset = await api.post(
        "/api/password-reset/confirm", json={"token": token, "new_password": "new-password-1"}
    )
    assert reset.status_code == 200
    await token_of(api, "pia@example.com", "new-password-1")


async def test_password_reset_answers_the_same_and_ends_every_session(api, movies, inbox, login):
    old = await login("quim@example.com")
    unknown = await api.post("/api/password-reset", json={"email": "nobody@example.com"})
    known = await api.post("/api/password-reset", json={"email": "Quim@Example.com"})
    assert unknown.status_code == known.status_code == 202 and unknown.json() == known.json()
    token = link_in(await inbox.wait_for("quim@example.com", "Reset your movievote password"))
    await notifications.settle_in_flight()
    assert inbox.to("nobody@example.com") == []
    short = await api.post(
        "/api/password-reset/confirm", json={"token": token, "new_password": "short"}
    )
    assert short.status_code == 422
    done = await api.post(
        "/api/password-reset/confirm", json={"token": token, "new_password": "brand-new-pass"}
    )
    assert done.status_code == 200 and done.json()["code"] == "password_reset"
    assert (await api.get("/api/me", headers=old)).status_code == 401  # the old session ended
    assert (await api.post(f"/api/vote/{movies[0]}", headers=old)).status_code == 401
    wrong = await api.post(
        "/api/token", data={"username": "quim@example.com", "password": PASSWORD}
    )
    assert wrong.status_code == 401
    await token_of(api, "quim@example.com", "brand-new-pass")
    reused = await api.post(
        "/api/password-reset/confirm", json={"token": token, "new_password": "another-pass-1"}
    )
    assert reused.status_code == 404 and reused.json()["code"] == "invalid_link"


async def test_a_reset_link_lasts_thirty_minutes(api, inbox, login, db):
    await login("rui@example.com")
    await api.post("/api/password-reset", json={"email": "rui@example.com"})
    token = link_in(await inbox.wait_for("rui@example.com", "Reset"))
    from movievote.models import EmailLink

    links = EmailLink.__table__  # type: ignore[attr-defined]
    async with db.engine.connect() as conn:
        expires, created = (
            await conn.execute(
                sa.select(links.c.expires_at, links.c.created_at).where(links.c.purpose == "reset")
            )
        ).one()
    assert (expires - created).total_seconds() == 30 * 60
    async with db.transaction() as conn:
        await conn.execute(sa.text("UPDATE email_links SET expires_at = created_at"))
    late = await api.post(
        "/api/password-reset/confirm", json={"token": token, "new_password": "too-late-pass"}
    )
    assert late.status_code == 404 and late.json()["code"] == "invalid_link"


async def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(api, login):
    here = await login("sara@example.com")
    elsewhere = await token_of(api, "sara@example.com")
    wrong = await api.put(
        "/api/me/password",
        json={"current_password": "not-it-at-all", "new_password": "sara-new-pass"},
        headers=here,
    )
    assert wrong.status_code == 403 and wrong.json()["code"] == "wrong_password"
    changed = await api.put(
        "/api/me/password",
        json={"current_password": PASSWORD, "new_password": "sara-new-pass"},
        headers=here,
    )
    assert changed.status_code == 200
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert (await api.get("/api/me", headers=fresh)).status_code == 200
    for ended in (here, elsewhere):
        assert (await api.get("/api/me", headers=ended)).status_code == 401
    await token_of(api, "sara@example.com", "sara-new-pass")


async def test_log_out_ends_that_session_only(api, movies, login):
    one = await login("tina@example.com")
    two = await token_of(api, "tina@example.com")
    assert (await api.post("/api/logout", headers=one)).status_code == 204
    refused = await api.get("/api/me", headers=one)
    assert refused.status_code == 401 and refused.json()["code"] == "invalid_token"
    vote = await api.post(f"/api/vote/{movies[0]}", headers=one)
    assert vote.status_code == 401 and vote.json()["code"] == "invalid_token"
    assert (await api.post(f"/api/vote/{movies[0]}", headers=two)).status_code == 201


async def test_a_deleted_account_s_token_never_becomes_another_account_s(api, login, db):
    old = await login("uma@example.com")
    async with db.transaction() as conn:
        await conn.execute(sa.text("DELETE FROM users WHERE email = 'uma@example.com'"))
    await login("vera@example.com")
    assert (await api.get("/api/me", headers=old)).status_code == 401


async def test_look_alike_spellings_of_an_address_are_one_account_and_one_throttle_key(
    api, login, db
):
    await login("eve@example.com")
    spellings = [  # full-width letters, ideographic and full-width full stops, case, spaces
        "\uff25\uff36\uff25@example.com",
        "eve@example\u3002com",
        "Eve@Example\uff0eCOM",
        " eve@EXAMPLE.com ",
    ]
    for spelling in spellings:  # a sign-up in another spelling is the same account
        assert (await sign_up(api, spelling)).status_code == 202
    async with db.engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT count(*) FROM users")) == 1
    all_wide = "".join(chr(ord(c) + 0xFEE0) if c.isalpha() else c for c in "eve@example.com")
    for spelling in [*spellings, all_wide]:  # five failures, five spellings
        response = await api.post("/api/token", data={"username": spelling, "password": "bad-pass"})
        assert response.status_code == 401, response.text
    locked = await api.post(
        "/api/token", data={"username": "eve@example.com", "password": PASSWORD}
    )
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0


async def test_a_guesser_is_stopped_and_the_owner_elsewhere_still_logs_in(api_from, login):
    await login("will@example.com")
    guesser = api_from("198.51.100.66")
    for _ in range(5):
        await guesser.post("/api/token", data={"username": "will@example.com", "password": "guess"})
    stopped = await guesser.post(
        "/api/token", data={"username": "will@example.com", "password": PASSWORD}
    )
    assert stopped.status_code == 429 and int(stopped.headers["Retry-After"]) > 0
    owner = api_from("192.0.2.10")
    await token_of(owner, "will@example.com")


async def test_a_many_address_attack_slows_down_and_never_locks_the_owner_out(api_from, login):
    await login("xana@example.com")  # logs in from 203.0.113.7: a place the owner uses
    for i in range(40):  # a botnet: 40 addresses, a few guesses each
        bot = api_from(f"10.0.{i}.1")
        response = await bot.post(
            "/api/token", data={"username": "xana@example.com", "password": f"guess-{i}"}
        )
        assert response.status_code in (401, 429)
    slowed = [
        (
            await api_from(f"10.1.{i}.1").post(
                "/api/token", data={"username": "xana@example.com", "password": f"more-{i}"}
            )
        ).status_code
        for i in range(10)
    ]
    assert slowed.count(429) >= 9  # new places share one slow lane: guessing is a trickle
    await token_of(api_from("203.0.113.7"), "xana@example.com")  # the owner's usual place
    newcomer = api_from("192.0.2.99")  # the owner from a new place: a short wait, not a lock
    first = await newcomer.post(
        "/api/token", data={"username": "xana@example.com", "password": PASSWORD}
    )
    if first.status_code == 429:
        assert int(first.headers["Retry-After"]) <= 5
        await asyncio.sleep(int(first.headers["Retry-After"]))
        first = await newcomer.post(
            "/api/token", data={"username": "xana@example.com", "password": PASSWORD}
        )
    assert first.status_code == 200


async def test_sign_ups_per_address_are_limited(api_from, configure):
    configure(signups_per_client=3)
    lobby, other = api_from("198.51.100.20"), api_from("198.51.100.21")
    for i in range(3):
        assert (await sign_up(lobby, f"lobby{i}@example.com")).status_code == 202
    refused = await sign_up(lobby, "lobby9@example.com")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert (await sign_up(other, "elsewhere@example.com")).status_code == 202


async def test_x_forwarded_for_counts_only_behind_a_listed_proxy(api, configure):
    guesses = iter(range(1000))

    async def fail(forwarded: str) -> int:
        response = await api.post(
            "/api/token",
            data={"username": f"nobody{next(guesses)}@example.com", "password": "bad-pass"},
            headers={"X-Forwarded-For": forwarded},
        )
        return response.status_code

    # not listed: a forged header does not make a guesser many clients
    statuses = [await fail(f"192.0.2.{i}") for i in range(25)]
    assert statuses[:20] == [401] * 20 and set(statuses[20:]) == {429}
    # the app's peer (203.0.113.7) listed as a proxy: each forwarded client counts apart, so
    # twenty failures through the proxy no longer lock everyone out
    configure(forwarded_allow_ips="203.0.113.0/24")
    assert [await fail(f"198.51.100.{i}") for i in range(25)] == [401] * 25
    assert [await fail("198.51.100.200, 203.0.113.9") for _ in range(21)][-1] == 429


async def test_only_listed_domains_may_join(api, configure):
    configure(signup_mode="domains", allowed_email_domains="club.example, example.org")
    for ok in ("ana@club.example", "bia@sub.example.org"):
        assert (await sign_up(api, ok)).status_code == 202
    refused = await sign_up(api, "eve@evil.example")
    assert refused.status_code == 403 and refused.json()["code"] == "signup_closed"
    assert "club.example" in refused.json()["detail"]


async def test_invite_codes_have_uses_and_the_database_decides_races(api_from, configure, db):
    from movievote.services import accounts

    configure(signup_mode="invite")
    api = api_from("198.51.100.30")
    missing = await sign_up(api, "no-code@example.com")
    assert missing.status_code == 403 and missing.json()["code"] == "signup_closed"
    invite = await accounts.create_invite(max_uses=1, db=db)
    racers = [api_from(f"198.51.100.{40 + i}") for i in range(5)]
    results = await asyncio.gather(
        *(
            sign_up(c, f"racer{i}@example.com", invite_code=invite.code)
            for i, c in enumerate(racers)
        )
    )
    assert sorted(r.status_code for r in results) == [202, 403, 403, 403, 403]
    async with db.engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT count(*) FROM users")) == 1
        assert await conn.scalar(sa.text("SELECT uses FROM invites")) == 1
    expired = await accounts.create_invite(max_uses=5, days=-1, db=db)
    late = await sign_up(api, "late@example.com", invite_code=expired.code)
    assert late.status_code == 403


async def test_a_scripted_attacker_gets_no_more_votes_than_verified_mailboxes(
    api_from, movies, inbox, db
):
    attacker = api_from("198.51.100.99")
    emails = [f"sock{i}@example.com" for i in range(20)]
    for email in emails:
        assert (await sign_up(attacker, email)).status_code == 202
    statuses = []
    for email in emails:
        headers = await token_of(attacker, email)
        statuses.append(
            (await attacker.post(f"/api/vote/{movies[0]}", headers=headers)).status_code
        )
    assert set(statuses) == {403}
    for email in emails[:2]:  # the two mailboxes the attacker really reads
        token = link_in(await inbox.wait_for(email, "Confirm"))
        followed = await attacker.post(
            "/api/verify-email", json={"token": token, "password": PASSWORD}
        )
        assert followed.status_code == 200
    for email in emails:
        headers = await token_of(attacker, email)
        await attacker.post(f"/api/vote/{movies[1]}", headers=headers)
    async with db.engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT count(*) FROM votes")) == 2


async def test_the_zero_setup_app_puts_its_mail_in_the_development_outbox(api, movies):
    settings = get_settings()
    assert settings.movievote_env == "development" and not settings.notify_smtp_url
    await sign_up(api, "yara@example.com")
    await notifications.settle_in_flight()
    [mail] = [m for m in notifications.read_outbox(settings) if m["to"] == "yara@example.com"]
    assert mail["subject"] == "Confirm your email address"
    token = link_in(mail["body"])
    assert mail["body"].startswith("Hi, confirm your address")  # nothing a stranger typed
    followed = await api.post("/api/verify-email", json={"token": token, "password": PASSWORD})
    assert followed.status_code == 200
    production = settings.model_copy(update={"movievote_env": "production"})
    assert notifications.outbox_path(production) is None  # never in production
    assert os.environ["MOVIEVOTE_DATA_DIR"] in str(notifications.outbox_path(settings))


async def test_input_the_database_cannot_store_is_422(api):
    for payload in (
        {"email": "nul\x00@example.com", "password": PASSWORD, "display_name": "N"},
        {"email": "ok@example.com", "password": "pass\x00word-1", "display_name": "N"},
        {"email": "ok@example.com", "password": PASSWORD, "display_name": "N\x00"},
    ):
        response = await api.post("/api/signup", json=payload)
        assert response.status_code == 422 and response.json()["code"] == "invalid_input"
    login = await api.post(
        "/api/token", data={"username": "a\x00@example.com", "password": "x\x00"}
    )
    assert login.status_code == 401


async def test_signing_up_someone_else_s_address_does_not_win_their_account(api_from, inbox, db):
    """The attacker signs up the victim's address with a password of their own; the victim's
    click on "confirm" (or a mail scanner's) does not verify it for the attacker."""
    attacker, victim = api_from("198.51.100.70"), api_from("192.0.2.70")
    await sign_up(attacker, "vic@example.com")
    attacker_session = await token_of(attacker, "vic@example.com")
    token = link_in(await inbox.wait_for("vic@example.com", "Confirm"))
    scanned = await victim.post("/api/verify-email", json={"token": token})
    assert scanned.status_code == 403 and scanned.json()["code"] == "password_required"
    me = await attacker.get("/api/me", headers=attacker_session)
    assert me.json()["email_verified"] is False
    # the victim takes the address back with a reset by mail: verified, the attacker is out
    await victim.post("/api/password-reset", json={"email": "vic@example.com"})
    reset = link_in(await inbox.wait_for("vic@example.com", "Reset"))
    done = await victim.post(
        "/api/password-reset/confirm", json={"token": reset, "new_password": "victim-pass-1"}
    )
    assert done.status_code == 200
    assert (await attacker.get("/api/me", headers=attacker_session)).status_code == 401
    wrong = await attacker.post(
        "/api/token", data={"username": "vic@example.com", "password": PASSWORD}
    )
    assert wrong.status_code == 401
    mine = await token_of(victim, "vic@example.com", "victim-pass-1")
    assert (await victim.get("/api/me", headers=mine)).json()["email_verified"] is True
    # the attacker's password no longer confirms anything with the old link either
    late = await attacker.post("/api/verify-email", json={"token": token, "password": PASSWORD})
    assert late.status_code == 403


async def test_one_inbox_is_one_account_whatever_its_aliases(api, inbox, db):
    await sign_up(api, "ana.silva@gmail.com")
    for alias in (
        "anasilva+votes@gmail.com",
        "A.N.A.Silva@googlemail.com",
        "ana.silva+2@gmail.com",
    ):
        assert (await sign_up(api, alias)).status_code == 202
    async with db.engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT count(*) FROM users")) == 1
    await inbox.wait_for("ana.silva@gmail.com", "You already have a movievote account")
    await sign_up(api, "ana+x@example.com")
    await sign_up(api, "ana@example.com")  # another domain: sub-addresses fold, dots do not
    await sign_up(api, "a.na@example.com")
    async with db.engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT count(*) FROM users")) == 3


async def test_ipv6_clients_count_by_their_64_block(api_from, login):
    await login("zoe@example.com")
    for i in range(5):  # five addresses of one /64: one client to the throttle
        bot = api_from(f"2001:db8:1:2::{i + 1}")
        await bot.post("/api/token", data={"username": "zoe@example.com", "password": "bad-pass"})
    next_door = api_from("2001:db8:1:2::ffff")
    refused = await next_door.post(
        "/api/token", data={"username": "zoe@example.com", "password": PASSWORD}
    )
    assert refused.status_code == 429
    await token_of(api_from("2001:db8:1:3::1"), "zoe@example.com")  # another /64 is another


async def test_forwarded_for_lines_and_ports_from_a_listed_proxy(api, configure):
    configure(forwarded_allow_ips="203.0.113.7")
    from movievote.clients import client_address

    assert (
        client_address("203.0.113.7", "1.2.3.4, 198.51.100.9:5678", allowed="203.0.113.7")
        == "198.51.100.9"
    )
    assert (
        client_address("203.0.113.7", "[2001:db8::5]:443", allowed="203.0.113.7") == "2001:db8::5"
    )
    # two header lines: the client's own first, the proxy's appended one last
    failures = []
    for i in range(21):
        response = await api.post(
            "/api/token",
            data={"username": f"p{i}@example.com", "password": "bad-pass"},
            headers=[("X-Forwarded-For", f"10.9.9.{i}"), ("X-Forwarded-For", "198.51.100.50")],
        )
        failures.append(response.status_code)
    assert failures[:20] == [401] * 20 and failures[20] == 429  # keyed by the proxy's line


async def test_a_wrong_current_password_counts_as_a_failed_log_in(api, login):
    headers = await login("cris@example.com")
    statuses = [
        (
            await api.put(
                "/api/me/password",
                json={"current_password": f"guess-{i}", "new_password": "whatever-new"},
                headers=headers,
            )
        ).status_code
        for i in range(6)
    ]
    assert statuses[:5] == [403] * 5 and statuses[5] == 429


async def test_text_no_database_can_hold_is_422_not_500(api):
    surrogate = '{"email": "a@example.com", "password": "pass\\ud800word1", "display_name": "A"}'
    for path, body in (
        ("/api/signup", surrogate),
        (
            "/api/verify-email",
            '{"token": "\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800"}',
        ),
        ("/api/password-reset/confirm", '{"token": "x", "new_password": "pass\\ud800word1"}'),
    ):
        response = await api.post(path, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code in (403, 404, 422), (path, response.text)


async def test_mail_caps_hold_under_concurrent_requests(api, login, inbox, db):
    headers = await login("dora@example.com", verified=False)
    results = await asyncio.gather(
        *(api.post("/api/verify-email/resend", headers=headers) for _ in range(10))
    )
    assert sorted(r.status_code for r in results).count(202) == 2  # 3 an hour, sign-up's included
    async with db.engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT count(*) FROM email_links")) == 3


async def test_a_log_in_that_checked_an_old_password_opens_no_session(db, make_user):
    from movievote.services import accounts

    user = await make_user(email="eli@example.com", password="old-password")
    checked = user.password_hash  # what a log-in verified just before ...
    await accounts.change_password(
        throttle=get_root().throttle,  # ... the password changed
        user_id=user.id,
        current_password="old-password",
        new_password="new-password",
        db=db,
        settings=get_root().settings,
    )
    assert (
        await accounts.open_session(
            user=user, checked_hash=checked, db=db, settings=get_root().settings
        )
        is None
    )


async def test_a_reset_lets_its_owner_straight_back_in_and_kills_older_reset_links(
    api_from, login, inbox
):
    await login("finn@example.com")
    for i in range(40):  # the account is under attack: new places share the slow lane
        await api_from(f"10.2.{i}.1").post(
            "/api/token", data={"username": "finn@example.com", "password": f"g{i}"}
        )
    owner = api_from("192.0.2.200")  # a new place for the owner
    await owner.post("/api/password-reset", json={"email": "finn@example.com"})
    await owner.post("/api/password-reset", json={"email": "finn@example.com"})
    await notifications.settle_in_flight()
    first, second = (link_in(m) for m in inbox.to("finn@example.com")[-2:])
    done = await owner.post(
        "/api/password-reset/confirm", json={"token": second, "new_password": "finn-new-pass"}
    )
    assert done.status_code == 200
    for _ in range(3):  # straight in, however the botnet keeps the lane busy
        await api_from("10.3.0.1").post(
            "/api/token", data={"username": "finn@example.com", "password": "more-guessing"}
        )
        await token_of(owner, "finn@example.com", "finn-new-pass")
    stale = await owner.post(
        "/api/password-reset/confirm", json={"token": first, "new_password": "stale-link-pass"}
    )
    assert stale.status_code == 404


async def test_an_ended_session_learns_nothing_about_the_vote(api, movies, login):
    headers = await login("gil@example.com")
    assert (await api.post(f"/api/vote/{movies[0]}", headers=headers)).status_code == 201
    await api.post("/api/logout", headers=headers)
    again = await api.post(f"/api/vote/{movies[1]}", headers=headers)
    assert again.status_code == 401 and "movie_id" not in again.json()


async def test_the_outbox_is_off_in_production_mode_and_for_other_machines(monkeypatch):
    settings = get_settings()
    assert notifications.outbox_path(settings) is not None
    monkeypatch.setenv("REFLEX_ENV_MODE", "prod")  # what `reflex run --env prod` sets
    assert notifications.outbox_path(settings) is None
    from movievote.clients import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1")
    assert not is_loopback("192.168.1.20") and not is_loopback(None)
