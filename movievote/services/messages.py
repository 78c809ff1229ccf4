"""The words of every notification: what each kind says, from its stored payload, in the
reader's language (an email in the member's, an in-app note in the page's)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from movievote.adapters.delivery import Message
from movievote.i18n import N_, Day, Duration, Month, gettext, ngettext
from movievote.models import VotePublic
from movievote.periods import parse_period

ACCOUNT_MESSAGES = {
    "verify_email": (
        N_("Confirm your email address"),
        N_(
            "Hi, confirm your address to vote on movievote: {link} (the link works once, for "
            "{valid_for}). If you did not sign up, ignore this email."
        ),
    ),
    "account_exists": (
        N_("You already have a movievote account"),
        N_(
            "Hi, someone (maybe you) tried to sign up with this address, which already has an "
            "account. Log in with it, or if you forgot your password set a new one: {link} "
            "(the link works once, for {valid_for}). If it was not you, ignore this email."
        ),
    ),
    "password_reset": (
        N_("Reset your movievote password"),
        N_(
            "Hi, set a new password here: {link} (the link works once, for {valid_for}; it "
            "logs you out everywhere). If you did not ask, ignore this email."
        ),
    ),
    "password_changed": (
        N_("Your movievote password was changed"),
        N_(
            "Hi, your password was just changed and every other session was logged out. If "
            "this was not you, reset your password at once."
        ),
    ),
}


def render(
    kind: str, payload: dict[str, Any], link: str | None = None, *, language: str = "en"
) -> Message:
    """The text of a notification of a given kind in `language` (`link`: a one-time link,
    never stored)."""
    if kind in ACCOUNT_MESSAGES:
        subject, body = ACCOUNT_MESSAGES[kind]
        seconds = payload.get("valid_for_seconds")
        values = {
            "valid_for": Duration(float(seconds)) if seconds else payload.get("valid_for", ""),
            "link": link or "(link)",
        }
        return Message(subject=gettext(language, subject), body=gettext(language, body, **values))
    if kind == "vote_registered":
        title = (
            payload.get("movie_titles", {}).get(language)
            or payload.get("movie_title")
            or gettext(language, N_("a movie"))
        )
        month = Month(parse_period(payload["period"])) if payload.get("period") else ""
        opens = payload.get("next_vote_at")
        body = gettext(language, N_("You voted for {title} in {month}."), title=title, month=month)
        if opens:
            day = Day(datetime.fromisoformat(opens))
            body += " " + gettext(language, N_("Your next vote opens on {day}."), day=day)
        return Message(subject=gettext(language, N_("Your vote is in")), body=body)
    if kind == "month_result":
        return _month_result(payload, language)
    return Message(subject=kind.replace("_", " ").capitalize(), body=str(payload.get("text", "")))


def _month_result(payload: dict[str, Any], language: str) -> Message:
    """ "The movie of November 2026 is ...": a month's published result, to every member."""
    month = Month(parse_period(payload["period"]))
    title = payload.get("movie_titles", {}).get(language) or payload["movie_title"]
    body = ngettext(
        language,
        "The movie of {month} is {title}, with {votes} of {n} vote.",
        "The movie of {month} is {title}, with {votes} of {n} votes.",
        int(payload["total_votes"]),
        month=month,
        title=title,
        votes=int(payload["votes"]),
    )
    if payload.get("url"):
        body += " " + gettext(
            language,
            N_("See the whole result, and check it yourself: {url}"),
            url=payload["url"],
        )
    subject = gettext(language, N_("The movie of {month}"), month=month)
    return Message(subject=subject, body=body)


def month_result_payload(
    *,
    period: str,
    movie_id: int,
    movie_title: str,
    translated: dict[str, str],
    votes: int,
    total_votes: int,
    url: str | None,
) -> dict[str, Any]:
    """What the "movie of the month" note keeps: facts, worded in each reader's language."""
    return {
        "period": period,
        "movie_id": movie_id,
        "movie_title": movie_title,
        "movie_titles": translated,
        "votes": votes,
        "total_votes": total_votes,
        "url": url,
    }


def vote_registered_payload(
    vote: VotePublic, movie_title: str, translated: dict[str, str] | None = None
) -> dict[str, Any]:
    """What the "vote registered" note keeps: facts, not sentences (each reader's language
    words them, with the movie's title in that language where the catalogue has one)."""
    return {
        "vote_id": vote.id,
        "movie_id": vote.movie_id,
        "movie_title": movie_title,
        "movie_titles": translated or {},
        "period": vote.period,
        "next_vote_at": vote.next_vote_at.isoformat(),
    }
