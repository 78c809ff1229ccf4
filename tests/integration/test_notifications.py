"""Notifications: the factory, recorded deliveries, bounded retries, failures that spare the vote."""

from __future__ import annotations

import asyncio
import logging
import socket

import httpx
import pytest
import sqlalchemy as sa

from movievote.adapters.email import EmailNotifier
from movievote.adapters.sms import SmsNotifier
from movievote.config import Settings
from movievote.errors import InvalidInput
from movievote.root import get_root
from movievote.services import messages, notifications, voting
from movievote.services.notifications import InAppNotifier, create_notifier
from tests.conftest import cast_vote

PAYLOAD = {  # as messages.vote_registered_payload writes it
    "movie_title": "Parasite",
    "period": "2026-11",
    "next_vote_at": "2026-12-01T00:00:00+00:00",
}


def test_the_factory_makes_one_notifier_per_channel():
    settings = Settings(_env_file=None)
    assert isinstance(create_notifier("email", settings=settings), EmailNotifier)
    assert isinstance(create_notifier("sms", settings=settings), SmsNotifier)
    assert isinstance(create_notifier("in_app", settings=settings), InAppNotifier)
    with pytest.raises(InvalidInput):
        create_notifier("pigeon", settings=settings)


def test_the_message_names_the_movie_the_month_and_the_next_vote():
    message = messages.render("vote_registered", PAYLOAD)
    assert message.subject == "Your vote is in"
    assert (
        message.body
        == "You voted for Parasite in November 2026. Your next vote opens on December 1, 2026."
    )
    message = messages.render("vote_registered", PAYLOAD, language="pt-BR")
    assert message.subject == "Seu voto foi registrado"
    assert message.body == (
        "Você votou em Parasite em novembro de 2026. Seu próximo voto abre em 1 de dezembro de 2026."
    )


async def _rows(db):
    async with db.engine.connect() as conn:
        return (
            (
                await conn.execute(
                    sa.text(
                        "SELECT channel, kind, status, attempts, last_error, sent_at FROM notifications "
                        "WHERE kind = 'vote_registered' ORDER BY id"
                    )
                )
            )
            .mappings()
            .all()
        )


@pytest.mark.parametrize("channel", ["in_app", "email"])
async def test_a_delivery_is_recorded_and_logged(db, make_user, caplog, channel):
    user = await make_user(notification_channel=channel)
    with caplog.at_level(logging.INFO, logger="movievote.notifications"):
        note = await notifications.notify(
            user=user, kind="vote_registered", payload=PAYLOAD, db=db, settings=get_root().settings
        )
    assert (note.status, note.attempts, note.channel) == ("sent", 1, channel)
    [row] = await _rows(db)
    assert (row["channel"], row["kind"], row["status"], row["attempts"]) == (
        channel,
        "vote_registered",
        "sent",
        1,
    )
    assert row["sent_at"] is not None
    assert "You voted for Parasite" in caplog.text
    [listed] = [
        n
        for n in await notifications.list_notifications(user_id=user.id, unread_only=True, db=db)
        if n.kind == "vote_registered"  # not the verification email of the sign-up
    ]
    assert listed.payload == PAYLOAD


async def test_sms_retries_a_failing_gateway_then_delivers(db, make_user):
    user = await make_user(notification_channel="sms")
    async with db.transaction() as conn:
        await conn.execute(
            sa.text("UPDATE users SET phone = '+5511999990000' WHERE id = :u"), {"u": user.id}
        )
    user.phone = "+5511999990000"
    answers = iter([503, 503, 200])
    bodies = []

    def gateway(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(next(answers), json={})

    async with httpx.AsyncClient(transport=httpx.MockTransport(gateway)) as http:
        settings = Settings(
            _env_file=None,
            notify_sms_gateway_url="https://sms.example/send",
            notify_retry_seconds=0.01,
        )
        notifier = create_notifier("sms", settings=settings, http=http)
        note = await notifications.notify(
            user=user,
            kind="vote_registered",
            payload=PAYLOAD,
            notifier=notifier,
            settings=settings,
            db=db,
        )
    assert (note.status, note.attempts) == ("sent", 3)
    assert len(bodies) == 3 and b"+5511999990000" in bodies[0]
    assert [(r["status"], r["attempts"]) for r in await _rows(db)] == [("sent", 3)]


async def test_sms_without_a_phone_fails_at_once_and_is_not_retried(db, make_user):
    user = await make_user(notification_channel="sms")
    note = await notifications.notify(
        user=user, kind="vote_registered", payload=PAYLOAD, db=db, settings=get_root().settings
    )
    assert (note.status, note.attempts, note.last_error) == (
        "failed",
        1,
        "no phone number on the account",
    )


async def test_an_unreachable_mail_server_is_retried_with_a_bound_and_spares_the_vote(
    db, movies, make_user, caplog
):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(
        _env_file=None,
        notify_smtp_url=f"smtp://127.0.0.1:{port}",
        notify_max_attempts=3,
        notify_retry_seconds=0.01,
    )
    user = await make_user(notification_channel="email")
    vote = await cast_vote(user_id=user.id, movie_id=movies[0])
    with caplog.at_level(logging.WARNING, logger="movievote.notifications"):
        note = await notifications.notify(
            user=user, kind="vote_registered", payload=PAYLOAD, settings=settings, db=db
        )
    assert (note.status, note.attempts) == ("failed", 3)
    assert "SMTP delivery failed" in note.last_error
    assert caplog.text.count("failed (attempt") == 3
    [row] = await _rows(db)
    assert (row["status"], row["attempts"], row["sent_at"]) == ("failed", 3, None)
    assert await voting.vote_of(user_id=user.id, db=db, settings=get_root().settings) == vote


async def test_a_crashing_notifier_is_recorded_not_raised(db, make_user):
    class Crashing:
        channel = "in_app"

        async def send(self, *, user, message):
            raise RuntimeError("bug")

    user = await make_user()
    note = await notifications.notify(
        user=user,
        kind="vote_registered",
        payload=PAYLOAD,
        notifier=Crashing(),
        db=db,
        settings=get_root().settings,
    )
    assert note.status == "failed" and note.last_error == "RuntimeError: bug"


async def test_concurrent_vote_notifications_go_out_in_batches(db, movies, make_user):
    from movievote.root import get_root

    users = [
        await make_user(notification_channel="in_app" if i % 3 else "email") for i in range(30)
    ]
    votes = [await cast_vote(user_id=u.id, movie_id=movies[i % 5]) for i, u in enumerate(users)]
    notes = await asyncio.gather(
        *(
            get_root().dispatcher.vote_registered(user_id=u.id, vote=v)
            for u, v in zip(users, votes, strict=True)
        )
    )
    assert [n.user_id for n in notes] == [u.id for u in users]
    assert all(n.status == "sent" and n.attempts == 1 for n in notes)
    assert [n.channel for n in notes] == ["email" if i % 3 == 0 else "in_app" for i in range(30)]
    assert notes[1].payload["movie_title"] == "Spirited Away"
    assert get_root().dispatcher.batches <= 2
    rows = await _rows(db)
    assert len(rows) == 30 and {r["status"] for r in rows} == {"sent"}


async def test_a_vote_notification_for_a_deleted_account_is_dropped(db, movies, make_user):
    user = await make_user()
    vote = await cast_vote(user_id=user.id, movie_id=movies[0])
    async with db.transaction() as conn:
        await conn.execute(sa.text("DELETE FROM users WHERE id = :u"), {"u": user.id})
    assert await get_root().dispatcher.vote_registered(user_id=user.id, vote=vote) is None
    assert await _rows(db) == []
