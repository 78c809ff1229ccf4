"""The canonical ballots, the voters' pseudonyms, the ranking rule and the verification of an
export, without a database (what a member runs at home)."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from movievote.services import ballots

MONTH = date(2026, 11, 1)
KEY = ballots.pseudonym_key("a server secret")


def rows(n: int, movies: tuple[int, ...] = (7, 8, 9)) -> list[tuple[int, int, str, str, bool]]:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    return [
        (
            i,
            movies[(i * i) % len(movies)],
            ballots.cast_at_text(start + timedelta(minutes=i)),
            ballots.pseudonym(KEY, MONTH, 1000 + i),
            i % 11 == 0,
        )
        for i in range(1, n + 1)
    ]


def export(ballot_rows: list[tuple[int, int, str, str, bool]], **changes: object) -> bytes:
    """A JSON export as the server writes it (its header from the ballots themselves)."""
    tally = ballots.Tally()
    for _, movie, cast_at, _, voided in ballot_rows:
        tally.add(movie, cast_at, voided)
    canonical = ballots.CSV_HEADER + "".join(ballots.csv_row(*r) for r in ballot_rows)
    head = {
        "month": "2026-11",
        "published_at": "2026-12-02T03:00:00+00:00",
        "tie_break": ballots.TIE_BREAK,
        "ranking": [
            {
                "rank": p.rank,
                "movie_id": p.movie_id,
                "title": "t",
                "votes": p.votes,
                "share": p.share,
            }
            for p in tally.ranking()
        ],
        "total_votes": tally.counted,
        "ballots_sha256": hashlib.sha256(canonical.encode()).hexdigest(),
        **changes,
    }
    text = json.dumps(head)[:-1] + ', "ballots": [\n'
    text += ",\n".join(ballots.json_ballot(*r) for r in ballot_rows) + "\n]}\n"
    return text.encode()


def test_the_canonical_row_is_utc_with_microseconds_and_z():
    at = datetime(2026, 11, 30, 23, 30, tzinfo=timezone(timedelta(hours=-3)))
    assert ballots.cast_at_text(at) == "2026-12-01T02:30:00.000000Z"
    assert ballots.csv_row(12, 3, "2026-12-01T02:30:00.000000Z", "0123456789abcdef", False) == (
        "12,3,2026-12-01T02:30:00.000000Z,0123456789abcdef,false\n"
    )


def test_the_pseudonym_is_hmac_sha256_and_the_padded_keys_give_the_same():
    expected = hmac.new(KEY, b"2026-11:42", hashlib.sha256).hexdigest()[:16]
    assert ballots.pseudonym(KEY, MONTH, 42) == expected
    inner, outer = ballots.hmac_pads(KEY)  # what PostgreSQL's sha256() is given
    manual = hashlib.sha256(outer + hashlib.sha256(inner + b"2026-11:42").digest()).hexdigest()
    assert manual[:16] == expected
    assert ballots.pseudonym(KEY, date(2026, 12, 1), 42) != expected  # another month
    assert ballots.pseudonym(ballots.pseudonym_key("another"), MONTH, 42) != expected


def test_the_tie_break():
    ranking = ballots.rank_movies(
        {
            5: (2, "2026-11-02T00:00:00.000000Z"),
            4: (2, "2026-11-01T00:00:00.000000Z"),  # reached 2 first
            9: (3, "2026-11-30T00:00:00.000000Z"),
            2: (1, "2026-11-03T00:00:00.000000Z"),
            1: (1, "2026-11-03T00:00:00.000000Z"),  # same instant: the lower id
        }
    )
    assert [(p.rank, p.movie_id) for p in ranking] == [(1, 9), (2, 4), (3, 5), (4, 1), (5, 2)]
    assert ranking[0].share == round(3 / 9, 6)


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 16])
def test_an_export_verifies_however_it_is_read_in_pieces(monkeypatch, chunk):
    monkeypatch.setattr(ballots, "READ_CHUNK", chunk)
    found = ballots.verify_export(io.BytesIO(export(rows(40))))
    assert found.ok, found.report()
    assert (found.month, found.ballots, found.counted) == ("2026-11", 40, 37)
    assert found.checked_against == ["the export"]


def test_a_reformatted_export_still_verifies_and_the_fields_may_come_in_any_order():
    document = json.loads(export(rows(12)))
    reordered = {"ballots": document.pop("ballots"), **document}
    found = ballots.verify_export(io.BytesIO(json.dumps(reordered, indent=4).encode()))
    assert found.ok, found.report()


def test_what_differs_is_said():
    good = rows(20)
    changed = list(good)
    vote_id, movie, cast_at, voter, voided = changed[4]
    changed[4] = (vote_id, 9 if movie != 9 else 7, cast_at, voter, voided)
    report = ballots.verify_export(io.BytesIO(_with_ballots(good, changed)))
    assert not report.ok
    assert any("SHA-256 mismatch" in p for p in report.problems)
    assert any(p.startswith("ranking mismatch") for p in report.problems)

    wrong_total = ballots.verify_export(io.BytesIO(export(good, total_votes=3)))
    assert wrong_total.problems == ["total mismatch: the ballots count 19 votes, the export says 3"]
    swapped = list(good)
    swapped[2], swapped[3] = swapped[3], swapped[2]
    unsorted = ballots.verify_export(io.BytesIO(_with_ballots(good, swapped)))
    assert any("must be sorted by vote_id" in p for p in unsorted.problems)


def _with_ballots(claimed: list, actual: list) -> bytes:  # type: ignore[type-arg]
    """An export whose header was made from `claimed` but whose ballots are `actual`."""
    head, _, _ = export(claimed).partition(b', "ballots": [')
    body = ",\n".join(ballots.json_ballot(*r) for r in actual)
    return head + b', "ballots": [\n' + body.encode() + b"\n]}\n"


def test_malformed_ballots_and_files_are_reported_not_raised():
    bad = rows(3)
    text = export(bad).decode().replace(bad[1][2], "2026-11-01 00:02:00")
    found = ballots.verify_export(io.BytesIO(text.encode()))
    assert any("is not ISO-8601 UTC with microseconds and Z" in p for p in found.problems)
    broken = ballots.verify_export(io.BytesIO(b'{"month": "2026-11", "ballots": [{"vote_id": 1'))
    assert not broken.ok and "cannot be read as a movievote export" in broken.problems[-1]


def test_the_csv_is_hashed_byte_for_byte():
    canonical = (ballots.CSV_HEADER + "".join(ballots.csv_row(*r) for r in rows(9))).encode()
    found = ballots.verify_export(io.BytesIO(canonical), month="2026-11")
    assert found.ok and found.sha256 == hashlib.sha256(canonical).hexdigest()
    windows = ballots.verify_export(io.BytesIO(canonical.replace(b"\n", b"\r\n")))
    assert not windows.ok and "line 2: does not end with a single LF" in windows.problems
    assert windows.sha256 != found.sha256
    claim = ballots.Claimed("the server", "2026-11", found.sha256, found.counted, None)
    assert ballots.verify_export(io.BytesIO(canonical), published=claim).ok
    assert ballots.month_of_file("movievote-2026-11-ballots.csv") == "2026-11"
