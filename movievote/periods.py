"""Vote periods: calendar months in the vote time zone, written `YYYY-MM`."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

ALL_TIME: Literal["all"] = "all"
CURRENT = "current"
_PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")


def period_of(instant: datetime, zone: ZoneInfo) -> date:
    """The period (first day of the month) that an aware instant falls in, seen from `zone`."""
    if instant.tzinfo is None:
        raise ValueError("period_of needs an aware datetime")
    local = instant.astimezone(zone)
    return date(local.year, local.month, 1)


def current_period(zone: ZoneInfo, now: datetime | None = None) -> date:
    """The period votes cast now (or at `now`) belong to, in the vote time zone."""
    return period_of(now or datetime.now(UTC), zone)


def next_period(period: date) -> date:
    return (
        date(period.year + 1, 1, 1)
        if period.month == 12
        else date(period.year, period.month + 1, 1)
    )


def previous_period(period: date) -> date:
    return (
        date(period.year - 1, 12, 1)
        if period.month == 1
        else date(period.year, period.month - 1, 1)
    )


def period_start(period: date, zone: ZoneInfo) -> datetime:
    """The first instant of a period, aware, in the vote time zone."""
    return datetime.combine(period, time.min, tzinfo=zone)


def next_vote_opens(period: date, zone: ZoneInfo) -> datetime:
    """When a user who voted in `period` may vote again."""
    return period_start(next_period(period), zone)


def results_due(period: date, zone: ZoneInfo, grace_hours: float) -> datetime:
    """When a month's result is final: its end in the vote time zone plus the grace period for
    voiding (RESULTS_GRACE_HOURS). Until then its votes may be voided and restored."""
    return next_vote_opens(period, zone).astimezone(UTC) + timedelta(hours=grace_hours)


def format_period(period: date) -> str:
    return f"{period.year:04d}-{period.month:02d}"


def parse_period(text: str) -> date:
    """`YYYY-MM` -> the period's first day; ValueError otherwise."""
    match = _PERIOD_RE.match(text)
    if not match:
        raise ValueError(f"a period is written YYYY-MM, got {text!r}")
    year, month = int(match[1]), int(match[2])
    if not (1 <= month <= 12 and 1 <= year <= 9999):
        raise ValueError(f"no such month: {text!r}")
    return date(year, month, 1)


def month_label(period: date) -> str:
    """A period as people read it: "November 2026"."""
    return f"{period:%B %Y}"


def day_label(moment: datetime) -> str:
    """A day as people read it: "1 December 2026"."""
    return f"{moment.day} {moment:%B %Y}"


def next_vote_text(opens: datetime) -> str:
    """The one sentence that says when a member votes again (pages, API errors, messages)."""
    return f"Your next vote opens on {day_label(opens)}."


def parse_scope(text: str) -> date | Literal["all"] | None:
    """What a ranking is asked for, as the API and the pages write it: `current` (None: the
    month is resolved when read, so it rolls over by itself), `all`, or `YYYY-MM`;
    ValueError otherwise."""
    if text == CURRENT:
        return None
    if text == ALL_TIME:
        return ALL_TIME
    try:
        return parse_period(text)
    except ValueError as exc:
        raise ValueError(f"{exc}; use current, all or YYYY-MM") from exc
