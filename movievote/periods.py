"""Vote periods: calendar months in the vote time zone, written `YYYY-MM`."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

ALL_TIME = "all"
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


def period_start(period: date, zone: ZoneInfo) -> datetime:
    """The first instant of a period, aware, in the vote time zone."""
    return datetime.combine(period, time.min, tzinfo=zone)


def next_vote_opens(period: date, zone: ZoneInfo) -> datetime:
    """When a user who voted in `period` may vote again."""
    return period_start(next_period(period), zone)


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
