from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from movievote.periods import format_period, next_vote_opens, parse_period, period_of


def test_period_of_uses_the_zone():
    instant = datetime(2025, 5, 31, 22, 0, tzinfo=UTC)
    assert period_of(instant, ZoneInfo("UTC")) == date(2025, 5, 1)
    assert period_of(instant, ZoneInfo("Europe/Paris")) == date(2025, 6, 1)


def test_next_vote_opens_at_local_midnight_of_the_first():
    zone = ZoneInfo("America/Sao_Paulo")
    assert next_vote_opens(date(2026, 12, 1), zone) == datetime(2027, 1, 1, tzinfo=zone)
    assert next_vote_opens(date(2026, 12, 1), zone).utcoffset().total_seconds() == -3 * 3600


def test_parse_and_format():
    assert parse_period("2026-02") == date(2026, 2, 1)
    assert format_period(date(2026, 2, 1)) == "2026-02"
    for bad in ("2026-13", "2026-00", "26-01", "2026-1", "all", "2026-01-01", ""):
        with pytest.raises(ValueError):
            parse_period(bad)
