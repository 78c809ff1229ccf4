"""API: published month results, their exports and the winners (public), the publication's
check (admins), a member's own ballot; and `verify-results --server` against it."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa

from movievote.services import accounts
from tests.conftest import cast_vote
from tests.integration.test_api_accounts import assert_error
from tests.integration.test_results import configure, publish  # noqa: F401 (a fixture)

PT = {"Accept-Language": "pt-BR,pt;q=0.9"}
pytestmark = pytest.mark.usefixtures("configure")  # VOTE_TIMEZONE=America/Sao_Paulo


async def november(movies, login, db):  # type: ignore[no-untyped-def]
    """Three members voted in November (two for Spirited Away), one was voided; published.
    Returns the first voter's Authorization header."""
    async with db.transaction() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO movie_translations (movie_id, language, title, overview) "
                "VALUES (:m, 'pt-BR', 'A Viagem de Chihiro', 'Uma menina.')"
            ),
            {"m": movies[1]},
        )
    first = await login("ana@example.com")
    for n, (email, movie) in enumerate(
        [("ana@example.com", 1), ("bia@example.com", 1), ("caio@example.com", 0)]
    ):
        await login(email)
        user = await accounts.get_user_by_email(email=email, db=db)
        assert user is not None and user.id is not None
        await cast_vote(
            user_id=user.id, movie_id=movies[movie], now=datetime(2026, 11, 5, n, tzinfo=UTC)
        )
    await publish()
    return first


async def test_results_and_winners_in_the_asked_language(api, movies, login, db):
    await november(movies, login, db)
    listed = await api.get("/api/results", headers=PT)
    assert listed.status_code == 200
    [month] = listed.json()
    assert month["month"] == "2026-11" and month["total_votes"] == 3
    assert month["winner"]["movie"]["title"] == "A Viagem de Chihiro"

    english = await api.get("/api/results/2026-11")
    assert english.status_code == 200
    body = english.json()
    assert set(body) == {
        "month",
        "published_at",
        "total_votes",
        "ballots",
        "ballots_sha256",
        "tie_break",
        "winner",
        "ranking",
    }  # nothing an admin alone may see (the tallies' check)
    assert body["published_at"].startswith("2026-12-02T03:00:00")
    assert [(e["rank"], e["movie"]["id"], e["votes"]) for e in body["ranking"]] == [
        (1, movies[1], 2),
        (2, movies[0], 1),
    ]
    assert body["winner"]["movie"]["title"] == "Spirited Away"
    assert abs(body["ranking"][0]["share"] - 2 / 3) < 1e-6
    portuguese = await api.get("/api/results/2026-11", params={"language": "pt-BR", "limit": 1})
    assert [e["movie"]["title"] for e in portuguese.json()["ranking"]] == ["A Viagem de Chihiro"]

    winners = await api.get("/api/winners", headers=PT)
    assert winners.status_code == 200
    assert winners.json() == [
        {
            "month": "2026-11",
            "movie": {
                "id": movies[1],
                "title": "A Viagem de Chihiro",
                "poster_url": None,
                "cover_url": f"/api/movies/{movies[1]}/poster.svg?language=pt-BR",
            },
            "votes": 2,
            "share": round(2 / 3, 6),
            "total_votes": 3,
        }
    ]


async def test_the_exports_stream_the_canonical_ballots_and_their_hash(api, movies, login, db):
    await november(movies, login, db)
    sha = (await api.get("/api/results/2026-11")).json()["ballots_sha256"]
    csv = await api.get("/api/results/2026-11/ballots.csv")
    assert csv.status_code == 200
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        csv.headers["content-disposition"] == 'attachment; filename="movievote-2026-11-ballots.csv"'
    )
    assert hashlib.sha256(csv.content).hexdigest() == sha
    assert csv.text.startswith("vote_id,movie_id,cast_at,voter,voided\n")
    exported = await api.get("/api/results/2026-11/export.json")
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "application/json"
    assert 'filename="movievote-2026-11.json"' in exported.headers["content-disposition"]
    document = json.loads(exported.content)
    assert list(document) == [
        "month",
        "published_at",
        "tie_break",
        "ranking",
        "total_votes",
        "ballots_sha256",
        "ballots",
    ]
    assert document["ballots_sha256"] == sha and document["total_votes"] == 3
    assert document["ranking"][0] == {
        "rank": 1,
        "movie_id": movies[1],
        "title": "Spirited Away",
        "votes": 2,
        "share": round(2 / 3, 6),
    }
    assert [set(b) for b in document["ballots"]] == [
        {"vote_id", "movie_id", "cast_at", "voter", "voided"}
    ] * 3


