"""The words of every notification: what each kind says, from its stored payload."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from movievote.adapters.delivery import Message
from movievote.models import VotePublic
from movievote.periods import day_label, month_label, next_vote_text, parse_period

ACCOUNT_MESSAGES = {
    "verify_email": (
        "Confirm your email address",
        "Hi, confirm your address to vote on movievote: {link} "
        "(the link works once, for {valid_for}). If you did not sign up, ignore this email.",
    ),
    "account_exists": (
        "You already have a movievote account",
        "Hi, someone (maybe you) tried to sign up with this address, which "
        "already has an account. Log in with it, or if you forgot your password set a new one: "
        "{link} (the link works once, for {valid_for}). If it was not you, ignore this email.",
    ),
    "password_reset": (
        "Reset your movievote password",
        "Hi, set a new password here: {link} (the link works once, for "
        "{valid_for}; it logs you out everywhere). If you did not ask, ignore this email.",
    ),
    "password_changed": (
        "Your movievote password was changed",
        "Hi, your password was just changed and every other session was "
        "logged out. If this was not you, reset your password at once.",
    ),
}


def render(kind: str, payload: dict[str, Any], link: str | None = None) -> Message:
    """The text of a notification of a given kind (`link`: a one-time link, never stored)."""
    if kind in ACCOUNT_MESSAGES:
        subject, body = ACCOUNT_MESSAGES[kind]
        values = {"valid_for": "", **payload, "link": link or "(link)"}
        return Message(subject=subject, body=body.format(**values))
    if kind == "vote_registered":
        subject = "Your vote is in"
        opens = payload.get("next_vote_at")
        body = (
            f"You voted for {payload.get('movie_title', 'a movie')} in {payload.get('period_label', '')}. "
            + (
                next_vote_text(datetime.fromisoformat(opens))
                if opens
                else "Your next vote opens on the 1st of next month."
            )
        )
        return Message(subject=subject, body=" ".join(body.split()))
    return Message(subject=kind.replace("_", " ").capitalize(), body=str(payload.get("text", "")))


def vote_registered_payload(vote: VotePublic, movie_title: str) -> dict[str, Any]:
    period = parse_period(vote.period)
    return {
        "vote_id": vote.id,
        "movie_id": vote.movie_id,
        "movie_title": movie_title,
        "period": vote.period,
        "period_label": month_label(period),
        "next_vote_at": vote.next_vote_at.isoformat(),
        "next_vote_label": day_label(vote.next_vote_at),
    }
