"""Voiding and restoring votes (services/moderation.py): the tallies, the rankings and their
tie-break follow at once, as a rebuild from the votes would give them; refusals (unknown vote,
voided twice, final month); one change when admins race; the audit log; the member's own view;
and the stuffing signs on a data set whose answer is known."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from movievote.errors import InvalidInput, ResultFinal, VoteNotFound, VoteNotVoided, VoteVoided
from movievote.models import AllTimeTally, MonthlyTally, PeriodTotal, User
from movievote.periods import results_due
from movievote.root import get_root
from movievote.services import admin, moderation, ranking, voting
from movievote.services.tallies import rebuild_tallies
from tests.conftest import cast_vote

users_t = User.__table__  # type: ignore[attr-defined]
monthly_t = MonthlyTally.__table__  # type: ignore[attr-defined]
all_time_t = AllTimeTally.__table__  # type: ignore[attr-defined]
totals_t = PeriodTotal.__table__  # type: ignore[attr-defined]

NOVEMBER = date(2026, 11, 1)
DURING = datetime(2026, 11, 20, 12, tzinfo=UTC)  # November is open: its votes may change
BOSS = admin.Actor(None, "boss@example.com")


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) + timedelta(seconds=second)


_members = iter(range(1, 1_000_000))


async def member(db, *, joined: datetime | None = None, source: str | None = None) -> int:  # type: ignore[no-untyped-def]
    """A verified member whose account was made at `joined` (default: an old account, hours
    apart from the others), straight into the table: the signs read only the creation time."""
    n = next(_members)
    joined = joined or datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=n)
    async with db.transaction() as conn:
        return int(
            await conn.scalar(
                sa.insert(users_t)
                .values(
                    email=f"voter{n}@example.com",
                    display_name=f"Voter {n}",
                    password_hash="x",
                    notification_channel="in_app",
                    is_admin=False,
                    created_at=joined,
                    email_verified_at=joined,
                    signup_source=source,
                )
                .returning(users_t.c.id)
            )
        )


async def vote(db, movie_id: int, when: datetime, **kw) -> int:  # type: ignore[no-untyped-def]
    user_id = await member(db, **kw)
    return (await cast_vote(user_id=user_id, movie_id=movie_id, now=when)).id


async def void(vote_id: int, reason: str = "stuffing", **kw):  # type: ignore[no-untyped-def]
    root = get_root()
    kw.setdefault("now", DURING)
    done = await moderation.void_vote(
        vote_id=vote_id,
        reason=reason,
        actor=kw.pop("actor", BOSS),
        settings=root.settings,
        db=root.db,
        subject=root.subject,
        **kw,
    )
    await root.subject.settle()
    return done


async def restore(vote_id: int, **kw):  # type: ignore[no-untyped-def]
    root = get_root()
    kw.setdefault("now", DURING)
    done = await moderation.restore_vote(
        vote_id=vote_id,
        actor=kw.pop("actor", BOSS),
        settings=root.settings,
        db=root.db,
        subject=root.subject,
        **kw,
    )
    await root.subject.settle()
    return done


async def board(db, scope=NOVEMBER) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    """(movie, votes) in ranking order, straight from the tallies."""
    ranked = await ranking.compute_ranking(scope, db=db)
    return [(e.movie.id, e.votes) for e in ranked.items]


async def tallies(db) -> tuple[list[tuple[object, ...]], ...]:  # type: ignore[no-untyped-def]
    """Every tally row that counts (a movie left with no vote keeps a 0 row a rebuild has not)."""
    async with db.engine.connect() as conn:
        monthly = (
            await conn.execute(
                sa.select(
                    monthly_t.c.period,
                    monthly_t.c.movie_id,
                    monthly_t.c.votes,
                    monthly_t.c.reached_at,
                )
                .where(monthly_t.c.votes > 0)
                .order_by(monthly_t.c.period, monthly_t.c.movie_id)
            )
        ).all()
        all_time = (
            await conn.execute(
                sa.select(all_time_t.c.movie_id, all_time_t.c.votes, all_time_t.c.reached_at)
                .where(all_time_t.c.votes > 0)
                .order_by(all_time_t.c.movie_id)
            )
        ).all()
        totals = (
            await conn.execute(
                sa.select(totals_t.c.period, totals_t.c.votes)
                .where(totals_t.c.votes > 0)
                .order_by(totals_t.c.period)
            )
        ).all()
    return [tuple(r) for r in monthly], [tuple(r) for r in all_time], [tuple(r) for r in totals]


async def assert_as_rebuilt(db) -> None:  # type: ignore[no-untyped-def]
    """The tallies the folds kept are exactly what a rebuild from the votes gives."""
    await get_root().subject.settle()
    kept, order = await tallies(db), (await board(db), await board(db, "all"))
    await rebuild_tallies(db=db)
    assert await tallies(db) == kept
    assert (await board(db), await board(db, "all")) == order


async def audit_rows(db) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT action, actor_label, target_type, target_id, reason FROM audit_log ORDER BY id"
            )
        )
        return [tuple(r) for r in rows]


async def test_a_void_leaves_the_rankings_and_a_restore_brings_it_back(db, movies):
    godfather, spirited, *_ = movies
    first = await vote(db, godfather, at(2))
    await vote(db, godfather, at(3))
    await vote(db, spirited, at(4))
    await get_root().subject.settle()
    assert await board(db) == [(godfather, 2), (spirited, 1)]

    voided = await void(first, reason="  a sock puppet  ")
    assert voided.voided and voided.voided_at == DURING and voided.void_reason == "a sock puppet"
    assert voided.movie_title == "The Godfather" and voided.period == "2026-11"
    # godfather's one vote left was cast on the 3rd, spirited's on the 4th: godfather first
    assert await board(db) == [(godfather, 1), (spirited, 1)]
    await assert_as_rebuilt(db)
    assert await board(db, "all") == [(godfather, 1), (spirited, 1)]

    restored = await restore(first)
    assert not restored.voided and restored.voided_at is None and restored.void_reason is None
    assert await board(db) == [(godfather, 2), (spirited, 1)]
    await assert_as_rebuilt(db)
    assert await audit_rows(db) == [
        ("vote.void", "boss@example.com", "vote", str(first), "a sock puppet"),
        ("vote.restore", "boss@example.com", "vote", str(first), None),
    ]
    entries = (await admin.audit_entries(db=db)).items
    restore_entry, void_entry = entries
    assert void_entry.before is not None and void_entry.after is not None
    assert void_entry.before["voided_at"] is None and void_entry.before["movie_id"] == godfather
    assert void_entry.after["voided_at"] == DURING.isoformat()
    assert void_entry.after["void_reason"] == "a sock puppet"
    assert restore_entry.before == void_entry.after and restore_entry.after == void_entry.before


async def test_reached_at_follows_the_votes_that_remain_as_a_rebuild_gives_it(db, movies):
    """Tie-break: votes desc, then the movie that reached its count first. Voiding the vote
    that took a movie to its count must give it the time of its latest remaining vote; the
    folds' GREATEST alone would keep the voided vote's time and rank it behind."""
    heat, brazil, *_ = movies
    await vote(db, heat, at(1))
    await vote(db, brazil, at(2))
    await vote(db, brazil, at(3))
    await vote(db, heat, at(4))
    latest = await vote(db, brazil, at(5))
    # an older month and a vote for heat in it: the all-time row spans months
    await vote(db, heat, datetime(2026, 10, 9, tzinfo=UTC))
    await get_root().subject.settle()
    assert await board(db) == [(brazil, 3), (heat, 2)]

    await void(latest)  # brazil: 2 votes, reached on the 3rd; heat: 2, reached on the 4th
    assert await board(db) == [(brazil, 2), (heat, 2)]
    await assert_as_rebuilt(db)

    await restore(latest)
    assert await board(db) == [(brazil, 3), (heat, 2)]
    await assert_as_rebuilt(db)

    async with db.engine.connect() as conn:
        heat_votes = list(
            await conn.scalars(
                sa.text("SELECT id FROM votes WHERE movie_id = :m ORDER BY created_at").bindparams(
                    m=heat
                )
            )
        )
    early = at(1, 6)  # within October's grace: its votes may change too
    for vote_id in heat_votes:  # every one of heat's votes out, then back, in turn
        await void(vote_id, now=early)
        await assert_as_rebuilt(db)
    assert await board(db) == [(brazil, 3)]
    assert await board(db, "all") == [(brazil, 3)]
    for vote_id in heat_votes:
        await restore(vote_id, now=early)
        await assert_as_rebuilt(db)
    assert await board(db, "all") == [(heat, 3), (brazil, 3)]  # heat reached 3 on Nov 4th


async def test_refusals_unknown_voided_twice_not_voided_final_and_the_reason(db, movies, settings):
    vote_id = await vote(db, movies[0], at(2))
    with pytest.raises(VoteNotFound) as unknown:
        await void(999_999)
    assert unknown.value.code == "vote_not_found"
    with pytest.raises(VoteNotFound):
        await restore(999_999)
    for blank in ("", "   "):
        with pytest.raises(InvalidInput) as refused:
            await void(vote_id, reason=blank)
        assert refused.value.field == "reason"
    with pytest.raises(InvalidInput):
        await void(vote_id, reason="x" * 501)
    with pytest.raises(VoteNotVoided):
        await restore(vote_id)

    due = results_due(NOVEMBER, settings.zone, settings.results_grace_hours)
    assert due == datetime(2026, 12, 2, tzinfo=UTC)  # the end of November + 24 h
    with pytest.raises(ResultFinal) as final:
        await void(vote_id, now=due)
    assert final.value.code == "result_final"
    assert str(final.value) == (
        "The result of November 2026 is final: its votes can no longer be voided or restored."
    )
    await void(vote_id, now=due - timedelta(seconds=1))  # within the grace: still possible
    with pytest.raises(VoteVoided) as twice:
        await void(vote_id)
    assert twice.value.code == "vote_voided"
    with pytest.raises(ResultFinal):
        await restore(vote_id, now=due + timedelta(days=30))
    assert len(await audit_rows(db)) == 1  # only the one void was recorded
    assert moderation.is_final(NOVEMBER, now=due, settings=settings)
    assert not moderation.is_final(NOVEMBER, now=due - timedelta(seconds=1), settings=settings)


async def test_admins_racing_to_void_one_vote_make_one_change_and_one_record(db, movies):
    vote_id = await vote(db, movies[0], at(2))
    await get_root().subject.settle()
    racers = [admin.Actor(None, f"admin{i}@example.com") for i in range(5)]
    outcomes = await asyncio.gather(
        *(void(vote_id, reason=f"by {a.label}", actor=a) for a in racers),
        return_exceptions=True,
    )
    won = [o for o in outcomes if not isinstance(o, BaseException)]
    lost = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(won) == 1 and all(isinstance(o, VoteVoided) for o in lost), outcomes
    rows = await audit_rows(db)
    assert len(rows) == 1 and rows[0][4] == won[0].void_reason
    assert await board(db) == []
    async with db.engine.connect() as conn:  # one -1, no more: the count is not below zero
        assert await conn.scalar(sa.text("SELECT votes FROM period_totals")) == 0
    await assert_as_rebuilt(db)


async def test_the_member_s_own_vote_says_it_was_voided(db, movies, settings):
    user_id = await member(db)
    cast = await cast_vote(user_id=user_id, movie_id=movies[1])
    await void(cast.id, now=None)
    mine = await voting.vote_of(user_id=user_id, settings=settings, db=db)
    assert mine is not None and mine.id == cast.id and mine.voided_at is not None
    await restore(cast.id, now=None)
    mine = await voting.vote_of(user_id=user_id, settings=settings, db=db)
    assert mine is not None and mine.voided_at is None


async def test_stuffing_signs_on_a_data_set_whose_answer_is_known(db, movies):
    """- heat: 12 votes in 5 minutes from accounts made 1 to 2 hours before, within 6 minutes
      of each other (young, burst and sign-up wave), and one later vote from an old account
      (no sign);
    - brazil: 9 votes in 5 minutes from old accounts (under the burst's 10: no sign);
    - parasite: 3 young accounts, days apart (young only);
    - amelie: accounts 47 h (young) and 49 h (not young) old when they voted;
    - city: 10 votes spanning 10 minutes and 10 seconds, from old accounts (no burst)."""
    heat, brazil, parasite, city, amelie = movies
    wave = at(10, 9)
    heat_votes = [
        await vote(db, heat, at(10, 11, 0, 25 * i), joined=wave + timedelta(seconds=30 * i))
        for i in range(12)
    ]
    heat_late = await vote(db, heat, at(14))
    brazil_votes = [await vote(db, brazil, at(11, 15, 0, 33 * i)) for i in range(9)]
    parasite_votes = [
        await vote(db, parasite, at(3 + 5 * i), joined=at(3 + 5 * i) - timedelta(hours=20))
        for i in range(3)
    ]
    young = await vote(db, amelie, at(20), joined=at(20) - timedelta(hours=47))
    older = await vote(db, amelie, at(21), joined=at(21) - timedelta(hours=49))
    city_votes = [
        await vote(db, city, at(22, 8) + timedelta(seconds=610 * i / 9)) for i in range(10)
    ]
    await void(heat_votes[0])
    root = get_root()

    found = await moderation.month_votes(
        period=NOVEMBER, page_size=100, now=DURING, settings=root.settings, db=db
    )
    assert found.total == 13 + 9 + 3 + 2 + 10 and not found.final
    assert found.final_at == datetime(2026, 12, 2, tzinfo=UTC)
    flags = {v.id: set(v.flags) for v in found.items}
    everything = {"young_account", "burst", "signup_wave"}
    assert all(flags[v] == everything for v in heat_votes)
    assert flags[heat_late] == set()
    assert all(flags[v] == set() for v in brazil_votes + city_votes + [older])
    assert all(flags[v] == {"young_account"} for v in [*parasite_votes, young])
    ages = {v.id: v.account_age_hours for v in found.items}
    assert ages[young] == 47.0 and ages[older] == 49.0 and ages[heat_votes[0]] == 2.0

    assert [
        (m.movie_id, m.votes, m.voided, m.young_account, m.burst, m.signup_wave, m.flagged)
        for m in found.suspicious
    ] == [
        (heat, 13, 1, 12, 12, 12, 12),
        (parasite, 3, 0, 3, 0, 0, 3),
        (amelie, 2, 0, 1, 0, 0, 1),
    ]
    assert found.suspicious[0].young_share == round(12 / 13, 4)
    assert found.suspicious[0].title == "The Godfather"

    voided = next(v for v in found.items if v.id == heat_votes[0])
    assert voided.voided and voided.void_reason == "stuffing" and voided.voided_by is None  # CLI
    assert voided.verified and voided.email.startswith("voter")
    assert [v.created_at for v in found.items] == sorted(
        (v.created_at for v in found.items), reverse=True
    )

    flagged = await moderation.month_votes(
        period=NOVEMBER, only_flagged=True, page_size=100, settings=root.settings, db=db
    )
    assert flagged.total == 12 + 3 + 1 and {v.id for v in flagged.items} == {
        *heat_votes,
        *parasite_votes,
        young,
    }
    one_movie = await moderation.month_votes(
        period=NOVEMBER, movie_id=heat, page=2, page_size=10, settings=root.settings, db=db
    )
    assert one_movie.total == 13 and [v.id for v in one_movie.items] == heat_votes[2::-1]
    beyond = await moderation.month_votes(
        period=NOVEMBER, movie_id=heat, page=9, page_size=10, settings=root.settings, db=db
    )
    assert beyond.total == 13 and beyond.items == []
    # tighter thresholds give other answers: the signs are the thresholds' consequence
    strict = moderation.Signs(young_account_hours=1, burst_votes=3, burst_minutes=2)
    other = await moderation.month_votes(
        period=NOVEMBER, signs=strict, page_size=100, settings=root.settings, db=db
    )
    other_flags = {v.id: set(v.flags) for v in other.items}
    assert all("burst" in other_flags[v] for v in brazil_votes)  # 33 s apart: 3 in 66 s
    assert all("burst" not in other_flags[v] for v in city_votes)  # 3 in 136 s
    assert all("young_account" not in other_flags[v] for v in parasite_votes)
    assert other.signs.burst_votes == 3


async def test_an_empty_month_and_the_months_an_admin_can_choose(db, movies, settings):
    empty = await moderation.month_votes(period=date(2025, 1, 1), settings=settings, db=db)
    assert empty.total == 0 and empty.items == [] and empty.suspicious == [] and empty.final
    await vote(db, movies[0], datetime(2026, 10, 9, tzinfo=UTC))
    await vote(db, movies[0], at(2))
    await get_root().subject.settle()
    months = await moderation.vote_months(now=DURING, settings=settings, db=db)
    assert months == ["2026-11", "2026-10"]
    later = await moderation.vote_months(
        now=datetime(2027, 2, 1, tzinfo=UTC), settings=settings, db=db
    )
    assert later == ["2027-02", "2026-11", "2026-10"]


async def test_votes_from_accounts_signed_up_from_one_address_are_a_sign(db, movies, settings):
    """- heat: 3 votes from accounts made from one address within 40 minutes (the sign), and
      3 from another address's accounts made 2 hours apart (not);
    - brazil: 2 from a third address (under the 3 the sign needs), and 1 from the first
      address (the sign is per movie);
    - parasite: 4 from accounts whose address is not known (never grouped)."""
    heat, brazil, parasite = movies[:3]
    old = datetime(2026, 1, 5, tzinfo=UTC)
    shared = [
        await vote(db, heat, at(5 + i), joined=old + timedelta(minutes=20 * i), source="aaaa")
        for i in range(3)
    ]
    apart = [
        await vote(db, heat, at(8 + i), joined=old + timedelta(hours=2 * i), source="bbbb")
        for i in range(3)
    ]
    pair = [await vote(db, brazil, at(12 + i), source="cccc") for i in range(2)]
    elsewhere = await vote(db, brazil, at(15), joined=old, source="aaaa")
    unknown = [await vote(db, parasite, at(16), joined=old) for _ in range(4)]
    found = await moderation.month_votes(
        period=NOVEMBER, page_size=100, now=DURING, settings=settings, db=db
    )
    flags = {v.id: set(v.flags) for v in found.items}
    assert all(flags[v] == {"shared_address"} for v in shared)
    assert all(flags[v] == set() for v in [*apart, *pair, elsewhere, *unknown])
    assert [(m.movie_id, m.shared_address, m.flagged) for m in found.suspicious] == [(heat, 3, 3)]
    assert found.signs.address_accounts == 3 and found.signs.address_minutes == 60


async def test_a_sign_up_keeps_a_keyed_hash_of_its_address_not_the_address(db, settings):
    from movievote.services import accounts

    root = get_root()
    for n, client in enumerate(["203.0.113.9", "203.0.113.9", "198.51.100.1", None]):
        await accounts.sign_up(
            email=f"joiner{n}@example.com",
            password="correct horse battery",
            display_name=f"Joiner {n}",
            base_url="http://movievote.test",
            client=client,
            throttle=root.throttle,
            settings=settings,
            db=db,
        )
    async with db.engine.connect() as conn:
        sources = list(
            await conn.scalars(
                sa.select(users_t.c.signup_source)
                .where(users_t.c.email.like("joiner%"))
                .order_by(users_t.c.email)
            )
        )
    assert sources[0] == sources[1] != sources[2] and sources[3] is None
    assert all(len(s) == 16 and "203" not in s for s in sources[:3])
    assert sources[0] == accounts.signup_source("203.0.113.9", settings)