async def test_unpublished_and_malformed_months(api, movies, login, db):
    for path in ("", "/ballots.csv", "/export.json"):
        later = await api.get(f"/api/results/2099-11{path}")
        assert_error(later, 404, "result_not_found")
        assert later.json()["detail"] == (
            "The result of November 2099 will be published on December 2, 2099 at 00:00 "
            "(America/Sao_Paulo)."
        )
    never = await api.get("/api/results/2020-01", headers=PT)
    assert_error(never, 404, "result_not_found")
    assert never.json()["detail"] == "Ninguém votou em janeiro de 2020: o mês não tem resultado."
    for month in ("2026-13", "2026-1", "november", "2026-00", "0000-01", "9999-12"):
        assert_error(await api.get(f"/api/results/{month}"), 422, "invalid_input")
    assert (await api.get("/api/results")).json() == []
    assert (await api.get("/api/winners")).json() == []


async def test_a_member_finds_their_ballot_and_admins_see_the_check(api, movies, login, db):
    ana = await november(movies, login, db)
    mine = await api.get("/api/results/2026-11/my-ballot", headers=ana)
    assert mine.status_code == 200
    ballot = mine.json()
    assert ballot["movie_id"] == movies[1] and len(ballot["voter"]) == 16
    assert ballot["cast_at"] == "2026-11-05T00:00:00.000000Z"  # as the export writes it
    assert (
        f"{ballot['vote_id']},{movies[1]},{ballot['cast_at']},{ballot['voter']},false"
        in (await api.get("/api/results/2026-11/ballots.csv")).text
    )
    nobody = await login("late@example.com")
    assert (await api.get("/api/results/2026-11/my-ballot", headers=nobody)).json() is None
    assert (await api.get("/api/results/2026-11/my-ballot")).status_code == 401

    assert_error(await api.get("/api/admin/results/2026-11", headers=ana), 403, "admin_required")
    from movievote.services import admin

    await admin.grant_admin(email="ana@example.com", actor=admin.CLI, db=db)
    check = await api.get("/api/admin/results/2026-11", headers=ana)
    assert check.status_code == 200
    assert check.json()["tallies_match"] is True and check.json()["mismatches"] == []


async def test_verify_results_against_the_server(api, movies, login, db, tmp_path):
    from movievote import cli

    await november(movies, login, db)
    export = tmp_path / "movievote-2026-11.json"
    export.write_bytes((await api.get("/api/results/2026-11/export.json")).content)
    csv = tmp_path / "movievote-2026-11-ballots.csv"
    csv.write_bytes((await api.get("/api/results/2026-11/ballots.csv")).content)
    server = str(api.base_url)
    for path in (export, csv):
        found = await cli.verify_results(str(path), server=server, http=api)
        assert found.ok, found.report()
        assert found.checked_against[-1] == f"the server ({server})"
    # a CSV with one ballot changed: the server's hash and ranking no longer match
    lines = csv.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace(f",{movies[1]},", f",{movies[0]},")
    changed = tmp_path / "changed-2026-11.csv"
    changed.write_text("".join(lines))
    bad = await cli.verify_results(str(changed), server=server, http=api)
    assert not bad.ok
    assert "SHA-256 mismatch" in bad.report() and "ranking mismatch" in bad.report()
    # a month the server has not published
    async with httpx.AsyncClient(transport=api._transport, base_url=server) as other:
        try:
            await cli.verify_results(str(export), server=server, month="2099-11", http=other)
        except SystemExit as exc:
            assert "will be published on" in str(exc)
        else:
            raise AssertionError("verify-results accepted a month the server never published")
